import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// What a `dg_iterator *` points to: a run of batches served by a ``BatchCursor`` (worker
/// threads gathering ahead), announced by ``peek()`` and copied out by ``fill(_:_:_:)``.
///
/// The cursor always starts at an epoch boundary. After a seek into the middle of an epoch, or in
/// a forked child (where the parent's worker threads do not exist), the rest of that epoch is
/// gathered on the caller's thread and a new cursor starts at the next epoch.
final class IteratorHandle {
    let cache: CacheHandle
    let subset: [Int]?
    let options: BatchOptions
    let plan: BatchPlan
    private(set) var dataSet: CachedDataSet
    /// The transform of one image column (``setTransform(column:pipeline:)``), kept to re-apply
    /// after a fork.
    private var transform: (column: String, pipeline: ImagePipeline)?
    private var pid: pid_t
    /// Batches consumed since the first epoch of the run.
    private var sequence = 0
    private var cursor: BatchCursor<Batch>?
    /// The sequence number of the batch the cursor returns next.
    private var cursorSequence = 0
    private var pending: Batch?
    /// Ring mode (``attach(slots:)``): batches written straight into the caller's slots.
    private var slots: [[UnsafeMutableRawBufferPointer]]?
    private var ring: BatchRing?
    /// The sequence number of the batch the ring delivers next.
    private var ringSequence = 0
    /// The slots of the last batches delivered in ring mode, oldest first.
    private var deliveredSlots: [Int] = []

    init(cache: CacheHandle, subset: [Int]?, options: BatchOptions) throws {
        self.cache = cache
        self.subset = subset
        self.options = options
        dataSet = try Self.dataSet(cache, subset)
        plan = try BatchPlan(options: options, rowCount: dataSet.size)
        pid = getpid()
    }

    private static func dataSet(_ cache: CacheHandle, _ subset: [Int]?) throws -> CachedDataSet {
        let whole = try cache.current()
        guard let subset else { return whole }
        return try whole.subset(rows: subset)
    }

    var columns: [CacheColumn] { cache.columns }

    /// The (epoch, index) of the next batch.
    var position: (epoch: Int, index: Int) {
        plan.batchesPerEpoch == 0 ? (options.startEpoch, 0) : plan.locate(sequence)
    }

    func seek(epoch: Int, index: Int) throws {
        guard epoch >= options.startEpoch, index >= 0, index < max(plan.batchesPerEpoch, 1) else {
            throw ArgumentError(description: "batch \(index) of epoch \(epoch) is outside the run (epochs from \(options.startEpoch), \(plan.batchesPerEpoch) batches each)")
        }
        sequence = (epoch - options.startEpoch) * plan.batchesPerEpoch + index
        pending = nil
    }

    /// Leaves a forked child's inherited cursor alone (its threads and locks belong to the parent)
    /// and reopens the data set.
    private func adoptFork() throws {
        guard getpid() != pid else { return }
        if let cursor { _ = Unmanaged.passRetained(cursor) }  // never released: its deinit would join foreign threads
        if let ring { _ = Unmanaged.passRetained(ring) }
        cursor = nil
        ring = nil
        dataSet = try Self.dataSet(cache, subset)
        if let transform { dataSet = try dataSet.transforming(column: transform.column, with: transform.pipeline) }
        pid = getpid()
    }

    /// Switches to ring mode: from the next batch on, consecutive batches are written into
    /// consecutive `slots` (one buffer per column in schema order, wrapping around) by the
    /// iterator's workers, ahead of ``nextSlot()``. Calling it again (after a seek, say) replaces
    /// every slot.
    func attach(slots: [[UnsafeMutableRawBufferPointer]]) throws {
        try adoptFork()
        ring?.stop()
        ring = nil
        pending = nil
        deliveredSlots = []
        try BatchRing.check(dataSet: dataSet, options: options, held: Self.heldSlots, buffers: slots)
        self.slots = slots
    }

    /// The batches whose slots the caller keeps in ring mode: the last two, so that a Python loop
    /// variable still referring to the previous batch while the next is fetched is safe to check.
    static let heldSlots = 2

