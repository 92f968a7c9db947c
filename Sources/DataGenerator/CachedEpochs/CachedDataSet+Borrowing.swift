/// One batch lent to a closure by ``CachedDataSet/forEachBatch(_:_:)``: its buffers belong to the
/// data set and are reused for a later batch once the closure returns, so nothing is allocated
/// per batch.
///
/// The buffer pointers are valid only during the closure: do not let them escape.
public struct BatchBuffers {
    /// The epoch the batch belongs to.
    public let epoch: Int
    /// The batch's position in its epoch.
    public let index: Int
    /// The number of rows in the batch.
    public let count: Int
    let slot: BatchSlot

    /// The data set positions of the batch's rows.
    public var rows: UnsafeBufferPointer<Int> { UnsafeBufferPointer(rebasing: slot.rows[..<count]) }

    /// The number of data columns (inputs) in the batch.
    public var inputCount: Int { slot.columns.count - (slot.hasTarget ? 1 : 0) }

    /// The bytes of data column `input` (C order: `count` rows of the column's shape).
    public func data(_ input: Int = 0) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: slot.columns[input][..<(count * slot.rowBytes[input])])
    }

    /// The bytes of the targets, when the cache has a target column.
    public var targets: UnsafeRawBufferPointer? {
        guard slot.hasTarget else { return nil }
        let last = slot.columns.count - 1
        return UnsafeRawBufferPointer(rebasing: slot.columns[last][..<(count * slot.rowBytes[last])])
    }
}

extension CachedDataSet {
    /// Serves batches under `options` to `body` one after another, lending each batch's buffers
    /// instead of returning new arrays: the buffers of a few batches are allocated once and
    /// reused, so the steady state allocates nothing per batch. Worker threads fill the next
    /// batches while `body` runs, in the same order and with the same contents as
    /// ``batches(_:)``.
    ///
    /// - Parameter body: called with each batch; its buffers are valid only during the call.
    ///   Return `false` to stop early.
    /// - Throws: ``CacheError/wrongColumnKind(column:reason:)`` for a variable-length column (use
    ///   ``batches(_:)``), the plan's errors, and the first read error, after which nothing more
    ///   is served.
    public func forEachBatch(_ options: BatchOptions, _ body: (BatchBuffers) throws -> Bool) throws {
        let plan = try BatchPlan(options: options, rowCount: size)
        let columns = try fixedServedColumns(for: "forEachBatch")
        let rowBytes = columns.map { servedRowBytes($0) }
        let slotBytes = rowBytes.reduce(0, +) * plan.batchSize
        let available = resident.budget - resident.residentBytes
        let depth = Self.prefetchDepth(requested: options.prefetch ?? options.defaultPrefetch(slotBytes: slotBytes),
                                       workers: options.workers, slotBytes: slotBytes, available: available)
        // One more slot than the prefetch depth: the consumer holds one while workers fill the
        // rest; and with workers, a spare when the budget has room for it, into which the consumer
        // writes its batch again when the worker writing it lost its core (``BatchRing``).
        let takesOver = BatchRing.takesOver(workers: options.workers) && (slotBytes == 0 || (depth + 2) <= max(0, available) / slotBytes)
        let spare = takesOver ? 1 : 0
        let buffers = (0..<(depth + 1 + spare)).map { _ in
            rowBytes.map { UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, $0 * plan.batchSize), alignment: 64) }
        }
        defer { for set in buffers { for buffer in set { buffer.deallocate() } } }
        let ring = try BatchRing(dataSet: self, options: options, startingAt: 0, held: 1, firstSlot: 0, heldSlots: [],
                                 buffers: buffers, takingOver: takesOver, observe: nil)
        defer { ring.stop() }
        while let delivery = try ring.next() {
            let slot = ring.slots[delivery.slot]
            guard try body(BatchBuffers(epoch: delivery.epoch, index: delivery.index, count: delivery.count, slot: slot)) else { return }
        }
    }

    /// Whether ``forEachBatch(_:_:)`` and ``BatchRing`` can serve this data set: every served
    /// column has a fixed shape (stored, or given by a transform) and no augmentation runs
    /// (otherwise use ``batches(_:)``).
    public var canLendBatches: Bool { (try? fixedServedColumns(for: "")) != nil }

    /// The served columns (data columns, then the target) when every one has a fixed shape and
    /// no augmentation runs: what the lending paths serve.
    func fixedServedColumns(for what: String) throws -> [CacheColumn] {
        if !augmentations.isEmpty {
            throw DataSetError.invalidOption("\(what) serves stored columns only; use batches(_:) with augmentations")
        }
        let columns = dataColumns + (targetColumn.map { [$0] } ?? [])
        if let variable = columns.first(where: { $0.spec.isVariableLength && transformers[$0.name] == nil }) {
            throw CacheError.wrongColumnKind(column: variable.name, reason: "\(what) lends fixed-size buffers; use batches(_:) for variable-length columns")
        }
        return columns
    }

    /// The batches computed ahead in ``forEachBatch(_:_:)``: `requested`, raised to one per
    /// gathering thread (the workers and the consumer, which gathers a batch of the window while
    /// its next one is not ready), then lowered so that the slots (`depth + 1` of `slotBytes`) fit
    /// in the `available` budget, but never below the workers (and 1, so never below 2 slots),
    /// which keep every worker busy.
    ///
    /// Why the consumer's batch: with a window of one batch per worker, the consumer of large
    /// batches had nothing to gather; 1 worker and the consumer served image batches (77 MB)
    /// at 8,440 images/s where 2 workers served 13,700.
    static func prefetchDepth(requested: Int, workers: Int, slotBytes: Int, available: Int) -> Int {
        let floor = max(workers, 1)
        let wanted = max(requested, workers + 1)
        guard slotBytes > 0 else { return wanted }
        let affordable = max(0, available) / slotBytes - 1
        return max(floor, min(wanted, affordable))
    }
}
