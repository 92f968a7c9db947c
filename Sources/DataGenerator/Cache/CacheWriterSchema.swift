/// What a ``CacheWriter`` writes: the columns, the fingerprint and the build's shape, all given by
/// its caller (the writer knows nothing of data sets or encoders).
public struct CacheWriterSchema: Sendable {
    /// The columns, in order: the data columns, then the target column.
    public var columns: [ColumnPlan]
    /// What the cache is built from; it names the build in the journal and goes in the metadata.
    public var fingerprint: CacheFingerprint
    /// Records in the whole input (rows of the cache plus skipped records).
    public var recordCount: Int
    /// Records per row group: every group holds this many, the last one the rest.
    public var rowsPerGroup: Int
    /// The policy the groups were encoded under (part of what names the build in the journal).
    public var onError: RecordErrorPolicy
    /// The data column whose groups carry a source stamp per kept row, if any.
    public var sourceColumn: String?

    /// A schema; see each property.
    public init(columns: [ColumnPlan], fingerprint: CacheFingerprint, recordCount: Int, rowsPerGroup: Int,
                onError: RecordErrorPolicy = .fail, sourceColumn: String? = nil) {
        self.columns = columns
        self.fingerprint = fingerprint
        self.recordCount = recordCount
        self.rowsPerGroup = rowsPerGroup
        self.onError = onError
        self.sourceColumn = sourceColumn
    }

    /// Rows per group when the caller has no reason to choose: up to 1024, fewer for wide rows
    /// (about 16 MiB of fixed-size data a group); 32 with a variable-shape column (images: a
    /// decoded 500 × 375 photo is 560 KB, so a group stays near 16 MiB and each build worker's
    /// memory bounded).
    public static func defaultRowsPerGroup(_ columns: [ColumnPlan]) -> Int {
        if columns.contains(where: { $0.spec.isVariableShape }) { return imageRowsPerGroup }
        let rowBytes = columns.reduce(0) { $0 + ($1.spec.isVariableLength ? 0 : $1.rowBytes) }
        return max(1, min(1024, (16 << 20) / max(1, rowBytes)))
    }

    /// Rows per group of a cache with a variable-shape column.
    public static let imageRowsPerGroup = 32

    /// The number of row groups.
    public var groupCount: Int { (recordCount + rowsPerGroup - 1) / rowsPerGroup }

    /// The rows of group `index`.
    public func rows(ofGroup index: Int) -> Range<Int> {
        (index * rowsPerGroup)..<min(recordCount, (index + 1) * rowsPerGroup)
    }

    /// Names the build in the journal: what changes the bytes written.
    var buildKey: String {
        var hasher = SHA256Hasher()
        hasher.update(field: "datagen-build-v\(CacheFormat.version)")
        hasher.update(field: fingerprint.value)
        for plan in columns {
            hasher.update(field: plan.name)
            hasher.update(field: plan.codec.rawValue)
        }
        hasher.update(field: onError.rawValue)
        hasher.update(UInt64(rowsPerGroup))
        return hasher.hexDigest()
    }

    /// Checks what the writer relies on.
    func validate() throws(CacheError) {
        guard !columns.isEmpty else { throw .invalidOption("a cache needs at least one column") }
        var seen = Set<String>()
        for column in columns {
            guard !column.name.isEmpty, seen.insert(column.name).inserted else {
                throw .invalidOption("column name '\(column.name)' is empty or used twice")
            }
            guard column.spec.shape.allSatisfy({ $0 >= 0 }) else {
                throw .invalidOption("column '\(column.name)' has a negative dimension in \(column.spec)")
            }
        }
        guard recordCount >= 0 else { throw .invalidOption("the record count \(recordCount) is negative") }
        guard rowsPerGroup >= 1 else { throw .invalidOption("rows per group must be at least 1, not \(rowsPerGroup)") }
        if let sourceColumn, !columns.contains(where: { $0.name == sourceColumn && $0.role == .data }) {
            throw .invalidOption("the source column '\(sourceColumn)' is not a data column")
        }
    }
}
