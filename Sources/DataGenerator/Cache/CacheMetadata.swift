internal import FoundationEssentials

/// The metadata document at the end of a cache's index section (JSON, UTF-8, keys sorted).
struct CacheMetadata: Codable, Sendable, Equatable {
    var formatVersion: UInt32
    var rowCount: Int
    var columns: [ColumnMetadata]
    /// The row ids (absent when the inventory has no id column).
    var ids: IDTables?
    /// The target encoder's label classes, when it has some.
    var classes: [String]?
    var statistics: CacheStatistics
    var skipped: [SkippedRecord]
    var fingerprint: CacheFingerprint
    /// Size and modification time of each row's source file (when a data encoder reads files).
    var sources: SourceTables?

    /// The document's bytes: JSON with sorted keys, so the same metadata always gives the same bytes.
    func encoded() throws(CacheError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(self)) } catch {
            throw .invalidOption("cannot encode the cache metadata: \(error)")
        }
    }

    /// Parses a metadata document.
    /// - Throws: ``CacheError/corrupt(path:column:row:reason:)`` for anything but a valid document.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(CacheError) -> CacheMetadata {
        do {
            return try JSONDecoder().decode(CacheMetadata.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path, column: nil, row: nil, reason: "the metadata document is not valid: \(error)")
        }
    }
}

/// One column's entry in the metadata.
struct ColumnMetadata: Codable, Sendable, Equatable {
    var name: String
    var role: CacheColumnRole
    /// Identity of the encoder that produced the column.
    var encoder: String
    var dtype: DType
    /// The row shape (fixed column) or the trailing shape (variable-length column).
    var shape: [Int]
    var variableLength: Bool
    var codec: CacheCodec
    /// `row` (unit i holds row i) or `packed` (units of several rows, located by `unitFirstRows`).
    var layout: UnitLayout
    var unitCount: Int
    var rawBytes: UInt64
    var storedBytes: UInt64
    /// The unit table: `unitCount` entries of 24 bytes.
    var units: TableLocation
    /// First row of each unit (u64 × `unitCount`), for the packed layout.
    var unitFirstRows: TableLocation?
    /// Byte offset of each row in the column's uncompressed stream (u64 × rows + 1), for
    /// variable-length columns.
    var rowOffsets: TableLocation?
    /// Variable-shape columns (format version 2): each row's dimensions, -1 where they vary.
    var rowShape: [Int]? = nil
    /// Variable-shape columns: each row's shape, u64 × `rowShape.count` per row, in row order.
    var rowShapes: TableLocation? = nil
    /// JPEG-encoded columns only (format version 3): `jpeg`; absent for every other column.
    var encoding: CacheColumnEncoding? = nil

    var spec: ArraySpec {
        var spec = ArraySpec(dtype, shape)
        spec.isVariableLength = variableLength
        spec.rowShape = rowShape
        return spec
    }
}

/// How a column's rows map to units.
enum UnitLayout: String, Codable, Sendable {
    /// Unit `i` holds exactly row `i`.
    case row
    /// Each unit holds consecutive rows; a table gives each unit's first row.
    case packed
}

/// Where a binary table lies: `offset` bytes after the index section's start, `count` entries (or
/// bytes, for byte blobs), and the CRC-32 of its bytes.
struct TableLocation: Codable, Sendable, Equatable {
    var offset: UInt64
    var count: Int
    var crc32: UInt32
}

/// The source stamps: the column whose encoder read the files, and a table of `rowCount` entries of
/// 16 bytes (u64 size, all ones when unknown; i64 modification time in nanoseconds).
struct SourceTables: Codable, Sendable, Equatable {
    var column: String
    var stamps: TableLocation
}

/// The ids tables: u64 × (rows + 1) offsets into a UTF-8 blob.
struct IDTables: Codable, Sendable, Equatable {
    var offsets: TableLocation
    var text: TableLocation
}
