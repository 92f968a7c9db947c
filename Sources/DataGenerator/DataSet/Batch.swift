/// One batch of a data set: each data encoder's array and the targets, records along the first
/// axis.
public struct Batch: Sendable, Equatable {
    /// One array per data encoder, in the data set's encoder order.
    public var inputs: [NDArray]
    /// The targets, when the data set has a target encoder.
    public var targets: NDArray?
    /// For each input, the rows' lengths along their first axis when the input is variable-length
    /// (padded to the longest in ``inputs``); `nil` for fixed-shape inputs and for batch encoders.
    public var lengths: [[Int]?]
    /// For each input, the rows' own shapes when the input is variable-shape (images: each
    /// `[height, width, channels]`, padded with zeros to the batch's largest along every axis in
    /// ``inputs``); `nil` for other inputs.
    public var shapes: [[[Int]]?]
    /// The inventory rows of the batch, in order.
    public var rows: [Int]
    /// The epoch the batch belongs to.
    public var epoch: Int
    /// The batch's position within its epoch.
    public var index: Int

    /// The first (usually only) input.
    public var data: NDArray { inputs[0] }

    /// Creates a batch.
    public init(inputs: [NDArray], targets: NDArray?, rows: [Int], epoch: Int, index: Int, lengths: [[Int]?]? = nil,
                shapes: [[[Int]]?]? = nil) {
        self.inputs = inputs
        self.targets = targets
        self.lengths = lengths ?? inputs.map { _ in nil }
        self.shapes = shapes ?? inputs.map { _ in nil }
        self.rows = rows
        self.epoch = epoch
        self.index = index
    }
}

/// How a data set serves batches: size, epochs, order, sharding and parallelism.
public struct BatchOptions: Sendable, Hashable {
    /// Records per batch; below 1 means the whole data set (as the seed library).
    public var batchSize: Int
    /// The number of epochs, or `nil` for an endless stream.
    public var epochs: Int?
    /// Drop each epoch's last partial batch (the seed's `truncate`, PyTorch's `drop_last`).
    public var truncate: Bool
    /// The order of each epoch's rows.
    public var order: EpochOrder
    /// The seed of every epoch's order.
    public var seed: UInt64
    /// The first epoch served (to resume, or for `set_epoch`).
    public var startEpoch: Int
    /// The first batch served within ``startEpoch`` (to resume in the middle of an epoch).
    public var startBatch: Int = 0
    /// This process's share of each epoch.
    public var shard: Shard
    /// Worker threads encoding batches ahead (default: ``defaultWorkers``, one fewer than the CPUs
    /// this process may use; 0 encodes on the caller's thread).
    public var workers: Int
    /// Batches prepared ahead of the consumer (default: ``defaultPrefetch`` for the lending paths,
    /// ``owningPrefetch`` for cursors of owned batches).
    public var prefetch: Int?

    /// The workers when none are given: one fewer than ``processorCount`` (the CPUs this process
    /// may use), at least 1. The consumer gathers too (while its next batch is not ready it
    /// computes one of the window itself), so the workers and the consumer then keep every CPU
    /// busy without one thread more than there are CPUs: on the 2-core benchmark machine, 1
    /// worker served steady epochs at 0.96× of two threads of bare copies against 0.92× for 2
    /// workers, and `datagen cache bench` at 1.15× numpy's `X[idx]` beside a busy process against
    /// 1.06× (docs/EPOCHS.md, "Prefetch depth and the hand-off").
    public static var defaultWorkers: Int { max(1, processorCount - 1) }

    /// The prefetch depth when ``prefetch`` is not set: twice the threads that gather, the
    /// workers and the consumer (which gathers an item of the window itself while its next one
    /// is not ready), so that a single worker never waits for window space (docs/EPOCHS.md,
    /// "Prefetch depth").
    public var defaultPrefetch: Int { 2 * (max(workers, 0) + 1) }

    /// The memory that the default prefetch of a lending ring may give its slots: 64 MiB.
    /// Large slots (an image batch of 128 × 3 × 224 × 224 float32 is 77 MB) get fewer of them.
    public static let defaultRingBytes = 64 << 20

