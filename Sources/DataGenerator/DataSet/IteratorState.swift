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

    /// The epoch's global samples served before the next batch: ``batch`` × ``batchSize`` ×
    /// ``worldSize`` (every rank of a synchronous run has served ``batch`` batches). It is the
    /// position a run of another world size resumes from (elastic resume).
    public var samples: Int { batch * batchSize * worldSize }

    /// The layout version written into the encoded state (2 adds `version` and `samples`; a state
    /// without `version` is version 1 and stays readable).
    public static let version = 2

    private enum CodingKeys: String, CodingKey {
        case version, seed, epoch, batch, samples, batchSize, order, truncate, rank, worldSize, endEpoch, fingerprint
    }

    /// Reads a state of version 1 (no `version`, no `samples`) or 2.
    /// - Throws: `DecodingError.dataCorrupted` for a newer version, or when `samples` disagrees
    ///   with `batch` × `batchSize` × `worldSize`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decodeIfPresent(Int.self, forKey: .version) ?? 1
        guard (1...Self.version).contains(version) else {
            throw DecodingError.dataCorruptedError(forKey: .version, in: container,
                                                   debugDescription: "iterator state version \(version) is newer than this library reads (\(Self.version))")
        }
        self.init(seed: try container.decode(UInt64.self, forKey: .seed), epoch: try container.decode(Int.self, forKey: .epoch),
                  batch: try container.decode(Int.self, forKey: .batch), batchSize: try container.decode(Int.self, forKey: .batchSize),
                  order: try container.decode(EpochOrder.self, forKey: .order), truncate: try container.decode(Bool.self, forKey: .truncate),
                  rank: try container.decodeIfPresent(Int.self, forKey: .rank) ?? 0,
                  worldSize: try container.decodeIfPresent(Int.self, forKey: .worldSize) ?? 1,
                  endEpoch: try container.decodeIfPresent(Int.self, forKey: .endEpoch),
                  fingerprint: try container.decodeIfPresent(String.self, forKey: .fingerprint))
        if let samples = try container.decodeIfPresent(Int.self, forKey: .samples), samples != self.samples {
            throw DecodingError.dataCorruptedError(forKey: .samples, in: container,
                                                   debugDescription: "samples \(samples) ≠ batch × batch size × world size (\(self.samples))")
        }
    }

    /// Writes the state as version 2 (with `version` and `samples`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.version, forKey: .version)
        try container.encode(seed, forKey: .seed)
        try container.encode(epoch, forKey: .epoch)
        try container.encode(batch, forKey: .batch)
        try container.encode(samples, forKey: .samples)
        try container.encode(batchSize, forKey: .batchSize)
        try container.encode(order, forKey: .order)
        try container.encode(truncate, forKey: .truncate)
        try container.encode(rank, forKey: .rank)
        try container.encode(worldSize, forKey: .worldSize)
        try container.encodeIfPresent(endEpoch, forKey: .endEpoch)
        try container.encodeIfPresent(fingerprint, forKey: .fingerprint)
    }

    /// `options` moved to this state: the same order and seed, starting at the saved position and
    /// ending where the saved run would have ended.
    ///
    /// The shard of `options` may differ from the saved one (elastic resume, docs/EPOCHS.md): with
    /// the same global batch (batch size × world size), the run resumes at the saved global sample
    /// ``samples``, that is at the same batch index, every rank of the new world taking its
    /// positions of the epoch's remaining global order. With the same world size and batch size
    /// it is exactly the saved run (any rank).
    /// - Throws: ``DataSetError/invalidOption(_:)`` naming each field that differs: the global
    ///   batch (batch size × world size), the seed, the order or truncation (drop-last).
    public func resuming(_ options: BatchOptions) throws(DataSetError) -> BatchOptions {
        var differences = [String]()
        let world = options.shard.worldSize
        if world == worldSize || options.batchSize < 1 || batchSize < 1 {
            if options.batchSize != batchSize { differences.append("batch size \(options.batchSize) ≠ \(batchSize)") }
            if world != worldSize && options.batchSize == batchSize {
                differences.append("world size \(world) ≠ \(worldSize) with a whole-epoch batch (batch size \(batchSize))")
            }
        } else if options.batchSize * world != batchSize * worldSize {
            differences.append("global batch (batch size × world size) \(options.batchSize) × \(world) = \(options.batchSize * world) ≠ \(batchSize) × \(worldSize) = \(batchSize * worldSize)")
        }
        if options.seed != seed { differences.append("seed \(options.seed) ≠ \(seed)") }
        if options.order != order { differences.append("order \(options.order.name) ≠ \(order.name)") }
        if options.truncate != truncate { differences.append("truncate (drop-last) \(options.truncate) ≠ \(truncate)") }
        guard differences.isEmpty else {
            throw .invalidOption("the saved iterator state belongs to another run: \(differences.joined(separator: ", "))")
        }
        var resumed = options
        resumed.startEpoch = epoch
        resumed.startBatch = batchSize < 1 ? batch : samples / (options.batchSize * world)
        resumed.epochs = endEpoch.map { max(0, $0 - epoch) }
        return resumed
    }
}
