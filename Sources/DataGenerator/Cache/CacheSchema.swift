/// How a column's units are compressed.
public enum CacheCodec: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Raw bytes: rows are served straight from the mapping with no decompression.
    case none
    /// LZ4 block compression (`LZ4_compress_default`, acceleration 1): the default.
    case lz4
    /// LZ4HC at level 9: a slower build and a better ratio; reads as fast as ``lz4``.
    case lz4hc

    public var description: String { rawValue }

    /// The LZ4 level passed to ``LZ4/compress(_:into:level:)``; `nil` for ``none``.
    var level: Int? {
        switch self {
        case .none: nil
        case .lz4: 1
        case .lz4hc: 9
        }
    }
}

/// What a column holds: the output of a data encoder or the target.
public enum CacheColumnRole: String, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The output of one data encoder (a model input).
    case data
    /// The target encoder's output.
    case target

    public var description: String { rawValue }
}

/// One column of a cache: its name, role, dtype and shape, codec and sizes.
public struct CacheColumn: Sendable, Hashable, CustomStringConvertible {
    /// The column's name (`"data"`, `"data0"`, `"target"`, or the builder's choice).
    public let name: String
    /// Whether the column is an input or the target.
    public let role: CacheColumnRole
    /// The dtype and (for a variable-length column, trailing) shape of one row.
    public let spec: ArraySpec
    /// The codec of its units.
    public let codec: CacheCodec
    /// The identity string of the encoder that produced it.
    public let encoderIdentity: String
    /// The number of stored units.
    public let unitCount: Int
    /// The uncompressed size of all its rows.
    public let rawBytes: UInt64
    /// The stored (compressed) size of all its units.
    public let storedBytes: UInt64
    /// What each row's bytes are: the array, or a JPEG file decoded when served.
    public var encoding: CacheColumnEncoding = .plain

    /// The bytes of one row of a fixed-shape column, or of one step of a variable-length column's
    /// first axis.
    public var rowBytes: Int { spec.elementsPerStep * spec.dtype.byteWidth }

    public var description: String {
        "\(name) (\(role)): \(spec), \(codec), \(unitCount) units, \(rawBytes) → \(storedBytes) bytes"
    }
}

/// A record left out of a cache under the `skip` policy, and why.
public struct SkippedRecord: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The record's row in the inventory the cache was built from.
    public let row: Int
    /// The record's id, when the inventory has an id column.
    public let id: String?
    /// The error that made it fail.
    public let reason: String

    /// A skipped record.
    public init(row: Int, id: String?, reason: String) {
        self.row = row
        self.id = id
        self.reason = reason
    }

    /// The record and the reason, naming the record once: a reason that already starts with the
    /// record's row (an encoder's error names it) is the whole description.
    public var description: String {
        if reason.hasPrefix("row \(row) (") || reason.hasPrefix("row \(row):") { return reason }
        return "row \(row)\(id.map { " (id '\($0)')" } ?? ""): \(reason)"
    }
}

/// The size and modification time a record's source file had when the cache was built.
public struct SourceStamp: Sendable, Hashable {
    /// The file's size in bytes, or `nil` when it could not be examined (a URL, say).
    public let size: Int?
    /// The modification time in nanoseconds since 1970 (0 when `size` is `nil`).
    public let modified: Int64

    /// The stamp of the file at `path` now, or an unknown stamp when it cannot be examined.
    static func of(_ path: String?) -> SourceStamp {
        guard let path, let status = try? FileIO.status(path), !status.isDirectory else {
            return SourceStamp(size: nil, modified: 0)
        }
        return SourceStamp(size: status.size, modified: status.modified)
    }

    init(size: Int?, modified: Int64) {
        self.size = size
        self.modified = modified
    }

    /// The u64 stored for the size: the size, or all ones when unknown.
    var storedSize: UInt64 { size.map { UInt64($0) } ?? .max }

    init(storedSize: UInt64, modified: UInt64) {
        self.init(size: storedSize == .max ? nil : Int(clamping: storedSize), modified: Int64(bitPattern: modified))
    }
}

/// A record whose source file changed since the cache was built.
public struct ChangedSource: Sendable, Hashable, CustomStringConvertible {
    /// The cache row.
    public let row: Int
    /// The row's id, when rows have ids.
    public let id: String?
    /// The file's path.
    public let path: String
    /// What changed: `"missing"`, `"size 10 → 12"`, `"modified"`.
    public let change: String

    public var description: String { "row \(row)\(id.map { " (id '\($0)')" } ?? ""): \(path): \(change)" }
}

/// Deterministic build statistics kept in the file (no times: the same inputs give the same bytes).
public struct CacheStatistics: Sendable, Hashable, Codable {
    /// Records in the inventory.
    public var recordsIn: Int
    /// Records stored (rows of the cache).
    public var recordsWritten: Int
    /// Records left out under the `skip` policy.
    public var recordsSkipped: Int
    /// Uncompressed bytes of every stored row of every column.
    public var bytesIn: UInt64
    /// Stored bytes of every unit (the data section without alignment padding).
    public var bytesOut: UInt64

    /// `bytesIn / bytesOut` (1 when nothing is stored).
    public var compressionRatio: Double { bytesOut == 0 ? 1 : Double(bytesIn) / Double(bytesOut) }
}

/// One column of a cache being written: its name, role, spec, codec and the identity of what
/// produced its rows (the schema a ``CacheWriter`` knows), and how its rows are cut into units.
public struct ColumnPlan: Sendable, Hashable {
    /// The column's name.
    public var name: String
    /// Whether the column is a model input or the target.
    public var role: CacheColumnRole
    /// The dtype and (for a variable-length column, trailing) shape of one row.
    public var spec: ArraySpec
    /// The codec of its units.
    public var codec: CacheCodec
    /// A stable name for what produced the rows (it goes in the fingerprint and the metadata).
    public var encoderIdentity: String
    /// What each row's bytes are: the array (``CacheColumnEncoding/plain``) or a JPEG file.
    public var encoding: CacheColumnEncoding = .plain

    /// A column; see each property.
    public init(name: String, role: CacheColumnRole, spec: ArraySpec, codec: CacheCodec, encoderIdentity: String) {
        self.name = name
        self.role = role
        self.spec = spec
        self.codec = codec
        self.encoderIdentity = encoderIdentity
    }

    /// Bytes of a fixed row, or of one step of a variable row's first axis.
    var rowBytes: Int { spec.elementsPerStep * spec.dtype.byteWidth }

    /// Whether each row gets its own unit (fixed rows of at least 256 bytes).
    var oneRowPerUnit: Bool { !spec.isVariableLength && rowBytes >= CacheFormat.ownUnitThreshold }

    /// The most rows a packed unit of a fixed column holds.
    var rowsPerPackedUnit: Int { max(1, CacheFormat.packedUnitBytes / max(1, rowBytes)) }
}
