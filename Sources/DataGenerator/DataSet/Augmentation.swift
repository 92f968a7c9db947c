/// A random transformation applied to one input every epoch, after encoding (uncached) or after
/// gathering from the cache (cached): a random crop, noise, a flip. The cache stores the
/// deterministic input; only augmentations run again each epoch.
///
/// Its randomness comes from ``AugmentationRandom``, keyed by (seed, epoch, record), so an epoch's
/// augmented values are identical across runs, worker counts, batch sizes, shards and resumes.
public protocol Augmentation: Sendable {
    /// A stable name of the augmentation and its parameters.
    var identity: String { get }
    /// The spec of the result for an input of spec `input` (default: unchanged).
    func outputSpec(for input: ArraySpec) -> ArraySpec
    /// The augmented copy of one record's array.
    func augment(_ array: NDArray, random: inout AugmentationRandom) throws -> NDArray
}

extension Augmentation {
    /// The input's spec: the augmentation keeps dtype and shape.
    public func outputSpec(for input: ArraySpec) -> ArraySpec { input }
}

/// An augmentation made from a closure.
///
/// ```swift
/// let noise = ClosureAugmentation(identity: "noise(0.1)@1") { array, random in
///     NDArray(array.scalars(as: Float.self).map { $0 + Float.random(in: -0.1...0.1, using: &random) },
///             shape: array.shape)
/// }
/// ```
public struct ClosureAugmentation: Augmentation {
    public let identity: String
    private let spec: (@Sendable (ArraySpec) -> ArraySpec)?
    private let body: @Sendable (NDArray, inout AugmentationRandom) throws -> NDArray

    /// An augmentation calling `body`; `outputSpec` maps the input spec when the result's differs.
    public init(identity: String, outputSpec: (@Sendable (ArraySpec) -> ArraySpec)? = nil,
                _ body: @escaping @Sendable (NDArray, inout AugmentationRandom) throws -> NDArray) {
        self.identity = identity
        self.spec = outputSpec
        self.body = body
    }

    public func outputSpec(for input: ArraySpec) -> ArraySpec { spec?(input) ?? input }

    public func augment(_ array: NDArray, random: inout AugmentationRandom) throws -> NDArray {
        try body(array, &random)
    }
}

/// Counter-based randomness for one record in one epoch: a SplitMix64 stream whose start is a
/// hash of (seed, epoch, record key), so it needs no state from earlier records or epochs.
public struct AugmentationRandom: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64

    /// The stream of record `key` in `epoch` under `seed`.
    public init(seed: UInt64, epoch: Int, key: UInt64) {
        let a = SplitMix64.mix(seed ^ 0xA7C3_5EED_0000_0004)
        let b = SplitMix64.mix(a &+ UInt64(truncatingIfNeeded: epoch))
        generator = SplitMix64(seed: SplitMix64.mix(b ^ key))
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 { generator.next() }

    /// The key of a record: a 64-bit FNV-1a hash of its id, so that the same record draws the same
    /// numbers whatever its position after sorting, splitting or sub-setting; its row when it has
    /// no id.
    public static func key(id: String?, row: Int) -> UInt64 {
        guard let id else { return SplitMix64.mix(UInt64(truncatingIfNeeded: row)) }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// An augmentation attached to one input of a data set.
public struct AugmentationStep: Sendable {
    /// The input it transforms (its position among the data encoders or data columns).
    public let input: Int
    /// The augmentation.
    public let augmentation: any Augmentation
    /// Whether the epoch term of its randomness is held at 0 (the same values every epoch).
    public let isStatic: Bool

    /// Applies the augmentation to each row of `batch` (records along the first axis).
    /// - Parameter keys: each row's record key (``AugmentationRandom/key(id:row:)``).
    func apply(to batch: NDArray, keys: [UInt64], seed: UInt64, epoch: Int) throws -> NDArray {
        var rows = [NDArray]()
        rows.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            var random = AugmentationRandom(seed: seed, epoch: isStatic ? 0 : epoch, key: key)
            rows.append(try augmentation.augment(batch.row(index), random: &random))
        }
        guard !rows.isEmpty else {
            let spec = augmentation.outputSpec(for: ArraySpec(batch.dtype, Array(batch.shape.dropFirst())))
            return NDArray(zeros: spec.dtype, shape: [0] + spec.shape)
        }
        return try NDArray.stack(rows)
    }
}
