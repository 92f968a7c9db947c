/// Encodes the records of one row group into every column and compresses the units: the work each
/// builder thread does (the units are packed and compressed here, on the worker, not by the
/// writer). The result depends only on the records, never on timing or thread.
struct CacheGroupEncoder: Sendable {
    let dataSet: GeneratorDataSet
    let columns: [ColumnPlan]
    let policy: RecordErrorPolicy

    /// The rows of each column for some records: one flat byte array and each record's byte range
    /// (`nil` for a record that failed, with its error in `failures`), or, when encoded one
    /// record at a time, each record's own bytes.
    private struct ColumnRows {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>?] = []
        /// Encoded one record at a time: each record's bytes (`nil` for a record that failed).
        var records: [[UInt8]?]? = nil
        /// Variable-shape columns: each record's shape (`nil` for a record that failed).
        var shapes: [[Int]?] = []
    }

    func encode(group index: Int, rows: Range<Int>) throws(CacheError) -> EncodedGroup {
        let records = rows.map { dataSet.inventory[$0] }
        var failures = [Int: String]()  // position in group → first error
        var encoded = [ColumnRows]()
        for column in columns {
            encoded.append(encode(column: column, records: records, failures: &failures))
        }
        var skipped = [SkippedRecord]()
        for position in failures.keys.sorted() {
            let record = records[position]
            if policy == .fail {
                throw .recordFailed(row: record.row, id: record.id, path: location(of: record),
                                    reason: failures[position]!, line: record.line)
            }
            skipped.append(SkippedRecord(row: record.row, id: record.id, reason: storedReason(failures[position]!)))
        }
        let kept = records.indices.filter { failures[$0] == nil }
        let parts = zip(columns, encoded).map { column, rows in
            var part = rows.records.map { records in
                EncodedColumnPart(packing: column, rowArrays: kept.map { records[$0]! })
            } ?? rows.bytes.withUnsafeBytes { bytes in
                EncodedColumnPart(packing: column, rows: kept.map { rows.ranges[$0]! }, in: bytes)
            }
            if column.spec.isVariableShape {
                part.rowShapes = kept.flatMap { rows.shapes[$0]!.map { UInt64($0) } }
            }
            return part
        }
        let sources = sourceLocator.map { locator in
            kept.map { SourceStamp.of(try? locator.location(of: records[$0])) }
        } ?? []
        return EncodedGroup(index: index, rows: rows, skipped: skipped, columns: parts, sources: sources)
    }

    /// The first data encoder that reads a file or URL per record: its sources are stamped.
    var sourceLocator: (any ResourceLocating)? {
        dataSet.dataEncoders.lazy.compactMap { $0 as? any ResourceLocating }.first
    }

    /// The file or URL of a record, when a data encoder reads one.
    private func location(of record: Record) -> String? {
        for encoder in dataSet.dataEncoders {
            if let locator = encoder as? any ResourceLocating, let path = try? locator.location(of: record) {
                return path
            }
        }
        return nil
    }

    /// A skipped record's reason as the cache stores it: with the data directories' paths cut
    /// to the record's path below them, so that the file holds no path of the machine and the
    /// same inputs give the same bytes wherever the data lie (an absolute id stays as given).
    private func storedReason(_ reason: String) -> String {
        var reason = reason
        for case let encoder as FileDataEncoder in dataSet.dataEncoders where !encoder.directory.isEmpty {
            let prefix = encoder.directory.hasSuffix("/") ? encoder.directory : encoder.directory + "/"
            reason = reason.replacing(prefix, with: "")
        }
        return reason
    }

    private func encode(column: ColumnPlan, records: [Record], failures: inout [Int: String]) -> ColumnRows {
        let rowBytes = column.rowBytes
        var result = ColumnRows()
        if !column.spec.isVariableLength, let whole = try? encodeFixed(column: column, records: records) {
            result.bytes = whole.bytes
            result.ranges = records.indices.map { ($0 * rowBytes)..<(($0 + 1) * rowBytes) }
            return result
        }
        // One record at a time: variable lengths, or finding which records of a failed batch fail.
        // The records' bytes are kept as they are and packed from there, never copied into one
        // buffer (a copy of every pixel of a group of images, into fresh pages).
        var recordBytes = [[UInt8]?]()
        recordBytes.reserveCapacity(records.count)
        for (position, record) in records.enumerated() {
            do {
                if column.encoding == .jpeg {
                    let stored = try encodeJPEG(column: column, record: record)
                    recordBytes.append(stored.bytes)
                    result.shapes.append(stored.shape)
                    continue
                }
                let array = column.spec.isVariableShape
                    ? try encodeShaped(column: column, record: record)
                    : column.spec.isVariableLength
                    ? try encodeVariable(column: column, record: record)
                    : try encodeFixed(column: column, records: [record])
                recordBytes.append(array.bytes)
                result.shapes.append(array.shape)
            } catch {
                recordBytes.append(nil)
                result.shapes.append(nil)
                if failures[position] == nil { failures[position] = String(describing: error) }
            }
        }
        result.records = recordBytes
        return result
    }

    /// A fixed column's array for `records`: `[records.count] + spec.shape`.
    private func encodeFixed(column: ColumnPlan, records: [Record]) throws -> NDArray {
        let array: NDArray
        switch column.role {
        case .data:
            let encoder = dataSet.dataEncoders[columns.firstIndex(of: column)!]
            array = try GeneratorDataSet.encode(records, with: encoder)
        case .target:
            array = try dataSet.targetEncoder!.encodeBatch(records)
        }
        guard array.dtype == column.spec.dtype, array.shape == [records.count] + column.spec.shape else {
            throw EncodingError.unexpectedOutput(encoder: column.encoderIdentity, row: records.first?.row ?? 0,
                                                 id: records.first?.id, expected: column.spec, found: array.spec)
        }
        return array
    }

    /// One record's array of a variable-shape column, with its own shape (checked against the spec).
    private func encodeShaped(column: ColumnPlan, record: Record) throws -> NDArray {
        let encoder = dataSet.dataEncoders[columns.firstIndex(of: column)!]
        guard let perRecord = encoder as? any DataEncoder else {
            throw EncodingError.failed(encoder: column.encoderIdentity, row: record.row, id: record.id,
                                       reason: "a variable-shape column needs a per-record encoder", line: record.line)
        }
        let array: NDArray
        do { array = try perRecord.encode(record) } catch let error as EncodingError {
            throw error.withLine(from: record.inventory)
        }
        guard column.spec.accepts(array) else {
            throw EncodingError.unexpectedOutput(encoder: column.encoderIdentity, row: record.row, id: record.id,
                                                 expected: column.spec, found: array.spec, line: record.line)
        }
        return array
    }

    /// One record's array of a variable-length column: `[length] + spec.shape`.
    private func encodeVariable(column: ColumnPlan, record: Record) throws -> NDArray {
        let encoder = dataSet.dataEncoders[columns.firstIndex(of: column)!]
        let array = try GeneratorDataSet.encode([record], with: encoder)
        guard array.dtype == column.spec.dtype, array.rank == column.spec.shape.count + 2, array.shape[0] == 1,
              Array(array.shape.dropFirst(2)) == column.spec.shape else {
            throw EncodingError.unexpectedOutput(encoder: column.encoderIdentity, row: record.row, id: record.id,
                                                 expected: column.spec, found: array.spec)
        }
        return array
    }
}
