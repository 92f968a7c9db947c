import Synchronization
import CRowCopy
#if canImport(Glibc)
import Glibc
#endif

/// A fixed-shape column decompressed into memory as its rows are first served, so that later
/// epochs gather with plain copies.
///
/// The first gather of a row decodes its whole unit into the column's buffer (at the rows' own
/// offsets) and marks the unit's rows ready; later gathers of any of those rows copy from memory.
/// Threads race safely: a unit is claimed by one thread (compare-and-exchange on its state), the
/// others meanwhile decode the row they need straight from the mapping. Readiness is published
/// with release/acquire ordering, so a copy never sees a half-decoded row.
///
/// `@unchecked Sendable`: the buffer is written only by the thread that claimed a unit, for that
/// unit's rows, before those rows are published; after that it is only read.
final class ResidentColumn: @unchecked Sendable {
    let store: ColumnStore
    let cache: CacheFile
    let rowBytes: Int
    private let storage: HugePageBuffer
    private let buffer: UnsafeMutableRawPointer
    /// Per row: 0 not resident, 2 resident.
    private let rowState: UnsafeMutablePointer<Atomic<UInt8>>
    /// Per unit: 0 untouched, 1 being decoded, 2 resident.
    private let unitState: UnsafeMutablePointer<Atomic<UInt8>>
    private let rowCount: Int
    private let unitCount: Int
    /// Rows decoded so far (units are decoded once each, and hold disjoint rows): the column is
    /// complete when it reaches `rowCount`.
    private let residentRows = Atomic<Int>(0)

    /// The bytes this column holds once every row has been served.
    static func bytes(of column: CacheColumn, rows: Int) -> Int { rows * column.rowBytes }

    init(cache: CacheFile, store: ColumnStore) {
        self.cache = cache
        self.store = store
        rowBytes = store.rowBytes
        rowCount = store.rowCount
        unitCount = store.units.count
        // Anonymous pages cost nothing until first written: only served rows become resident.
        // Huge pages: random row gathers are bound by TLB misses with 4 KiB pages.
        storage = HugePageBuffer(byteCount: rowCount * rowBytes)
        buffer = storage.baseAddress
        rowState = .allocate(capacity: max(1, rowCount))
        for index in 0..<rowCount { (rowState + index).initialize(to: Atomic(0)) }
        unitState = .allocate(capacity: max(1, unitCount))
        for index in 0..<unitCount { (unitState + index).initialize(to: Atomic(0)) }
    }

    deinit {
        rowState.deinitialize(count: rowCount)
        rowState.deallocate()
        unitState.deinitialize(count: unitCount)
        unitState.deallocate()
    }

    /// Whether every unit is decoded into memory: from then on ``copyResidentRows(_:into:)`` serves
    /// any row. One acquiring load, which sees every unit's bytes (each unit adds its rows with a
    /// read-modify-write that releases them).
    var isComplete: Bool { residentRows.load(ordering: .acquiring) >= rowCount }

    /// The fast path of a complete column (``isComplete``): one `memcpy` per row, row `rows[i]`
    /// at byte `i × rowBytes`, with no per-row state, conversion or remapping, the first lines
    /// of the row four places ahead asked for meanwhile (`dg_copy_rows`: Swift has no prefetch).
    /// - Precondition: the column is complete, every row is in range and `destination` holds
    ///   `rows.count × rowBytes` bytes (the caller checks all three once, not per row).
    @inline(__always)
    func copyResidentRows(_ rows: UnsafeBufferPointer<Int>, into destination: UnsafeMutableRawPointer) {
        guard let first = rows.baseAddress else { return }
        dg_copy_rows(destination, buffer, first, rows.count, rowBytes)
    }

    /// Copies `rows` into `destination`, row `rows[i]` at byte `i × rowBytes`; with a `kernel`,
    /// converts each row on the way instead (row `i` at byte `i × kernel.targetRowBytes`).
    /// - Precondition: every row is in range and `destination` holds every delivered row (the
    ///   caller checks both).
    func gather(_ rows: UnsafeBufferPointer<Int>, into destination: UnsafeMutableRawPointer,
                kernel: ServeKernel? = nil) throws(CacheError) {
        let rowBytes = self.rowBytes
        let targetRowBytes = kernel?.targetRowBytes ?? rowBytes
        // The rows ahead are asked for as in the fast path (a row not decoded yet is only a
        // wasted hint).
        let ahead = Int(DG_ROWS_AHEAD)
        for row in rows.prefix(ahead) { dg_prefetch_row(buffer + row * rowBytes, rowBytes) }
        for (position, row) in rows.enumerated() {
            if position + ahead < rows.count { dg_prefetch_row(buffer + rows[position + ahead] * rowBytes, rowBytes) }
            let target = destination + position * targetRowBytes
            if rowState[row].load(ordering: .acquiring) == 2 {
                deliver(buffer + row * rowBytes, to: target, kernel: kernel)
                continue
            }
            try fill(row, into: target, kernel: kernel)
        }
    }

    /// Copies (or converts) one row.
    @inline(__always)
    private func deliver(_ source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, kernel: ServeKernel?) {
        if let kernel {
            kernel.convertRows(source, target, rows: 1)
        } else {
            target.copyMemory(from: source, byteCount: rowBytes)
        }
    }

    /// The slow path: decode the row's unit into memory, or the row alone when another thread is
    /// decoding that unit.
    private func fill(_ row: Int, into target: UnsafeMutableRawPointer, kernel: ServeKernel?) throws(CacheError) {
        let index = try store.unitIndex(ofRow: row)
        guard index >= 0 && index < unitCount else { throw store.corrupt("no unit holds the row", row: row) }
        if unitState[index].compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            let unit: UnitInfo
            do throws(CacheError) {
                unit = try store.unit(index)
                guard unit.firstRow <= row, row < unit.rowEnd, unit.rowEnd <= rowCount,
                      unit.rawLength == unit.rowCount * rowBytes else {
                    throw store.corrupt("unit \(index) does not hold the row", row: row)
                }
                try store.decode(unit, into: UnsafeMutableRawBufferPointer(start: buffer + unit.firstRow * rowBytes,
                                                                            count: unit.rawLength))
            } catch {
                unitState[index].store(0, ordering: .releasing)
                throw error
            }
            for resident in unit.firstRow..<unit.rowEnd { rowState[resident].store(2, ordering: .releasing) }
            unitState[index].store(2, ordering: .releasing)
            residentRows.add(unit.rowCount, ordering: .acquiringAndReleasing)
            deliver(buffer + row * rowBytes, to: target, kernel: kernel)
        } else if unitState[index].load(ordering: .acquiring) == 2 {
            deliver(buffer + row * rowBytes, to: target, kernel: kernel)
        } else if let kernel {
            // Another thread is decoding the unit: decode the row alone, then convert it.
            try withUnsafeTemporaryAllocation(byteCount: rowBytes, alignment: 16) { (scratch) throws(CacheError) in
                try cache.gather(column: store.name, rows: CollectionOfOne(row), into: scratch)
                kernel.convertRows(UnsafeRawPointer(scratch.baseAddress!), target, rows: 1)
            }
        } else {
            try cache.gather(column: store.name, rows: CollectionOfOne(row),
                             into: UnsafeMutableRawBufferPointer(start: target, count: rowBytes))
        }
    }
}

/// How much memory the engine may hold for decompressed columns by default: half the machine's
/// physical memory.
public var defaultMemoryBudget: Int {
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
    return pages > 0 && size > 0 ? pages * size / 2 : 1 << 30
}
