import Synchronization

/// A run of batches that worker threads write, ahead of the consumer, into a ring of buffer sets
/// (slots) that the caller owns: the engine under ``CachedDataSet/forEachBatch(_:_:)`` and under
/// the C API, where the slots are numpy arrays that Python owns, so that a batch is gathered
/// straight into its final memory and never copied again.
///
/// Batches go to the slots in turn from `firstSlot` on; each ``Delivery`` names the slot that
/// holds its batch. The slots of the last `held` batches handed out by ``next()`` belong to the
/// caller (the last one only, by default): the slot of batch `k` goes back to the workers when
/// batch `k + held` is asked for, and they may then write a later batch into it. To keep a
/// batch's memory, give its slot new buffers with ``replaceBuffers(ofSlot:with:)`` while it is
/// still held. Results never depend on the number of workers.
///
/// Given a slot more than `held` plus the workers need, and fewer workers than processors, the
/// ring keeps one spare: when the batch the caller waits for is still being written by a worker
/// that lost its core (a busy process beside the training loop), the caller's thread writes that
/// batch again into the spare, and delivers it from there; the late worker's slot becomes the
/// spare once it is done. The order of the slots then changes, never the batches.
///
/// Buffers are raw pointers: the caller keeps every buffer it passed alive and unchanged by
/// others until ``stop()`` returns (or until it replaced them).
public final class BatchRing {
    /// A batch delivered in a slot.
    public struct Delivery: Sendable, Hashable {
        /// The slot holding the batch's columns (index into the buffer sets given).
        public let slot: Int
        /// The batch's epoch.
        public let epoch: Int
        /// The batch's position in its epoch.
        public let index: Int
        /// The rows in the batch (column `c` fills `count × rowBytes[c]` bytes of its buffer).
        public let count: Int
    }

    /// The slots in the ring.
    public let slotCount: Int
    /// The bytes of one row of each served column, in schema order (data columns, then target).
    public let rowBytes: [Int]
    /// The slots' buffers; workers read a slot's entry only while filling it.
    let slots: [BatchSlot]
    /// Which slot each batch goes to, and the spare.
    private let order: SlotOrder
    private let prefetcher: OrderedPrefetcher<Int>
    /// The slots the caller holds, oldest first.
    private var heldSlots: [Int] = []
    private let held: Int

    /// Starts filling `buffers` with the batches of `options` from batch `sequence` of the run
    /// (epoch `options.startEpoch` batch 0 is sequence 0; any batch may start the ring).
    ///
    /// - Parameters:
    ///   - buffers: one set per slot, each with a buffer per served column in schema order, each
    ///     holding at least `batchSize × rowBytes[c]` bytes. At least `workers + held` slots
    ///     (`held + 1` without workers); more slots let the workers run further ahead, and with
    ///     more than `workers + held` (and fewer workers than processors) one of them is kept
    ///     as the spare for takeovers.
    ///   - held: how many of the last delivered batches the caller keeps using (at least 1).
    ///   - firstSlot: the slot of the ring's first batch (the others follow in turn).
    ///   - heldSlots: slots the caller holds already (oldest first, at most `held`), when this
    ///     ring continues another's run (after a fork, say): they are written only once released.
    /// - Throws: ``DataSetError/invalidOption(_:)`` for too few slots, a cache with
    ///   augmentations, or a buffer too small; ``CacheError/wrongColumnKind(column:reason:)``
    ///   for a variable-length column; the plan's errors.
    public convenience init(dataSet: CachedDataSet, options: BatchOptions, startingAt sequence: Int = 0, held: Int = 1,
                            firstSlot: Int = 0, heldSlots: [Int] = [], buffers: [[UnsafeMutableRawBufferPointer]]) throws {
        try self.init(dataSet: dataSet, options: options, startingAt: sequence, held: held, firstSlot: firstSlot,
                      heldSlots: heldSlots, buffers: buffers, takingOver: nil, observe: nil)
    }

