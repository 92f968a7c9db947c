/// The SHA-256 digest of a run's batches, as `datagen cache bench --json` and the Python
/// package's `Cache.digest` print it: equal digests mean bit-identical batches.
///
/// Over every batch in order: each input's bytes (C order, little-endian), and for a
/// variable-length input its rows' lengths as `int64` little-endian right after (for a
/// variable-shape input, its rows' shapes, each dimension an `int64`); then the
/// targets' bytes. Inputs come in schema order (the data columns), then the target.
///
/// ```swift
/// var digest = BatchDigest()
/// while let batch = try cursor.next() { digest.add(batch) }
/// print(digest.hexDigest())
/// ```
public struct BatchDigest: ~Copyable {
    private var hasher = SHA256Hasher()
    /// The number of batches added.
    public private(set) var batches = 0

    /// An empty digest.
    public init() {}

    /// Adds one batch.
    public mutating func add(_ batch: Batch) {
        for (index, input) in batch.inputs.enumerated() {
            input.withUnsafeBytes { hasher.update($0) }
            if index < batch.lengths.count, let lengths = batch.lengths[index] {
                for length in lengths { hasher.update(UInt64(bitPattern: Int64(length))) }
            }
            if index < batch.shapes.count, let shapes = batch.shapes[index] {
                for dimension in shapes.joined() { hasher.update(UInt64(bitPattern: Int64(dimension))) }
            }
        }
        batch.targets?.withUnsafeBytes { hasher.update($0) }
        batches += 1
    }

    /// Adds one lent batch (``CachedDataSet/forEachBatch(_:_:)``): the same bytes as the owning
    /// batch of the same rows, so both paths give the same digest.
    public mutating func add(_ batch: BatchBuffers) {
        for input in 0..<batch.inputCount { hasher.update(batch.data(input)) }
        if let targets = batch.targets { hasher.update(targets) }
        batches += 1
    }

    /// The digest as 64 lowercase hex digits; the digest is consumed.
    public consuming func hexDigest() -> String { hasher.hexDigest() }
}
