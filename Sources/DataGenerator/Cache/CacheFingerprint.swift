/// What a cache was built from: a SHA-256 over the inventory rows, the encoders' identities and the
/// schema, with the three component hashes kept so that a mismatch can say what differs.
///
/// All four values are lowercase hex SHA-256 digests; docs/FORMAT.md gives the exact bytes hashed.
public struct CacheFingerprint: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The combined fingerprint: SHA-256 of a tag and the three component digests.
    public let value: String
    /// SHA-256 of the inventory's column names, id column and every row's values, in order.
    public let rows: String
    /// SHA-256 of every column's encoder identity, in column order.
    public let encoders: String
    /// SHA-256 of every column's name, role, dtype, shape and variable-length flag.
    public let schema: String

    /// The fingerprint of a cache of these columns built from inputs whose digest is `rowsDigest`
    /// (the caller's own SHA-256 of its inputs, lowercase hex: for a data set, of the inventory's
    /// rows): the encoders' and the schema's digests are taken from `columns`.
    public init(rowsDigest: String, columns: [ColumnPlan]) {
        self.init(rows: rowsDigest,
                  encoders: Self.encodersDigest(columns.map(\.encoderIdentity)),
                  schema: Self.schemaDigest(columns.map { ($0.name, $0.role, $0.spec) }))
    }

    init(rows: String, encoders: String, schema: String) {
        self.rows = rows
        self.encoders = encoders
        self.schema = schema
        var hasher = SHA256Hasher()
        hasher.update(field: "datagen-fingerprint-v1")
        hasher.update(field: rows)
        hasher.update(field: encoders)
        hasher.update(field: schema)
        value = hasher.hexDigest()
    }

    /// What differs between `self` (a cache's) and `expected`, in words; empty when they match.
    func differences(from expected: CacheFingerprint) -> [String] {
        var found = [String]()
        if rows != expected.rows { found.append("the inventory rows differ") }
        if encoders != expected.encoders { found.append("the encoders differ") }
        if schema != expected.schema { found.append("the schema differs (column names, dtypes or shapes)") }
        if found.isEmpty && value != expected.value { found.append("the fingerprint differs") }
        return found
    }

    public var description: String { value }

    static func encodersDigest(_ identities: [String]) -> String {
        var hasher = SHA256Hasher()
        hasher.update(field: "datagen-encoders-v1")
        hasher.update(UInt64(identities.count))
        for identity in identities { hasher.update(field: identity) }
        return hasher.hexDigest()
    }

    static func schemaDigest(_ columns: [(name: String, role: CacheColumnRole, spec: ArraySpec)]) -> String {
        var hasher = SHA256Hasher()
        hasher.update(field: "datagen-schema-v1")
        hasher.update(UInt64(columns.count))
        for column in columns {
            hasher.update(field: column.name)
            hasher.update(field: column.role.rawValue)
            hasher.update(field: column.spec.dtype.rawValue)
            hasher.update(UInt64(column.spec.isVariableLength ? 1 : 0))
            hasher.update(UInt64(column.spec.shape.count))
            for dimension in column.spec.shape { hasher.update(UInt64(dimension)) }
            if let rowShape = column.spec.rowShape {
                // Variable-shape columns only (version 2 files), so other schemas keep their digests.
                hasher.update(field: "rowShape")
                hasher.update(UInt64(rowShape.count))
                for dimension in rowShape { hasher.update(UInt64(bitPattern: Int64(dimension))) }
            }
        }
        return hasher.hexDigest()
    }
}