    /// Where a ring's thread is in writing a batch, for ``init(dataSet:options:startingAt:held:firstSlot:heldSlots:buffers:takingOver:observe:)``.
    enum Step: Sendable {
        /// About to look up the slot of the batch (before a takeover may happen).
        case lookingUp
        /// About to write the batch into the slot it looked up.
        case filling
        /// About to write the batch again into the spare, on the consumer's thread.
        case takingOver
    }

    /// The ring of ``init(dataSet:options:startingAt:held:firstSlot:heldSlots:buffers:)``, taking
    /// batches over when `takingOver` says so (`nil`: ``takesOver(workers:)``), and calling
    /// `observe(offset, step)` at each step of writing batch `offset` of the ring: tests make a
    /// worker late with it.
    init(dataSet: CachedDataSet, options: BatchOptions, startingAt sequence: Int, held: Int, firstSlot: Int,
         heldSlots: [Int], buffers: [[UnsafeMutableRawBufferPointer]], takingOver: Bool?,
         observe: (@Sendable (_ offset: Int, _ step: Step) -> Void)?) throws {
        let plan = try BatchPlan(options: options, rowCount: dataSet.size)
        let held = max(1, held)
        self.held = held
        let (columns, slots) = try Self.slots(dataSet: dataSet, options: options, plan: plan, held: held, buffers: buffers)
        let rowBytes = slots[0].rowBytes
        self.slots = slots
        self.rowBytes = rowBytes
        slotCount = slots.count
        let start = max(0, sequence)
        let remaining = plan.totalBatches.map { max(0, $0 - start) }
        let names = columns.map(\.name)
        let kernels = columns.map { dataSet.kernels[$0.name] }
        let transformers = columns.map { dataSet.transformers[$0.name] }
        let seed = options.seed
        let rows = dataSet.rows
        let resident = dataSet.resident
        let count = slots.count
        let firstSlot = ((firstSlot % count) + count) % count
        let previous = Array(heldSlots.suffix(held))
        guard Set(previous).count == previous.count, previous.allSatisfy({ (0..<count).contains($0) }) else {
            throw DataSetError.invalidOption("held slots \(heldSlots) must be distinct slots of the \(count) given")
        }
        self.heldSlots = previous
        // The slots in the order batches take them: the free ones in turn from `firstSlot`, then
        // the held ones, so that those are written last (after their release); one free slot
        // is kept as the hedge's spare when there is one to keep.
        let free = (0..<count).map { (firstSlot + $0) % count }.filter { !previous.contains($0) }
        let hedging = options.workers > 0 && (takingOver ?? Self.takesOver(workers: options.workers))
            && count - held - 1 >= options.workers
        let order = SlotOrder(slots: (hedging ? Array(free.dropLast()) : free) + previous, spare: hedging ? free.last : nil)
        self.order = order
        // The resident fast path, checked once here rather than per row: an epoch order is a
        // bijection on `0..<rows.count`, so a batch's positions are in range, and so are the cache
        // rows they stand for when every entry of `rows` is (and they need no remapping when
        // `rows` is the identity). A column then needs only to be complete (one flag per batch)
        // and unconverted to be served by bare copies.
        let rowsInRange = rows.isWithin(dataSet.source.rowCount)
        let identity = rows.isAll(of: dataSet.source.rowCount)
        let fast = rowsInRange ? zip(names, kernels).map { name, kernel in kernel == nil ? resident.decoded(name) : nil }
                               : names.map { _ in nil }
        /// Writes batch `offset` of the ring into slot `target`.
        let fill: @Sendable (Int, Int, Bool) throws -> Void = { offset, target, takeover in
            observe?(offset, takeover ? .takingOver : .filling)
            let slot = slots[target]
            let (epoch, index) = plan.locate(start + offset)
            let filled = plan.fillRows(epoch: epoch, index: index, into: slot.rows)
            let cacheRows: UnsafeBufferPointer<Int>
            if identity {
                cacheRows = UnsafeBufferPointer(rebasing: slot.rows[..<filled])
            } else {
                for position in 0..<filled { slot.cacheRows[position] = rows[slot.rows[position]] }
                cacheRows = UnsafeBufferPointer(rebasing: slot.cacheRows[..<filled])
            }
            for (column, name) in names.enumerated() {
                // The slot's buffers hold a whole batch (checked when given).
                if let transformer = transformers[column] {
                    try transformer.render(rows: cacheRows, seed: seed, epoch: epoch, into: slot.columns[column])
                } else if let complete = fast[column], complete.isComplete {
                    complete.copyResidentRows(cacheRows, into: slot.columns[column].baseAddress!)
                } else {
                    try resident.gather(column: name, rows: cacheRows, into: slot.columns[column], kernel: kernels[column])
                }
            }
            slot.count = filled
            slot.epoch = epoch
            slot.index = index
        }
        let hedge = order.spare.map { _ in
            OrderedPrefetcher<Int>.Hedge(prepare: { offset in order.prepareTakeover(of: offset) },
                                         produce: { offset in
                                             let target = order.takeSpare(for: offset)
                                             try fill(offset, target, true)
                                             return target
                                         },
                                         discard: { _ in order.returnOrphan() })
        }
        prefetcher = OrderedPrefetcher<Int>(count: plan.batchesPerEpoch == 0 ? 0 : remaining, workers: options.workers,
                                            depth: order.count - held, hedge: hedge) { offset in
            observe?(offset, .lookingUp)
            let target = order.lookUpSlot(of: offset)
            try fill(offset, target, false)
            return target
        }
    }

