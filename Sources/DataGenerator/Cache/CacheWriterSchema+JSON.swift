internal import FoundationEssentials

/// The JSON forms a writer's caller outside Swift (the C API) gives: the schema and the skipped
/// records of a group. docs/FORMAT.md ("Writing a cache through the C API") describes them.
extension CacheWriterSchema {
    /// The schema a JSON document describes, with the caller's digest of its inputs.
    ///
    /// ```json
    /// {"columns": [{"name": "data", "dtype": "float32", "shape": [28, 28], "encoder": "digits@1"},
    ///              {"name": "target", "role": "target", "dtype": "int64", "shape": [], "encoder": "label@1"}],
    ///  "records": 60000, "rows_per_group": 1024, "codec": "lz4", "on_error": "fail"}
    /// ```
    /// - Parameter rowsDigest: the caller's SHA-256 (lowercase hex) of its inputs: the fingerprint
    ///   is made of it and of the columns' encoder identities and specs.
    /// - Throws: ``CacheError/invalidOption(_:)`` naming what is wrong.
    public init(json: String, rowsDigest: String) throws(CacheError) {
        let document: SchemaDocument
        do {
            document = try JSONDecoder().decode(SchemaDocument.self, from: Data(json.utf8))
        } catch {
            throw .invalidOption("the writer's schema is not valid JSON of the documented form: \(error)")
        }
        guard !rowsDigest.isEmpty else { throw .invalidOption("the writer's fingerprint (rows digest) is empty") }
        var columns = [ColumnPlan]()
        for column in document.columns {
            guard let dtype = DType(rawValue: column.dtype) else {
                throw .invalidOption("column '\(column.name)': unknown dtype '\(column.dtype)' (use one of \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let role = CacheColumnRole(rawValue: column.role ?? "data") else {
                throw .invalidOption("column '\(column.name)': unknown role '\(column.role ?? "")' (use data or target)")
            }
            guard let codec = CacheCodec(rawValue: column.codec ?? document.codec ?? "lz4") else {
                throw .invalidOption("column '\(column.name)': unknown codec '\(column.codec ?? document.codec ?? "")' (use lz4, lz4hc or none)")
            }
            var spec = ArraySpec(dtype, column.shape)
            spec.isVariableLength = column.variableLength ?? false
            guard role == .data || !spec.isVariableLength else {
                throw .invalidOption("column '\(column.name)': a target column cannot be variable-length")
            }
            columns.append(ColumnPlan(name: column.name, role: role, spec: spec, codec: codec,
                                      encoderIdentity: column.encoder))
        }
        guard let onError = RecordErrorPolicy(rawValue: document.onError ?? "fail") else {
            throw .invalidOption("unknown on_error '\(document.onError ?? "")' (use fail or skip)")
        }
        self.init(columns: columns, fingerprint: CacheFingerprint(rowsDigest: rowsDigest, columns: columns),
                  recordCount: document.records,
                  rowsPerGroup: document.rowsPerGroup ?? Self.defaultRowsPerGroup(columns), onError: onError)
        try validate()
    }

    /// The label classes a JSON array of strings lists.
    /// - Throws: ``CacheError/invalidOption(_:)``.
    public static func classes(json: String) throws(CacheError) -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(json.utf8))
        } catch {
            throw .invalidOption("the classes are not a JSON array of strings: \(error)")
        }
    }

    private struct SchemaDocument: Decodable {
        struct Column: Decodable {
            var name: String
            var role: String?
            var dtype: String
            var shape: [Int]
            var variableLength: Bool?
            var codec: String?
            var encoder: String

            enum CodingKeys: String, CodingKey {
                case name, role, dtype, shape, codec, encoder
                case variableLength = "variable_length"
            }
        }

        var columns: [Column]
        var records: Int
        var rowsPerGroup: Int?
        var codec: String?
        var onError: String?

        enum CodingKeys: String, CodingKey {
            case columns, records, codec
            case rowsPerGroup = "rows_per_group"
            case onError = "on_error"
        }
    }
}

extension SkippedRecord {
    /// The skipped records a JSON array lists: `[{"row": 7, "id": "r7", "reason": "…"}]` (`id`
    /// may be absent or null).
    /// - Throws: ``CacheError/invalidOption(_:)``.
    public static func list(json: String) throws(CacheError) -> [SkippedRecord] {
        struct Entry: Decodable {
            var row: Int
            var id: String?
            var reason: String
        }
        do {
            return try JSONDecoder().decode([Entry].self, from: Data(json.utf8)).map {
                SkippedRecord(row: $0.row, id: $0.id, reason: $0.reason)
            }
        } catch {
            throw .invalidOption("the skipped records are not a JSON array of {row, id, reason}: \(error)")
        }
    }
}

extension EncodedColumnPart {
    /// The kept rows of `column` from a caller's buffer: for a fixed column `rowCount` rows of
    /// ``ColumnPlan/rowBytes`` bytes each; for a variable-length column the rows one after
    /// another, `lengths` giving each row's length along its first axis. Packed and compressed
    /// as ``init(packing:rows:in:)`` does.
    /// - Throws: ``CacheError/invalidOption(_:)`` when the buffer's size or the lengths do not
    ///   fit the column and the row count.
    public init(column: ColumnPlan, bytes: UnsafeRawBufferPointer, lengths: [Int]?, rowCount: Int) throws(CacheError) {
        let step = column.rowBytes
        var rows = [Range<Int>]()
        rows.reserveCapacity(rowCount)
        if column.spec.isVariableLength {
            guard let lengths, lengths.count == rowCount else {
                throw .invalidOption("column '\(column.name)' is variable-length: give \(rowCount) row lengths, not \(lengths?.count ?? 0)")
            }
            var offset = 0
            for (row, length) in lengths.enumerated() {
                let (size, overflow) = length.multipliedReportingOverflow(by: step)
                guard length >= 0, !overflow, size <= bytes.count - offset else {
                    throw .invalidOption("column '\(column.name)': row \(row)'s length \(length) is negative or runs past the buffer of \(bytes.count) bytes")
                }
                rows.append(offset..<(offset + size))
                offset += size
            }
            guard offset == bytes.count else {
                throw .invalidOption("column '\(column.name)': the row lengths cover \(offset) bytes of a buffer of \(bytes.count)")
            }
        } else {
            guard lengths == nil else { throw .invalidOption("column '\(column.name)' has a fixed shape: give no row lengths") }
            let (size, overflow) = rowCount.multipliedReportingOverflow(by: step)
            guard !overflow, size == bytes.count else {
                throw .invalidOption("column '\(column.name)': \(rowCount) rows of \(column.spec) take \(rowCount) × \(step) bytes, the buffer holds \(bytes.count)")
            }
            rows = (0..<rowCount).map { ($0 * step)..<(($0 + 1) * step) }
        }
        self.init(packing: column, rows: rows, in: bytes)
    }
}
