/// SplitMix64: a tiny, fast, seedable generator (Steele, Lea and Flood 2014).
///
/// Used wherever an order must be a pure function of a seed (inventory shuffles, splits), so
/// that results do not depend on the Swift standard library's own shuffling algorithm.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective mix of 64 bits.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's method).
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }
}

extension Array {
    /// Shuffles in place with Fisher–Yates driven by `generator`: the result depends only on the
    /// generator's sequence, never on the standard library's shuffle algorithm.
    mutating func seededShuffle(using generator: inout SplitMix64) {
        guard count > 1 else { return }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = generator.next(below: i + 1)
            if i != j { swapAt(i, j) }
        }
    }
}
