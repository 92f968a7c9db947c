import Synchronization

/// How a ``CachedDataSet`` gathers its fixed-shape columns within its memory budget: from one
/// cache (``ResidentColumns``) or from the shards of a cache set (``SetColumns``).
protocol ColumnGathering: AnyObject, Sendable {
    /// The bytes the data set may hold in memory.
    var budget: Int { get }
    /// The decompressed bytes of the columns held in memory, once every row was served.
    var residentBytes: Int { get }
    /// The rows that can be gathered (`0..<rowCount`).
    var rowCount: Int { get }
    /// Whether every fixed-shape column is served from memory.
    var isResident: Bool { get }
    /// Whether column `name` is served from memory.
    func isResident(_ name: String) -> Bool
    /// Column `name` decoded into memory as one whole, when it is (the lending paths' fast path).
    func decoded(_ name: String) -> ResidentColumn?
    /// Gathers `rows` of a fixed-shape column into `buffer`, converted by `kernel` when given.
    func gather(column name: String, rows: UnsafeBufferPointer<Int>, into buffer: UnsafeMutableRawBufferPointer,
                kernel: ServeKernel?) throws(CacheError)
}

extension ColumnGathering {
    /// ``gather(column:rows:into:kernel:)`` of an array of rows.
    func gather(column name: String, rows: [Int], into buffer: UnsafeMutableRawBufferPointer,
                kernel: ServeKernel? = nil) throws(CacheError) {
        try rows.withUnsafeBufferPointer { (indices) throws(CacheError) in
            try gather(column: name, rows: indices, into: buffer, kernel: kernel)
        }
    }
}

extension ResidentColumns: ColumnGathering {
    var rowCount: Int { cache.rowCount }
}

/// The fixed-shape columns of a cache set, gathered shard by shard with one memory budget for
/// the whole set.
///
/// Which columns are held in memory is decided once for the set, exactly as for one cache of all
/// its rows (smallest first while the set's decompressed bytes fit the budget), so a set and the
/// single file of the same rows hold the same columns. Each shard gets its ``ResidentColumns``
/// (holding those columns: decoded on first touch, or mapped when stored uncompressed) the first
/// time one of its rows is gathered. The streamed columns' mapped pages are released set-wide:
/// every ``ResidentColumns/releaseInterval(budget:)`` bytes served from them, the data sections
/// of every opened shard's streamed columns are handed back to the kernel.
final class SetColumns: ColumnGathering {
    let cacheSet: CacheSet
    let budget: Int
    let residentBytes: Int
    /// The fixed-shape columns held in memory in every shard.
    let held: Set<String>
    /// The bytes of one stored row of each fixed-shape column.
    private let rowBytes: [String: Int]
    private let shards: LazyReferences<ResidentColumns>
    private let releaseInterval: Int
    private let pending = Atomic<Int>(0)

    init(set: CacheSet, budget: Int) {
        self.cacheSet = set
        self.budget = budget
        var rowBytes = [String: Int]()
        for column in set.schema where !column.variableLength {
            rowBytes[column.name] = column.shape.reduce(1, *) * column.dtype.byteWidth
        }
        self.rowBytes = rowBytes
        var held = Set<String>()
        var used = 0
        let fixed = set.schema.filter { !$0.variableLength }.map { (name: $0.name, bytes: set.rowCount * rowBytes[$0.name]!) }
        // The order of ResidentColumns: by bytes, a stable sort keeping schema order among equals.
        for column in fixed.enumerated().sorted(by: { ($0.element.bytes, $0.offset) < ($1.element.bytes, $1.offset) }).map(\.element)
        where column.bytes > 0 && used + column.bytes <= budget {
            held.insert(column.name)
            used += column.bytes
        }
        self.held = held
        residentBytes = used
        releaseInterval = ResidentColumns.releaseInterval(budget: budget)
        shards = LazyReferences(count: cacheSet.shardCount)
    }

    var rowCount: Int { cacheSet.rowCount }
    var isResident: Bool { !held.isEmpty && held.count == rowBytes.count }
    func isResident(_ name: String) -> Bool { held.contains(name) }
    /// A set's columns are decoded shard by shard, never as one whole.
    func decoded(_ name: String) -> ResidentColumn? { nil }

    /// The columns of shard `index`, made on first use (opening the shard).
    private func columns(ofShard index: Int) throws(CacheError) -> ResidentColumns {
        if let columns = shards.load(index) { return columns }
        let file = try cacheSet.shard(index)
        return shards.store(index, ResidentColumns(cache: file, budget: budget, holding: held, releaseInterval: .max))
    }

    func gather(column name: String, rows: UnsafeBufferPointer<Int>, into buffer: UnsafeMutableRawBufferPointer,
                kernel: ServeKernel?) throws(CacheError) {
        guard let stored = rowBytes[name] else {
            if cacheSet.schema.contains(where: { $0.name == name }) {
                throw .wrongColumnKind(column: name, reason: "it is variable-length: use arrays(column:rows:)")
            }
            throw .noSuchColumn(name: name, available: cacheSet.schema.map(\.name))
        }
        let delivered = kernel?.targetRowBytes ?? stored
        let needed = rows.count * delivered
        guard buffer.count >= needed else { throw .bufferTooSmall(column: name, needed: needed, available: buffer.count) }
        try cacheSet.forEachRun(rows) { (shard, local, position) throws(CacheError) in
            let start = position * delivered
            try columns(ofShard: shard).gather(column: name, rows: local,
                                               into: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + local.count * delivered)]),
                                               kernel: kernel)
        }
        if !held.contains(name) { served(bytes: rows.count * stored) }
    }

    /// Counts bytes served from streamed columns; the thread crossing the interval releases every
    /// opened shard's streamed columns.
    private func served(bytes: Int) {
        let total = pending.add(bytes, ordering: .relaxed).newValue
        guard total >= releaseInterval, total - bytes < releaseInterval else { return }
        pending.store(0, ordering: .relaxed)
        for index in 0..<cacheSet.shardCount {
            shards.load(index)?.releaseStreamed()
        }
    }
}