    deinit { prefetcher.stop() }

    /// Whether a ring with `workers` workers takes batches over from late workers (given a spare
    /// slot): when the workers leave a processor to the consumer. When the ring's own threads
    /// outnumber the processors, a late worker mostly waits for another of them, and writing its
    /// batch again takes a core from a third: Python's engine backend with 2 workers on 2 CPUs
    /// served 1.32–1.67× numpy's `X[idx]` with takeovers, 1.70–2.07× without (docs/EPOCHS.md).
    static func takesOver(workers: Int) -> Bool { workers > 0 && workers < processorCount }

    /// Checks that `buffers` fit a ring of `dataSet` under `options`, without starting one.
    /// - Throws: the buffer and option errors of
    ///   ``init(dataSet:options:startingAt:held:firstSlot:heldSlots:buffers:)``.
    public static func check(dataSet: CachedDataSet, options: BatchOptions, held: Int = 1,
                             buffers: [[UnsafeMutableRawBufferPointer]]) throws {
        let plan = try BatchPlan(options: options, rowCount: dataSet.size)
        _ = try slots(dataSet: dataSet, options: options, plan: plan, held: max(1, held), buffers: buffers)
    }

    /// The served columns and a checked slot per buffer set.
    private static func slots(dataSet: CachedDataSet, options: BatchOptions, plan: BatchPlan, held: Int,
                              buffers: [[UnsafeMutableRawBufferPointer]]) throws -> ([CacheColumn], [BatchSlot]) {
        let columns = try dataSet.fixedServedColumns(for: "a batch ring")
        let rowBytes = columns.map { dataSet.servedRowBytes($0) }
        let minimum = max(options.workers, 1) + held
        guard buffers.count >= minimum else {
            throw DataSetError.invalidOption("a batch ring with \(options.workers) workers, holding \(held) batches, needs at least \(minimum) slots; \(buffers.count) given")
        }
        let slots = try buffers.map { set in
            try BatchSlot(columns: set, rowBytes: rowBytes, batchSize: plan.batchSize,
                          names: columns.map(\.name), hasTarget: dataSet.targetColumn != nil)
        }
        return (columns, slots)
    }

