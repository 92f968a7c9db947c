import Synchronization

/// What a data set holds of a cache's fixed-shape columns within its memory budget, and the
/// gathers that serve them.
///
/// Columns are made resident smallest first while their decompressed bytes fit the budget (the
/// targets and small inputs of a large image cache, say), so a cache whose big column does not
/// fit still serves its small ones from memory. A resident column is decompressed unit by unit on
/// first touch (``ResidentColumn``), unless it is stored uncompressed: then its rows are served
/// straight from the mapping (``MappedColumn``), whose pages count against the budget as they would
/// in memory of our own but are shared with the page cache; a streamed one is decoded from the mapping at every gather,
/// and every ``releaseInterval`` bytes read from the mapping its data section's pages are handed
/// back to the kernel (`madvise(MADV_DONTNEED)`), so that the file-backed resident memory of a
/// cache larger than the budget stays bounded too. Pages still in use fault back in from the page
/// cache: the mapping is read-only, so releasing never loses data.
final class ResidentColumns: Sendable {
    let cache: CacheFile
    let budget: Int
    /// The decompressed bytes of the resident columns (once every row was served).
    let residentBytes: Int
    /// Bytes read from the mapping between two releases of a streamed column's pages.
    let releaseInterval: Int
    /// The columns served from memory: decoded (``ResidentColumn``) or mapped (``MappedColumn``).
    private let held: [String: any HeldColumn]
    private let streamed: [String: StreamedColumn]

    /// Holds the columns that fit `budget`, or exactly the columns `holding` names when given (a
    /// cache set's shard, whose set decided); streamed pages are released every `releaseInterval`
    /// bytes read (default ``releaseInterval(budget:)``).
    init(cache: CacheFile, budget: Int, holding: Set<String>? = nil, releaseInterval: Int? = nil) {
        self.cache = cache
        self.budget = budget
        self.releaseInterval = releaseInterval ?? Self.releaseInterval(budget: budget)
        var held = [String: any HeldColumn]()
        var streamed = [String: StreamedColumn]()
        var used = 0
        let fixed = cache.stores.filter { !$0.isVariableLength }
        for store in fixed.sorted(by: { $0.rowCount * $0.rowBytes < $1.rowCount * $1.rowBytes }) {
            let bytes = store.rowCount * store.rowBytes
            if bytes > 0 && holding.map({ $0.contains(store.name) }) ?? (used + bytes <= budget) {
                held[store.name] = store.metadata.codec == .none
                    ? MappedColumn(store: store) : ResidentColumn(cache: cache, store: store)
                used += bytes
            } else {
                streamed[store.name] = StreamedColumn(store: store)
            }
        }
        self.held = held
        self.streamed = streamed
        residentBytes = used
    }

    /// A quarter of the budget, between 1 MiB and 64 MiB.
    static func releaseInterval(budget: Int) -> Int { min(64 << 20, max(1 << 20, budget / 4)) }

    /// Hands the mapped pages of every streamed column back to the kernel.
    func releaseStreamed() {
        for column in streamed.values { column.release() }
    }

    /// Whether every fixed-shape column is served from memory.
    var isResident: Bool { streamed.isEmpty && !held.isEmpty }

    /// Whether column `name` is served from memory (decompressed, or mapped and kept).
    func isResident(_ name: String) -> Bool { held[name] != nil }

    /// Column `name` when it is decoded into memory (complete or not): what a lending path may
    /// copy from with ``ResidentColumn/copyResidentRows(_:into:)`` once it is complete.
    func decoded(_ name: String) -> ResidentColumn? { held[name] as? ResidentColumn }

    /// Gathers rows of a fixed-shape column: from memory when resident, else from the mapping.
    func gather(column name: String, rows: [Int], into buffer: UnsafeMutableRawBufferPointer,
                kernel: ServeKernel? = nil) throws(CacheError) {
        try rows.withUnsafeBufferPointer { (indices) throws(CacheError) in
            try gather(column: name, rows: indices, into: buffer, kernel: kernel)
        }
    }