    /// Ring mode: waits for the next batch and consumes it; the slot delivered two batches before
    /// goes back to the workers. `nil` at the end of the run.
    func nextSlot() throws -> BatchRing.Delivery? {
        try adoptFork()
        guard let slots else { throw ArgumentError(description: "the iterator has no slots: call dg_iterator_attach first") }
        if ring == nil || ringSequence != sequence {
            ring?.stop()
            // A new ring (after a fork or a seek) continues the slot numbering, so that the slots
            // the caller still holds are written only once released.
            let first = deliveredSlots.last.map { ($0 + 1) % slots.count } ?? 0
            ring = try BatchRing(dataSet: dataSet, options: options, startingAt: sequence, held: Self.heldSlots,
                                 firstSlot: first, heldSlots: deliveredSlots, buffers: slots)
            ringSequence = sequence
        }
        guard let delivery = try ring!.next() else { return nil }
        ringSequence += 1
        sequence += 1
        deliveredSlots.append(delivery.slot)
        if deliveredSlots.count > Self.heldSlots { deliveredSlots.removeFirst() }
        return delivery
    }

    /// Ring mode: gives a held slot (one of the last two delivered) new buffers (the caller keeps
    /// the old ones).
    func replace(slot: Int, with buffers: [UnsafeMutableRawBufferPointer]) throws {
        guard var slots, slot >= 0, slot < slots.count else {
            throw ArgumentError(description: "slot \(slot) does not exist (\(self.slots?.count ?? 0) slots attached)")
        }
        guard deliveredSlots.contains(slot) else {
            throw ArgumentError(description: "slot \(slot) is not held (held: \(deliveredSlots)); only the slots of the last two batches can be given new buffers")
        }
        try adoptFork()
        if let ring { try ring.replaceBuffers(ofSlot: slot, with: buffers) }
        slots[slot] = buffers
        self.slots = slots
    }

    /// The next batch, computed or waited for but not consumed; `nil` at the end of the run.
    func peek() throws -> Batch? {
        try adoptFork()
        if slots != nil { throw ArgumentError(description: "the iterator is in ring mode (dg_iterator_attach): use dg_iterator_next_slot") }
        if let pending { return pending }
        if plan.batchesPerEpoch == 0 { return nil }
        if let total = plan.totalBatches, sequence >= total { return nil }
        let (epoch, index) = plan.locate(sequence)
        if cursor == nil || cursorSequence != sequence {
            cursor = nil
            if index == 0 {
                var cursorOptions = options
                cursorOptions.startEpoch = epoch
                cursorOptions.epochs = options.epochs.map { $0 - (epoch - options.startEpoch) }
                cursor = try dataSet.batches(cursorOptions)
                cursorSequence = sequence
            }
        }
        if let cursor {
            guard let batch = try cursor.next() else { return nil }
            cursorSequence += 1
            pending = batch
        } else {
            pending = try gather(epoch: epoch, index: index)
        }
        return pending
    }

    /// Batch `index` of `epoch` gathered on the caller's thread.
    private func gather(epoch: Int, index: Int) throws -> Batch {
        let positions = plan.rows(epoch: epoch, index: index)
        let rows = positions.map { dataSet.rows[$0] }
        let file = dataSet.source
        var arrays = [NDArray]()
        var lengths = [[Int]?]()
        var shapes = [[[Int]]?]()
        for column in columns {
            if transform?.column == column.name {
                arrays.append(try dataSet.transformedRows(column: column.name, rows: rows, seed: options.seed, epoch: epoch))
                lengths.append(nil)
                shapes.append(nil)
                continue
            }
            if column.spec.isVariableShape {
                let padded = try Padding.paddedToLargest(try file.arrays(column: column.name, rows: rows), spec: column.spec)
                arrays.append(padded.array)
                lengths.append(nil)
                shapes.append(padded.shapes)
                continue
            }
            shapes.append(nil)
            if !column.spec.isVariableLength {
                arrays.append(try file.gather(column: column.name, rows: rows))
                lengths.append(nil)
                continue
            }
            let (bytes, rowLengths) = try file.gatherVariable(column: column.name, rows: rows)
            let step = column.rowBytes
            let longest = rowLengths.max() ?? 0
            var padded = [UInt8](repeating: 0, count: rows.count * longest * step)
            var source = 0
            for (row, length) in rowLengths.enumerated() {
                let count = length * step
                padded.replaceSubrange((row * longest * step)..<(row * longest * step + count),
                                       with: bytes[source..<(source + count)])
                source += count
            }
            arrays.append(try NDArray(dtype: column.spec.dtype, shape: [rows.count, longest] + column.spec.shape, bytes: padded))
            lengths.append(rowLengths)
        }
        let dataCount = dataSet.dataColumns.count
        return Batch(inputs: Array(arrays[..<dataCount]), targets: arrays.count > dataCount ? arrays[dataCount] : nil,
                     rows: positions, epoch: epoch, index: index, lengths: Array(lengths[..<dataCount]),
                     shapes: Array(shapes[..<dataCount]))
    }

