/// A small, Codable checkpoint of a batch run: restoring it continues with exactly the batches an
/// uninterrupted run would have served (the orders are pure functions of seed and epoch, so
/// nothing else needs saving).
///
/// ```swift
/// let saved = try JSONEncoder().encode(cursor.checkpoint)           // with the model's weights
/// let state = try JSONDecoder().decode(IteratorState.self, from: saved)
/// let cursor = try cached.batches(options, resumingFrom: state)
/// ```
public struct IteratorState: Sendable, Hashable, Codable {
    /// The seed of the epoch orders.
    public var seed: UInt64
    /// The epoch of the next batch.
    public var epoch: Int
    /// The position of the next batch in its epoch.
    public var batch: Int
    /// The batch size of the run.
    public var batchSize: Int
    /// The epoch order of the run.
    public var order: EpochOrder
    /// Whether each epoch's last partial batch is dropped.
    public var truncate: Bool
    /// This process's rank.
    public var rank: Int
    /// The number of ranks.
    public var worldSize: Int
    /// The epoch at which the run ends, or `nil` for an endless run.
    public var endEpoch: Int?
    /// The fingerprint of the cache the run reads, or `nil` for an uncached run.
    public var fingerprint: String?

    /// A state; usually read from ``BatchCursor/checkpoint``.
    public init(seed: UInt64, epoch: Int, batch: Int, batchSize: Int, order: EpochOrder, truncate: Bool,
                rank: Int = 0, worldSize: Int = 1, endEpoch: Int?, fingerprint: String?) {
        self.seed = seed
        self.epoch = epoch
        self.batch = batch
        self.batchSize = batchSize
        self.order = order
        self.truncate = truncate
        self.rank = rank
        self.worldSize = worldSize
        self.endEpoch = endEpoch
        self.fingerprint = fingerprint
    }

    /// `options` moved to this state: the same order, seed and shard, starting at the saved batch
    /// and ending where the saved run would have ended.
    /// - Throws: ``DataSetError/invalidOption(_:)`` when `options` serve another run (batch size,
    ///   order, truncation or shard differ).
    public func resuming(_ options: BatchOptions) throws(DataSetError) -> BatchOptions {
        var differences = [String]()
        if options.batchSize != batchSize { differences.append("batch size \(options.batchSize) ≠ \(batchSize)") }
        if options.order != order { differences.append("order \(options.order.name) ≠ \(order.name)") }
        if options.truncate != truncate { differences.append("truncate \(options.truncate) ≠ \(truncate)") }
        if options.shard.rank != rank || options.shard.worldSize != worldSize {
            differences.append("shard \(options.shard.rank)/\(options.shard.worldSize) ≠ \(rank)/\(worldSize)")
        }
        guard differences.isEmpty else {
            throw .invalidOption("the saved iterator state belongs to another run: \(differences.joined(separator: ", "))")
        }
        var resumed = options
        resumed.seed = seed
        resumed.startEpoch = epoch
        resumed.startBatch = batch
        resumed.epochs = endEpoch.map { max(0, $0 - epoch) }
        return resumed
    }
}
