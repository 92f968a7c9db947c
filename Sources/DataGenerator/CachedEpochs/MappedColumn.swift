import CRowCopy

/// A fixed-shape column stored without compression, served straight from the cache's mapping.
///
/// Its rows already lie in the file as they are served, so copying them into memory of our own
/// would only double the memory and make the first epoch pay for fresh pages (on this project's
/// machines, faulting 188 MB of new anonymous memory took 20 ms to 800 ms). The file's pages are
/// shared with the page cache and with every other process that maps the cache.
///
/// The first time one of a unit's rows is served, the unit's entry is checked against the file
/// and its CRC-32 verified (``ColumnStore/unit(_:force:)``, remembered in the store's bitmap);
/// later rows of a checked unit are located from its entry in the units table, bounds-checked
/// against the unit and the data section at every read, so nothing per row is kept in memory.
///
/// `@unchecked Sendable`: `base` points into the read-only mapping that `store` keeps alive.
final class MappedColumn: @unchecked Sendable {
    let store: ColumnStore
    private let base: UnsafeRawPointer

    var rowBytes: Int { store.rowBytes }

    init(store: ColumnStore) {
        self.store = store
        // A cache with a column has a non-empty mapping.
        base = store.units.file.bytes(at: 0, count: store.units.file.size)!.baseAddress!
    }

    /// Copies `rows` into `destination`, row `rows[i]` at byte `i × rowBytes`; with a `kernel`,
    /// converts each row on the way instead (row `i` at byte `i × kernel.targetRowBytes`).
    /// - Precondition: every row is in range and `destination` holds every delivered row (the
    ///   caller checks both).
    func gather(_ rows: UnsafeBufferPointer<Int>, into destination: UnsafeMutableRawPointer,
                kernel: ServeKernel? = nil) throws(CacheError) {
        let rowBytes = store.rowBytes
        let targetRowBytes = kernel?.targetRowBytes ?? rowBytes
        // Each row is located (and checked) `ahead` places before it is copied, and asked for
        // then (`dg_prefetch_row`): rows drawn at random each start with a miss. The located
        // rows wait in a ring of `ahead` places.
        let ahead = 4
        assert(ahead == Int(DG_ROWS_AHEAD))
        var located = InlineArray<4, UnsafeRawPointer?>(repeating: nil)
        for (position, row) in rows.prefix(ahead).enumerated() {
            located[position] = try location(of: row)
            dg_prefetch_row(located[position], rowBytes)
        }
        for position in 0..<rows.count {
            let source = located[position % ahead]!
            if position + ahead < rows.count {
                let next = try location(of: rows[position + ahead])
                located[position % ahead] = next
                dg_prefetch_row(next, rowBytes)
            }
            let target = destination + position * targetRowBytes
            if let kernel {
                kernel.convertRows(source, target, rows: 1)
            } else {
                target.copyMemory(from: source, byteCount: rowBytes)
            }
        }
    }

    /// Where `row`'s bytes lie in the mapping.
    @inline(__always)
    private func location(of row: Int) throws(CacheError) -> UnsafeRawPointer {
        let index = try store.unitIndex(ofRow: row)
        if store.unitsVerified.contains(index) {
            // Checked before: its entry lies inside the file. The row must lie inside the unit.
            // The entry is read again from the mapping, which shows later writes to the file in
            // place: the row's bytes must still lie inside the unit and the data section.
            // Every value is checked before any arithmetic on it, in unsigned 64-bit terms: a
            // rewritten entry falls through to the full check below, never traps.
            let firstRow = store.firstRows.map { $0.u64(index) } ?? UInt64(index)
            let offset = store.units.u64(index, at: 0)
            let length = store.units.u64(index, at: 8)
            let rowBytes = UInt64(store.rowBytes)
            if firstRow <= UInt64(row), offset >= store.dataRange.lowerBound, offset <= store.dataRange.upperBound,
               length <= store.dataRange.upperBound - offset {
                let (end, overflow) = (UInt64(row) - firstRow + 1).multipliedReportingOverflow(by: rowBytes)
                if !overflow, end <= length {
                    return base + Int(offset) + Int(end - rowBytes)
                }
            }
        }
        let unit = try store.unit(index)
        guard unit.isRaw, unit.firstRow <= row, row < unit.rowEnd,
              unit.stored.count == unit.rowCount * store.rowBytes else {
            throw store.corrupt("unit \(index) does not hold the row as stored bytes", row: row)
        }
        return unit.stored.baseAddress! + (row - unit.firstRow) * store.rowBytes
    }
}