    /// The prefetch depth of a lending ring (``CachedDataSet/forEachBatch(_:_:)``, the C API's
    /// ring) whose slots hold `slotBytes` bytes each, when ``prefetch`` is not set:
    /// ``defaultPrefetch``, lowered so that its `depth + 1` slots fit in ``defaultRingBytes``
    /// (the ring then raises it to the workers plus one again, so that each gathering thread,
    /// the consumer included, has a slot, as far as the memory budget allows).
    ///
    /// Why: every slot is new memory that the first epoch writes first, and first writes cost
    /// page faults (about 0.85 ms per MB on the 2-core benchmark machine, against 0.06 ms to
    /// rewrite it), while a deeper ring only helps when batches are so small that handing them
    /// over costs as much as gathering them (docs/EPOCHS.md, "The first epoch").
    public func defaultPrefetch(slotBytes: Int) -> Int {
        guard slotBytes > 0 else { return defaultPrefetch }
        return max(0, min(defaultPrefetch, Self.defaultRingBytes / slotBytes - 1))
    }

    /// The prefetch depth of a cursor of owned batches (``CachedDataSet/batches(_:)``, the
    /// generator's) when ``prefetch`` is not set: twice the workers, at least 2. Each of its
    /// batches is a new allocation that no memory budget bounds, so it stays shallower than
    /// ``defaultPrefetch``.
    public var owningPrefetch: Int { max(2, 2 * workers) }

    /// Options with the seed library's defaults: batches of 10, endless, truncated, inventory order.
    public init(batchSize: Int = 10, epochs: Int? = nil, truncate: Bool = true, order: EpochOrder = .none,
                seed: UInt64 = 0, startEpoch: Int = 0, shard: Shard = .whole, workers: Int? = nil,
                prefetch: Int? = nil) {
        self.batchSize = batchSize
        self.epochs = epochs
        self.truncate = truncate
        self.order = order
        self.seed = seed
        self.startEpoch = startEpoch
        self.shard = shard
        self.workers = workers ?? Self.defaultWorkers
        self.prefetch = prefetch
    }
}

/// The rows of every batch of a run: epochs × batches, through the order and the shard.
public struct BatchPlan: Sendable {
    /// The options the plan follows.
    public let options: BatchOptions
    /// The number of rows in the data set.
    public let rowCount: Int
    /// The effective batch size.
    public let batchSize: Int
    /// Rows this shard serves per epoch.
    public let rowsPerEpoch: Int
    /// Batches per epoch.
    public let batchesPerEpoch: Int

    /// A plan for `rowCount` rows.
    /// - Throws: ``DataSetError/batchSizeTooLarge(batchSize:size:)`` when truncating would leave
    ///   no batch at all.
    public init(options: BatchOptions, rowCount: Int) throws(DataSetError) {
        self.options = options
        self.rowCount = rowCount
        let perEpoch = options.shard.count(of: rowCount)
        let batchSize = options.batchSize < 1 ? max(perEpoch, 1) : options.batchSize
        if options.truncate && batchSize > perEpoch {
            throw .batchSizeTooLarge(batchSize: batchSize, size: perEpoch)
        }
        self.batchSize = batchSize
        self.rowsPerEpoch = perEpoch
        self.batchesPerEpoch = options.truncate ? perEpoch / batchSize : (perEpoch + batchSize - 1) / batchSize
    }

    /// The total number of batches, or `nil` when endless.
    public var totalBatches: Int? {
        batchesPerEpoch == 0 ? 0 : options.epochs.map { max(0, $0 * batchesPerEpoch - options.startBatch) }
    }

    /// The epoch and in-epoch index of the `sequence`-th batch of the run.
    public func locate(_ sequence: Int) -> (epoch: Int, index: Int) {
        let shifted = sequence + options.startBatch
        return (options.startEpoch + shifted / batchesPerEpoch, shifted % batchesPerEpoch)
    }

    /// The rows of batch `index` of `epoch`.
    public func rows(epoch: Int, index: Int) -> [Int] {
        let permutation = EpochPermutation(order: options.order, seed: options.seed, epoch: epoch, count: rowCount)
        let start = index * batchSize
        let end = min(start + batchSize, rowsPerEpoch)
        return (start..<end).map { permutation.row(at: options.shard.globalPosition($0, of: rowCount)) }
    }

    /// Writes the rows of batch `index` of `epoch` into `buffer` (at least ``batchSize`` long),
    /// without allocating, and returns how many there are.
    public func fillRows(epoch: Int, index: Int, into buffer: UnsafeMutableBufferPointer<Int>) -> Int {
        let permutation = EpochPermutation(order: options.order, seed: options.seed, epoch: epoch, count: rowCount)
        let start = index * batchSize
        let end = min(start + batchSize, rowsPerEpoch)
        let shard = options.shard
        let rowCount = self.rowCount
        permutation.fill(max(0, end - start), position: { shard.globalPosition(start + $0, of: rowCount) }, into: buffer)
        return max(0, end - start)
    }
}
