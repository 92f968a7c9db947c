import Synchronization

/// A fixed-shape column stored without compression, served straight from the cache's mapping.
///
/// Its rows already lie in the file as they are served, so copying them into memory of our own
/// would only double the memory and make the first epoch pay for fresh pages (on this project's
/// machines, faulting 188 MB of new anonymous memory took 20 ms to 800 ms). The file's pages are
/// shared with the page cache and with every other process that maps the cache.
///
/// The first time one of a unit's rows is served, the unit's entry is checked and its CRC-32
/// verified, and the position of each of its rows in the mapping is remembered; later gathers of
/// those rows only copy. Positions are published with release/acquire ordering; two threads that
/// meet an unchecked unit both check it, which is harmless.
///
/// `@unchecked Sendable`: the positions are `Atomic`s in a fixed allocation owned by this object;
/// the mapping they point into is kept alive by `store`.
final class MappedColumn: @unchecked Sendable {
    let store: ColumnStore
    private let base: UnsafeRawPointer
    /// Per row: its byte offset in the mapping plus one, or 0 while its unit is unchecked.
    private let rowPosition: UnsafeMutablePointer<Atomic<Int>>
    private let rowCount: Int

    init(store: ColumnStore) {
        self.store = store
        // A cache with a column has a non-empty mapping.
        base = store.units.file.bytes(at: 0, count: store.units.file.size)!.baseAddress!
        rowCount = store.rowCount
        rowPosition = .allocate(capacity: max(1, rowCount))
        for row in 0..<rowCount { (rowPosition + row).initialize(to: Atomic(0)) }
    }

    deinit {
        rowPosition.deinitialize(count: rowCount)
        rowPosition.deallocate()
    }

    /// Copies `rows` into `destination`, row `rows[i]` at byte `i × rowBytes`; with a `kernel`,
    /// converts each row on the way instead (row `i` at byte `i × kernel.targetRowBytes`).
    /// - Precondition: every row is in range and `destination` holds every delivered row (the
    ///   caller checks both).
    func gather(_ rows: UnsafeBufferPointer<Int>, into destination: UnsafeMutableRawPointer,
                kernel: ServeKernel? = nil) throws(CacheError) {
        let rowBytes = store.rowBytes
        let targetRowBytes = kernel?.targetRowBytes ?? rowBytes
        for (position, row) in rows.enumerated() {
            var known = rowPosition[row].load(ordering: .acquiring)
            if known == 0 { known = try check(row) }
            let source = base + (known - 1)
            let target = destination + position * targetRowBytes
            if let kernel {
                kernel.convertRows(source, target, rows: 1)
            } else {
                target.copyMemory(from: source, byteCount: rowBytes)
            }
        }
    }

    /// Checks the unit holding `row` and publishes the positions of its rows; returns `row`'s.
    private func check(_ row: Int) throws(CacheError) -> Int {
        let rowBytes = store.rowBytes
        let index = try store.unitIndex(ofRow: row)
        let unit = try store.unit(index)
        guard unit.isRaw, unit.firstRow <= row, row < unit.rowEnd, unit.rowEnd <= rowCount,
              unit.stored.count == unit.rowCount * rowBytes else {
            throw store.corrupt("unit \(index) does not hold the row as stored bytes", row: row)
        }
        let start = Int(unit.offset)
        for held in unit.firstRow..<unit.rowEnd {
            rowPosition[held].store(start + (held - unit.firstRow) * rowBytes + 1, ordering: .releasing)
        }
        return start + (row - unit.firstRow) * rowBytes + 1
    }
}
