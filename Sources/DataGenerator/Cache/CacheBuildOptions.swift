/// What the builder does with a record that cannot be encoded.
public enum RecordErrorPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Stop the build with ``CacheError/recordFailed(row:id:path:reason:line:)`` (the default); the
    /// partial build stays resumable.
    case fail
    /// Leave the record out and list it, with its cause, in the cache's metadata.
    case skip
}

/// Options of a ``CacheBuilder``.
public struct CacheBuildOptions: Sendable {
    /// The codec of every column without an entry in ``columnCodecs``.
    public var codec: CacheCodec
    /// Codecs of particular columns, by column name.
    public var columnCodecs: [String: CacheCodec]
    /// Threads encoding row groups; `nil` for ``processorCount`` (the CPUs this process may use).
    public var workers: Int?
    /// What to do with a record that cannot be encoded.
    public var onError: RecordErrorPolicy
    /// Rebuild even when the existing cache's fingerprint matches.
    public var force: Bool
    /// Names of the data columns; `nil` for `"data"` (one data encoder) or `"data0"`, `"data1"`….
    public var dataColumnNames: [String]?
    /// Name of the target column.
    public var targetColumnName: String
    /// Records per row group (the unit of work of a thread and of resuming); `nil` for up to 1024,
    /// fewer when rows are wide (about 16 MiB of fixed-shape data per group). Part of what
    /// decides the bytes: packed units never span two groups.
    public var rowsPerGroup: Int?
    /// Called on the building thread after each written row group.
    public var progress: (@Sendable (BuildProgress) -> Void)?
    /// Test hook: stop (as if killed) after writing this many row groups in this run.
    var interruptAfterGroups: Int?

    /// Options; every parameter has the default described on its property.
    public init(codec: CacheCodec = .lz4, columnCodecs: [String: CacheCodec] = [:], workers: Int? = nil,
                onError: RecordErrorPolicy = .fail, force: Bool = false, dataColumnNames: [String]? = nil,
                targetColumnName: String = "target", rowsPerGroup: Int? = nil, progress: (@Sendable (BuildProgress) -> Void)? = nil) {
        self.codec = codec
        self.columnCodecs = columnCodecs
        self.workers = workers
        self.onError = onError
        self.force = force
        self.dataColumnNames = dataColumnNames
        self.targetColumnName = targetColumnName
        self.rowsPerGroup = rowsPerGroup
        self.progress = progress
    }
}

/// A build's progress, reported after each row group.
public struct BuildProgress: Sendable, Hashable {
    /// Records handled so far (written or skipped), including those of a resumed earlier run.
    public var recordsDone: Int
    /// Records in the inventory.
    public var recordsTotal: Int
    /// Records skipped so far.
    public var recordsSkipped: Int
    /// Uncompressed bytes written so far.
    public var bytesIn: UInt64
    /// Stored bytes written so far.
    public var bytesOut: UInt64
    /// Seconds since this run started.
    public var elapsedSeconds: Double
    /// Records encoded per second in this run.
    public var recordsPerSecond: Double
    /// Uncompressed bytes encoded per second in this run.
    public var bytesPerSecond: Double
    /// Estimated seconds left, once a rate is known.
    public var etaSeconds: Double?

    /// The fraction done, from 0 to 1.
    public var fraction: Double { recordsTotal == 0 ? 1 : Double(recordsDone) / Double(recordsTotal) }
}

/// What a build did.
public struct CacheBuildReport: Sendable {
    /// The cache file.
    public let path: String
    /// Whether nothing was built because the existing cache already matched the inputs.
    public let upToDate: Bool
    /// Rows in the cache.
    public let rowCount: Int
    /// Records left out, with their causes.
    public let skipped: [SkippedRecord]
    /// Bytes and records in and out.
    public let statistics: CacheStatistics
    /// The cache's fingerprint.
    public let fingerprint: CacheFingerprint
    /// Records taken over from an interrupted earlier build instead of being encoded again.
    public let resumedRecords: Int
    /// Seconds this run took.
    public let elapsedSeconds: Double
}