    /// Gathers rows of a fixed-shape column into `buffer`: from memory when resident, else from
    /// the mapping; converted by `kernel` when given (row `i` then lands at byte
    /// `i × kernel.targetRowBytes`).
    func gather(column name: String, rows: UnsafeBufferPointer<Int>, into buffer: UnsafeMutableRawBufferPointer,
                kernel: ServeKernel? = nil) throws(CacheError) {
        guard let column = held[name] else {
            try gatherStreamed(column: name, rows: rows, into: buffer, kernel: kernel)
            return
        }
        let needed = rows.count * (kernel?.targetRowBytes ?? column.rowBytes)
        guard buffer.count >= needed else { throw .bufferTooSmall(column: name, needed: needed, available: buffer.count) }
        for row in rows where row < 0 || row >= cache.rowCount { throw .rowOutOfRange(row: row, count: cache.rowCount) }
        guard needed > 0 else { return }
        try column.gather(rows, into: buffer.baseAddress!, kernel: kernel)
    }

    /// The streamed path: decode from the mapping (through a scratch copy when converting), then
    /// count the bytes read and release the column's pages every ``releaseInterval``.
    private func gatherStreamed(column name: String, rows: UnsafeBufferPointer<Int>,
                                into buffer: UnsafeMutableRawBufferPointer, kernel: ServeKernel?) throws(CacheError) {
        if let kernel {
            let needed = rows.count * kernel.targetRowBytes
            guard buffer.count >= needed else { throw .bufferTooSmall(column: name, needed: needed, available: buffer.count) }
            let stored = rows.count * kernel.sourceRowBytes
            if stored > 0 {
                try withUnsafeTemporaryAllocation(byteCount: stored, alignment: 64) { (scratch) throws(CacheError) in
                    try cache.gather(column: name, rows: rows, into: scratch)
                    kernel.convertRows(UnsafeRawPointer(scratch.baseAddress!), buffer.baseAddress!, rows: rows.count)
                }
            } else {
                try cache.gather(column: name, rows: rows, into: buffer)
            }
        } else {
            try cache.gather(column: name, rows: rows, into: buffer)
        }
        streamed[name]?.served(rows: rows.count, interval: releaseInterval)
    }
}

/// A fixed-shape column served from memory: decoded into memory of its own, or mapped.
protocol HeldColumn: Sendable {
    /// The bytes of one stored row.
    var rowBytes: Int { get }
    /// Copies `rows` into `destination`, row `rows[i]` at byte `i × rowBytes`; with a `kernel`,
    /// converts each row on the way instead (row `i` at byte `i × kernel.targetRowBytes`).
    /// - Precondition: every row is in range and `destination` holds every delivered row.
    func gather(_ rows: UnsafeBufferPointer<Int>, into destination: UnsafeMutableRawPointer,
                kernel: ServeKernel?) throws(CacheError)
}

extension ResidentColumn: HeldColumn {}
extension MappedColumn: HeldColumn {}

/// The release bookkeeping of a column served from the mapping.
///
/// `served` adds an estimate of the stored bytes a gather read (rows × the column's mean stored
/// bytes per unit: a row of a packed unit decodes the whole unit); the thread that crosses the
/// interval resets the count and releases the column's data section.
final class StreamedColumn: Sendable {
    let store: ColumnStore
    private let bytesPerRow: Int
    private let pending = Atomic<Int>(0)

    init(store: ColumnStore) {
        self.store = store
        let units = max(1, store.units.count)
        bytesPerRow = max(1, Int(store.metadata.storedBytes) / units)
    }

    func served(rows: Int, interval: Int) {
        let added = rows * bytesPerRow
        let total = pending.add(added, ordering: .relaxed).newValue
        guard total >= interval, total - added < interval else { return }
        pending.store(0, ordering: .relaxed)
        release()
    }

    /// Hands the column's data section's mapped pages back to the kernel.
    func release() {
        store.units.file.release(offset: store.dataRange.lowerBound,
                                 count: store.dataRange.upperBound - store.dataRange.lowerBound)
    }
}