    /// Waits for the next batch; the oldest held slot goes back to the workers when `held`
    /// slots are held already. `nil` after the last batch.
    /// - Throws: the first read error, after which nothing more is delivered.
    public func next() throws -> Delivery? {
        if heldSlots.count >= held { heldSlots.removeFirst() }
        guard let index = try prefetcher.next() else {
            heldSlots.removeAll()
            return nil
        }
        heldSlots.append(index)
        let slot = slots[index]
        return Delivery(slot: index, epoch: slot.epoch, index: slot.index, count: slot.count)
    }

    /// Gives a slot the caller holds (one of the last `held` that ``next()`` delivered) new
    /// buffers, so that the old ones keep the batch: workers write later batches into the new ones.
    /// - Throws: ``DataSetError/invalidOption(_:)`` when `slot` is not held or a buffer is too
    ///   small or missing.
    public func replaceBuffers(ofSlot slot: Int, with buffers: [UnsafeMutableRawBufferPointer]) throws {
        guard heldSlots.contains(slot) else {
            throw DataSetError.invalidOption("slot \(slot) is not held (held: \(heldSlots)); only a held slot can be given new buffers")
        }
        try slots[slot].replace(columns: buffers)
    }

    /// The batches so far that the caller's thread wrote again into the spare slot, because the
    /// worker writing them was late (see the type's discussion): 0 unless a worker lost its core.
    public var takeovers: Int { order.takeovers.load(ordering: .relaxed) }

    /// The buffers of `slot` (the last delivered one holds its batch).
    public func buffers(ofSlot slot: Int) -> [UnsafeMutableRawBufferPointer] { slots[slot].columns }

    /// The data set positions of the rows of the batch in a held slot.
    public func rows(ofSlot slot: Int) -> UnsafeBufferPointer<Int> {
        UnsafeBufferPointer(rebasing: slots[slot].rows[..<slots[slot].count])
    }

    /// Stops the workers and waits for them; later ``next()`` calls return `nil`.
    public func stop() { prefetcher.stop() }
}

/// Which slot each batch of a ring is written into: batch `k` into `slots[k mod count]`, except
/// that a takeover (``OrderedPrefetcher/Hedge``) writes batch `k` into the spare instead, which
/// then takes the place of the late worker's slot in the order, and that slot becomes the spare
/// once the late worker is done with it.
///
/// A batch can be taken over only once the thread writing it has looked its slot up and said so
/// (``lookUpSlot(of:)``): the takeover then knows the late slot, and the late thread never sees
/// the spare in its place.
///
/// `@unchecked Sendable`: `slots[p]` changes only in ``takeSpare(for:)``, on the consumer's
/// thread, for batch `k` at place `p`, after the consumer acquired `looked[p] == k + 1`, which
/// the thread writing `k` released after reading `slots[p]`; workers read `slots[p]` again only
/// for batch `k + count`, claimed after the consumer delivered `k` (publishing the change).
/// `lookedSlot[p]` is written before that release and read after that acquire; `orphan` is
/// written in ``prepareTakeover(of:)`` before the takeover is settled (releasing) and read by the
/// late worker after it found the item settled (acquiring); at most one orphan is out at a time
/// (the spare is `-1` until it returns).
final class SlotOrder: @unchecked Sendable {
    /// The places in the order.
    let count: Int
    private let slots: UnsafeMutablePointer<Int>
    /// Per place: the batch whose slot was last looked up there, plus one.
    private let looked: UnsafeMutablePointer<Atomic<Int>>
    /// Per place: the slot looked up for that batch.
    private let lookedSlot: UnsafeMutablePointer<Int>
    private let spareSlot: Atomic<Int>
    private var orphan = -1
    /// The takeovers so far.
    let takeovers = Atomic<Int>(0)
    /// The spare slot the ring started with, if any.
    let spare: Int?

