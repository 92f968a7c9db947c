/// What a ``CachedDataSet`` reads its rows from: one cache file, or a cache set whose shards'
/// rows are numbered globally, one shard after another. Both serve the same batches for the same
/// rows.
public enum CacheSource: Sendable {
    /// One cache file.
    case file(CacheFile)
    /// A cache set (`NAME.dgset`), its shards opened as their rows are first read.
    case set(CacheSet)

    /// Opens `path`: a cache set when it ends in `.dgset` (``CacheSet/isManifest(_:)``), else a
    /// cache file.
    /// - Throws: the errors of ``CacheSet/init(path:)`` or ``CacheFile/init(path:)``.
    public init(path: String) throws(CacheError) {
        self = CacheSet.isManifest(path) ? .set(try CacheSet(path: path)) : .file(try CacheFile(path: path))
    }

    /// The file's or the manifest's path.
    public var path: String {
        switch self {
        case let .file(file): file.path
        case let .set(set): set.path
        }
    }

    /// The number of rows (a set's: every shard's).
    public var rowCount: Int {
        switch self {
        case let .file(file): file.rowCount
        case let .set(set): set.rowCount
        }
    }

    /// The fingerprint value that keys checkpoints: the cache's, or the set's.
    public var fingerprint: String {
        switch self {
        case let .file(file): file.fingerprint.value
        case let .set(set): set.fingerprint
        }
    }

    /// The label classes, when the target has some.
    public var classes: [String]? {
        switch self {
        case let .file(file): file.classes
        case let .set(set): set.classes
        }
    }

    /// The cache file whose columns describe every row: the file, or a set's first shard
    /// (opened, and checked against the manifest, if it was not yet).
    /// - Throws: the errors of ``CacheSet/shard(_:)``.
    public func representative() throws(CacheError) -> CacheFile {
        switch self {
        case let .file(file): file
        case let .set(set): try set.shard(0)
        }
    }

    /// Whether the rows have ids.
    public func hasIDs() throws(CacheError) -> Bool {
        switch self {
        case let .file(file): file.hasIDs
        case let .set(set): try set.hasIDs()
        }
    }

    /// The id of `row`, or `nil` when the rows have no ids.
    public func id(ofRow row: Int) throws(CacheError) -> String? {
        switch self {
        case let .file(file): try file.id(ofRow: row)
        case let .set(set): try set.id(ofRow: row)
        }
    }

    /// Each of `rows` of any column as its own array, as ``CacheFile/arrays(column:rows:)``.
    public func arrays(column name: String, rows: some Collection<Int>) throws(CacheError) -> [NDArray] {
        switch self {
        case let .file(file): try file.arrays(column: name, rows: rows)
        case let .set(set): try set.arrays(column: name, rows: rows)
        }
    }

    /// `rows` of a fixed-shape column as one array, as ``CacheFile/gather(column:rows:)``.
    public func gather(column name: String, rows: some Collection<Int>) throws(CacheError) -> NDArray {
        switch self {
        case let .file(file): try file.gather(column: name, rows: rows)
        case let .set(set): try set.gather(column: name, rows: rows)
        }
    }

    /// `rows` of a variable-length column, as ``CacheFile/gatherVariable(column:rows:)``.
    public func gatherVariable(column name: String, rows: some Collection<Int>) throws(CacheError) -> (bytes: [UInt8], lengths: [Int]) {
        switch self {
        case let .file(file): try file.gatherVariable(column: name, rows: rows)
        case let .set(set): try set.gatherVariable(column: name, rows: rows)
        }
    }

    /// Every column of `row`, as ``CacheFile/row(_:)``.
    public func row(_ row: Int) throws(CacheError) -> [NDArray] {
        switch self {
        case let .file(file): try file.row(row)
        case let .set(set): try set.row(row)
        }
    }

    /// Checks everything, as ``CacheFile/verify()`` (every shard of a set).
    public func verify() throws(CacheError) -> CacheVerification {
        switch self {
        case let .file(file): try file.verify()
        case let .set(set): try set.verify()
        }
    }

    /// How a data set of these rows gathers its fixed-shape columns within `budget` bytes.
    func gatherer(budget: Int) -> any ColumnGathering {
        switch self {
        case let .file(file): ResidentColumns(cache: file, budget: budget)
        case let .set(set): SetColumns(set: set, budget: budget)
        }
    }
}
