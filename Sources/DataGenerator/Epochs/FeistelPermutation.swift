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

    /// `buffer[i] = element(at: position(i))` for `i < count`, four positions at a time.
    ///
    /// One position's six rounds wait on each other (a multiply chain of about 50 ns); the rounds
    /// of four independent positions overlap in the CPU. `BatchPlan.fillRows` runs this for every
    /// batch of a full-shuffle epoch (docs/BENCHMARKS.md, micro-benchmarks).
    /// - Precondition: every position is in `0..<self.count`.
    func fill(_ count: Int, position: (Int) -> Int, into buffer: UnsafeMutableBufferPointer<Int>) {
        let limit = UInt64(self.count)
        var index = 0
        while index + 4 <= count {
            let p0 = position(index), p1 = position(index + 1), p2 = position(index + 2), p3 = position(index + 3)
            precondition(min(p0, p1, p2, p3) >= 0 && max(p0, p1, p2, p3) < self.count,
                         "positions \(p0), \(p1), \(p2), \(p3): one outside 0..<\(self.count)")
            let (x0, x1, x2, x3) = encrypt(UInt64(p0), UInt64(p1), UInt64(p2), UInt64(p3))
            // Cycle walking, lane by lane: rare (below a quarter of the lanes).
            buffer[index] = Int(walk(x0, below: limit))
            buffer[index + 1] = Int(walk(x1, below: limit))
            buffer[index + 2] = Int(walk(x2, below: limit))
            buffer[index + 3] = Int(walk(x3, below: limit))
            index += 4
        }
        while index < count {
            buffer[index] = element(at: position(index))
            index += 1
        }
    }

    /// `value`, encrypted again until it falls below `limit`.
    @inline(__always)
    private func walk(_ value: UInt64, below limit: UInt64) -> UInt64 {
        var x = value
        while x >= limit { x = encrypt(x) }
        return x
    }

    /// ``encrypt(_:)`` of four values, their rounds interleaved.
    @inline(__always)
    private func encrypt(_ v0: UInt64, _ v1: UInt64, _ v2: UInt64, _ v3: UInt64) -> (UInt64, UInt64, UInt64, UInt64) {
        var (l0, r0) = (v0 >> halfBits, v0 & halfMask)
        var (l1, r1) = (v1 >> halfBits, v1 & halfMask)
        var (l2, r2) = (v2 >> halfBits, v2 & halfMask)
        var (l3, r3) = (v3 >> halfBits, v3 & halfMask)
        for i in 0..<FeistelPermutation.rounds {
            let key = keys[i]
            (l0, r0) = (r0, l0 ^ (SplitMix64.mix(r0 ^ key) & halfMask))
            (l1, r1) = (r1, l1 ^ (SplitMix64.mix(r1 ^ key) & halfMask))
            (l2, r2) = (r2, l2 ^ (SplitMix64.mix(r2 ^ key) & halfMask))
            (l3, r3) = (r3, l3 ^ (SplitMix64.mix(r3 ^ key) & halfMask))
        }
        return ((l0 << halfBits) | r0, (l1 << halfBits) | r1, (l2 << halfBits) | r2, (l3 << halfBits) | r3)
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
