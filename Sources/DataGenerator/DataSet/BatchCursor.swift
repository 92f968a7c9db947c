/// A throwing iterator over batches: reading can fail part-way (a missing file, a corrupt cache),
/// which Swift's `IteratorProtocol` cannot express.
///
/// ```swift
/// let cursor = try dataSet.batches(size: 128, epochs: 1)
/// while let batch = try cursor.next() { train(batch.data, batch.targets!) }
/// ```
/// Releasing the cursor stops its worker threads.
public final class BatchCursor<Element: Sendable> {
    /// Batches in each epoch.
    public let batchesPerEpoch: Int
    /// Batches in the whole run, or `nil` for an endless run.
    public let totalBatches: Int?
    private let prefetcher: OrderedPrefetcher<Element>
    private let plan: BatchPlan
    /// The fingerprint of the cache the batches come from, if any (kept in checkpoints).
    let fingerprint: String?
    /// Batches handed out so far.
    public private(set) var delivered = 0

    init(plan: BatchPlan, fingerprint: String? = nil, produce: @escaping @Sendable (Int) throws -> Element) {
        self.plan = plan
        self.fingerprint = fingerprint
        batchesPerEpoch = plan.batchesPerEpoch
        totalBatches = plan.totalBatches
        let workers = plan.options.workers
        prefetcher = OrderedPrefetcher(count: plan.totalBatches, workers: workers,
                                       depth: plan.options.prefetch ?? plan.options.owningPrefetch,
                                       produce: produce)
    }

    /// The next batch, or `nil` after the last.
    /// - Throws: the error of the record at fault; the cursor ends after an error.
    public func next() throws -> Element? {
        let element = try prefetcher.next()
        if element != nil { delivered += 1 }
        return element
    }

    /// Where the run stands: restoring it (``CachedDataSet/batches(_:resumingFrom:)``) serves
    /// exactly the batches this cursor would serve next.
    public var checkpoint: IteratorState {
        let options = plan.options
        let (epoch, index) = plan.batchesPerEpoch == 0 ? (options.startEpoch, 0) : plan.locate(delivered)
        return IteratorState(seed: options.seed, epoch: epoch, batch: index, batchSize: plan.batchSize,
                             order: options.order, truncate: options.truncate, rank: options.shard.rank,
                             worldSize: options.shard.worldSize,
                             endEpoch: options.epochs.map { options.startEpoch + $0 }, fingerprint: fingerprint)
    }

    /// Calls `body` with each remaining batch.
    public func forEach(_ body: (Element) throws -> Void) throws {
        while let element = try next() { try body(element) }
    }

    /// The remaining batches, at most `limit` (required for endless runs).
    public func collect(limit: Int? = nil) throws -> [Element] {
        precondition(limit != nil || totalBatches != nil, "an endless cursor needs a limit")
        var result = [Element]()
        while limit.map({ result.count < $0 }) ?? true, let element = try next() { result.append(element) }
        return result
    }
}