    /// Serves data column `column` through `pipeline` from the first batch on.
    /// - Throws: ``ArgumentError`` once a batch was served or slots attached, or for a column
    ///   that is not a data column; the errors of ``CachedDataSet/transforming(column:with:)``.
    func setTransform(column: Int, pipeline: ImagePipeline) throws {
        guard sequence == 0, pending == nil, cursor == nil, slots == nil else {
            throw ArgumentError(description: "dg_iterator_set_transform must come before the first batch and before dg_iterator_attach")
        }
        guard column >= 0, column < dataSet.dataColumns.count else {
            let name = column >= 0 && column < dataSet.cache.columns.count ? "'\(dataSet.cache.columns[column].name)'" : "\(column)"
            throw ArgumentError(description: "column \(name) is not an image data column (the data columns: \(dataSet.dataColumns.map(\.name).joined(separator: ", ")))")
        }
        let name = dataSet.dataColumns[column].name
        dataSet = try dataSet.transforming(column: name, with: pipeline)
        transform = (name, pipeline)
    }

    /// The columns as served, in schema order: name, dtype, shape of a row (JSON, see
    /// `dg_iterator_columns_json`).
    func servedColumnsJSON() -> String {
        var json = JSONText()
        json.beginArray()
        for (index, column) in columns.enumerated() {
            let spec = index < dataSet.dataColumns.count ? dataSet.servedSpec(input: index) : column.spec
            json.beginObject()
            json.key("name"); json.string(column.name)
            json.key("role"); json.string(column.role.rawValue)
            json.key("dtype"); json.string(spec.dtype.rawValue)
            json.key("shape")
            json.beginArray()
            if spec.isVariableLength { json.null() }
            for dimension in spec.shape { json.int(dimension) }
            json.endArray()
            json.key("variable_length"); json.bool(spec.isVariableLength)
            if let rowShape = spec.rowShape {
                json.key("row_shape")
                json.beginArray()
                for dimension in rowShape { if dimension < 0 { json.null() } else { json.int(dimension) } }
                json.endArray()
            }
            json.key("transform")
            if let pipeline = dataSet.transforms[column.name] { json.string(pipeline.description) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        return json.text
    }

    /// The batch's arrays, variable lengths and variable-shape rows' shapes in schema order.
    static func columns(of batch: Batch) -> [(array: NDArray, lengths: [Int]?, shapes: [[Int]]?)] {
        var result = batch.inputs.indices.map { index in
            (batch.inputs[index], index < batch.lengths.count ? batch.lengths[index] : nil,
             index < batch.shapes.count ? batch.shapes[index] : nil)
        }
        if let targets = batch.targets { result.append((targets, nil, nil)) }
        return result
    }

    /// Copies the pending batch into the caller's buffers and consumes it.
    func fill(_ buffers: UnsafePointer<UnsafeMutableRawPointer?>, _ capacities: UnsafePointer<Int64>,
              _ lengths: UnsafePointer<UnsafeMutablePointer<Int64>?>?) throws -> Int32 {
        guard let batch = try peek() else { return Status.end }
        let parts = Self.columns(of: batch)
        for (index, part) in parts.enumerated() {
            guard buffers[index] != nil, capacities[index] >= Int64(part.array.bytes.count) else {
                throw BufferError(description: "the buffer for column '\(columns[index].name)' holds \(capacities[index]) bytes; \(part.array.bytes.count) are needed")
            }
            if part.lengths != nil, lengths?[index] == nil {
                throw BufferError(description: "column '\(columns[index].name)' is variable-length: its lengths buffer is missing")
            }
            if part.shapes != nil, lengths?[index] == nil {
                throw BufferError(description: "column '\(columns[index].name)' is variable-shape: its shapes buffer (rows × rank int64, in lengths) is missing")
            }
        }
        for (index, part) in parts.enumerated() {
            part.array.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress, bytes.count > 0 { memcpy(buffers[index]!, base, bytes.count) }
            }
            if let rowLengths = part.lengths, let out = lengths?[index] {
                for (row, length) in rowLengths.enumerated() { out[row] = Int64(length) }
            }
            if let rowShapes = part.shapes, let out = lengths?[index] {
                for (position, dimension) in rowShapes.joined().enumerated() { out[position] = Int64(dimension) }
            }
        }
        pending = nil
        sequence += 1
        return Status.ok
    }
}