    init(slots: [Int], spare: Int?) {
        count = slots.count
        self.slots = .allocate(capacity: max(1, slots.count))
        self.slots.initialize(from: slots, count: slots.count)
        looked = .allocate(capacity: max(1, slots.count))
        for place in 0..<max(1, slots.count) { (looked + place).initialize(to: Atomic(0)) }
        lookedSlot = .allocate(capacity: max(1, slots.count))
        lookedSlot.initialize(repeating: -1, count: max(1, slots.count))
        spareSlot = Atomic(spare ?? -1)
        self.spare = spare
    }

    deinit {
        slots.deallocate()
        looked.deinitialize(count: max(1, count))
        looked.deallocate()
        lookedSlot.deallocate()
    }

    /// The slot batch `offset` is written into, for the thread about to write it; from now on
    /// the batch may be taken over.
    func lookUpSlot(of offset: Int) -> Int {
        let place = offset % count
        let slot = slots[place]
        lookedSlot[place] = slot
        looked[place].store(offset + 1, ordering: .releasing)
        return slot
    }

    /// Whether batch `offset` may be taken over now: the spare is free, and the thread writing
    /// the batch has looked its slot up (that slot, recorded, becomes the spare once the late
    /// thread is done with it).
    func prepareTakeover(of offset: Int) -> Bool {
        guard spareSlot.load(ordering: .acquiring) >= 0 else { return false }
        let place = offset % count
        guard looked[place].load(ordering: .acquiring) == offset + 1 else { return false }
        orphan = lookedSlot[place]
        return true
    }

    /// The spare, which takes the place of batch `offset`'s slot in the order.
    func takeSpare(for offset: Int) -> Int {
        let spare = spareSlot.exchange(-1, ordering: .acquiring)
        slots[offset % count] = spare
        takeovers.add(1, ordering: .relaxed)
        return spare
    }

    /// The late worker is done with its slot: it is the spare now.
    func returnOrphan() { spareSlot.store(orphan, ordering: .releasing) }
}

/// The buffers of one batch in flight, and the batch's rows.
///
/// `@unchecked Sendable`: a slot is written by one worker thread for batch `k` and read by the
/// consumer only after the ordered prefetcher hands out `k`; it is reused for batch `k + slots`
/// only after the consumer asked for batch `k + 1`, i.e. finished with `k`. `columns` changes
/// only while the consumer holds the slot.
final class BatchSlot: @unchecked Sendable {
    private(set) var columns: [UnsafeMutableRawBufferPointer]
    let rowBytes: [Int]
    let names: [String]
    let batchSize: Int
    let rows: UnsafeMutableBufferPointer<Int>
    let cacheRows: UnsafeMutableBufferPointer<Int>
    let hasTarget: Bool
    var count = 0
    var epoch = 0
    var index = 0

    init(columns: [UnsafeMutableRawBufferPointer], rowBytes: [Int], batchSize: Int, names: [String], hasTarget: Bool) throws {
        self.columns = []
        self.rowBytes = rowBytes
        self.names = names
        self.batchSize = batchSize
        self.hasTarget = hasTarget
        rows = .allocate(capacity: max(1, batchSize))
        cacheRows = .allocate(capacity: max(1, batchSize))
        try replace(columns: columns)
    }

    func replace(columns: [UnsafeMutableRawBufferPointer]) throws {
        guard columns.count == rowBytes.count else {
            throw DataSetError.invalidOption("a batch slot takes \(rowBytes.count) buffers (\(names.joined(separator: ", "))); \(columns.count) given")
        }
        for (column, buffer) in columns.enumerated() {
            let needed = rowBytes[column] * batchSize
            guard buffer.count >= needed, needed == 0 || buffer.baseAddress != nil else {
                throw DataSetError.invalidOption("the buffer for column '\(names[column])' holds \(buffer.count) bytes; a batch of \(batchSize) needs \(needed)")
            }
        }
        self.columns = columns
    }

    deinit {
        rows.deallocate()
        cacheRows.deallocate()
    }
}
