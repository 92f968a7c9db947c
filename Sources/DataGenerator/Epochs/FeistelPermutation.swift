/// A pseudo-random permutation of `0..<count` computed one position at a time in O(1) memory:
/// a keyed balanced Feistel network over the smallest even number of bits covering `count`,
/// with cycle walking to stay inside `0..<count`.
///
/// Position `k` of an epoch is computed directly, so resuming, sharding and skipping cost
/// nothing. The algorithm is specified in docs/EPOCHS.md and implemented identically by the
/// Python package; change neither without changing both.
public struct FeistelPermutation: Sendable {
    /// The number of elements permuted.
    public let count: Int
    private let halfBits: UInt64
    private let halfMask: UInt64
    private let keys: InlineArray<6, UInt64>

    /// The number of Feistel rounds.
    static let rounds = 6

    /// The permutation of `0..<count` keyed by `key`.
    public init(count: Int, key: UInt64) {
        precondition(count >= 0)
        self.count = count
        var bits: UInt64 = 2
        while bits < 64, (UInt64(1) << bits) < UInt64(count) { bits += 2 }
        halfBits = bits / 2
        halfMask = (UInt64(1) << halfBits) - 1
        func roundKey(_ i: UInt64) -> UInt64 { SplitMix64.mix(key &+ (i &+ 1) &* 0x9E37_79B9_7F4A_7C15) }
        keys = InlineArray<6, UInt64> { roundKey(UInt64($0)) }
    }

    /// The element at `position`.
    /// - Precondition: `0 <= position < count`.
    public func element(at position: Int) -> Int {
        precondition(position >= 0 && position < count, "position \(position) outside 0..<\(count)")
        var x = UInt64(position)
        repeat { x = encrypt(x) } while x >= UInt64(count)
        return Int(x)
    }

    /// The position of `element` (the inverse permutation).
    public func position(of element: Int) -> Int {
        precondition(element >= 0 && element < count)
        var x = UInt64(element)
        repeat { x = decrypt(x) } while x >= UInt64(count)
        return Int(x)
    }

    func encrypt(_ value: UInt64) -> UInt64 {
        var left = value >> halfBits
        var right = value & halfMask
        for i in 0..<FeistelPermutation.rounds {
            (left, right) = (right, left ^ (SplitMix64.mix(right ^ keys[i]) & halfMask))
        }
        return (left << halfBits) | right
    }

    func decrypt(_ value: UInt64) -> UInt64 {
        var left = value >> halfBits
        var right = value & halfMask
        for i in (0..<FeistelPermutation.rounds).reversed() {
            (left, right) = (right ^ (SplitMix64.mix(left ^ keys[i]) & halfMask), left)
        }
        return (left << halfBits) | right
    }
}

/// Key derivation shared by every order: a 64-bit key from a seed, an epoch and a stream tag.
enum OrderKey {
    /// Stream tags, so that permutations of different purposes never share keys.
    enum Stream: UInt64 {
        case fullShuffle = 1
        case blockOrder = 2
        case window = 3
    }

    /// `mix(mix(seed ^ tag·φ) + epoch) + salt`, then mixed again.
    static func key(seed: UInt64, epoch: Int, stream: Stream, salt: UInt64 = 0) -> UInt64 {
        let a = SplitMix64.mix(seed ^ (stream.rawValue &* 0x9E37_79B9_7F4A_7C15))
        let b = SplitMix64.mix(a &+ UInt64(truncatingIfNeeded: epoch))
        return SplitMix64.mix(b &+ salt)
    }
}
