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
    fileprivate let slot: BatchSlot

    /// The data set positions of the batch's rows.
    public var rows: UnsafeBufferPointer<Int> { UnsafeBufferPointer(rebasing: slot.rows[..<count]) }

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

/// The reusable buffers of one batch in flight.
///
/// `@unchecked Sendable`: a slot is written by one worker thread for batch `k` and read by the
/// consumer only after the ordered prefetcher hands out `k`; it is reused for batch `k + slots`
/// only after the consumer asked for batch `k + 1`, i.e. finished with `k`.
final class BatchSlot: @unchecked Sendable {
    let columns: [UnsafeMutableRawBufferPointer]
    let rowBytes: [Int]
    let rows: UnsafeMutableBufferPointer<Int>
    let cacheRows: UnsafeMutableBufferPointer<Int>
    let hasTarget: Bool
    var count = 0
    var epoch = 0
    var index = 0

    init(rowBytes: [Int], batchSize: Int, hasTarget: Bool) {
        self.rowBytes = rowBytes
        self.hasTarget = hasTarget
        columns = rowBytes.map { .allocate(byteCount: max(1, $0 * batchSize), alignment: 64) }
        rows = .allocate(capacity: max(1, batchSize))
        cacheRows = .allocate(capacity: max(1, batchSize))
    }

    deinit {
        for column in columns { column.deallocate() }
        rows.deallocate()
        cacheRows.deallocate()
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
        let columns = dataColumns + (targetColumn.map { [$0] } ?? [])
        if !augmentations.isEmpty {
            throw DataSetError.invalidOption("forEachBatch serves stored columns only; use batches(_:) with augmentations")
        }
        if let variable = columns.first(where: { $0.spec.isVariableLength }) {
            throw CacheError.wrongColumnKind(column: variable.name, reason: "forEachBatch lends fixed-size buffers; use batches(_:) for variable-length columns")
        }
        let workers = options.workers
        let rowBytes = columns.map { servedRowBytes($0) }
        let depth = Self.prefetchDepth(requested: options.prefetch ?? max(2, 2 * workers), workers: workers,
                                       slotBytes: rowBytes.reduce(0, +) * plan.batchSize,
                                       available: resident.budget - resident.residentBytes)
        // One more slot than the prefetch depth: the consumer holds one while workers fill the rest.
        let slots = (0...depth).map { _ in
            BatchSlot(rowBytes: rowBytes, batchSize: plan.batchSize, hasTarget: targetColumn != nil)
        }
        let names = columns.map(\.name)
        let kernels = columns.map { self.kernels[$0.name] }
        let rows = self.rows
        let resident = self.resident
        let prefetcher = OrderedPrefetcher<Int>(count: plan.totalBatches, workers: workers, depth: slots.count - 1) { sequence in
            let slot = slots[sequence % slots.count]
            let (epoch, index) = plan.locate(sequence)
            let count = plan.fillRows(epoch: epoch, index: index, into: slot.rows)
            for position in 0..<count { slot.cacheRows[position] = rows[slot.rows[position]] }
            let cacheRows = UnsafeBufferPointer(rebasing: slot.cacheRows[..<count])
            for (column, name) in names.enumerated() {
                try resident.gather(column: name, rows: cacheRows, into: slot.columns[column], kernel: kernels[column])
            }
            slot.count = count
            slot.epoch = epoch
            slot.index = index
            return sequence % slots.count
        }
        defer { prefetcher.stop() }
        while let slotIndex = try prefetcher.next() {
            let slot = slots[slotIndex]
            guard try body(BatchBuffers(epoch: slot.epoch, index: slot.index, count: slot.count, slot: slot)) else { return }
        }
    }

    /// The batches computed ahead in ``forEachBatch(_:_:)``: `requested`, lowered so that the
    /// slots (`depth + 1` of `slotBytes`) fit in the `available` budget, but never below the
    /// workers (and 1), which keep every worker busy.
    static func prefetchDepth(requested: Int, workers: Int, slotBytes: Int, available: Int) -> Int {
        let floor = max(workers, 1)
        let wanted = max(requested, floor)
        guard slotBytes > 0 else { return wanted }
        let affordable = max(0, available) / slotBytes - 1
        return max(floor, min(wanted, affordable))
    }
}
