/// A unit's entry in a column's unit table.
struct UnitEntry: Sendable, Equatable {
    /// Absolute file offset of the stored bytes.
    var offset: UInt64
    /// Stored length.
    var length: UInt64
    /// CRC-32 of the stored bytes.
    var crc: UInt32
    /// Flags (bit 0: stored raw).
    var flags: UInt32
}

/// What one written row group added to the file: the journal's record, replayed on resume.
struct GroupSummary: Sendable, Equatable {
    struct Column: Sendable, Equatable {
        var units: [UnitEntry]
        var unitRowCounts: [Int]
        var rowLengths: [UInt64]
        var rawBytes: UInt64
        /// Variable-shape columns: the kept rows' dimensions (rank per row).
        var rowShapes: [UInt64] = []
    }

    var index: Int
    var rows: Range<Int>
    var skipped: [SkippedRecord]
    /// The data section's end after this group (the partial file is cut back here on resume).
    var dataEnd: UInt64
    var columns: [Column]
    var sources: [SourceStamp]

    /// The journal bytes of this summary.
    func serialized() -> [UInt8] {
        var writer = ByteWriter()
        writer.append(UInt64(index))
        writer.append(UInt64(rows.lowerBound))
        writer.append(UInt64(rows.upperBound))
        writer.append(dataEnd)
        writer.append(UInt64(skipped.count))
        for record in skipped {
            writer.append(UInt64(record.row))
            writer.append(UInt64(record.id == nil ? 0 : 1))
            writer.append(string: record.id ?? "")
            writer.append(string: record.reason)
        }
        writer.append(UInt64(columns.count))
        for column in columns {
            writer.append(column.rawBytes)
            writer.append(UInt64(column.units.count))
            for (unit, rows) in zip(column.units, column.unitRowCounts) {
                writer.append(unit.offset)
                writer.append(unit.length)
                writer.append(unit.crc)
                writer.append(unit.flags)
                writer.append(UInt64(rows))
            }
            writer.append(UInt64(column.rowLengths.count))
            for length in column.rowLengths { writer.append(length) }
        }
        writer.append(UInt64(sources.count))
        for stamp in sources {
            writer.append(stamp.storedSize)
            writer.append(UInt64(bitPattern: stamp.modified))
        }
        // Row shapes follow only when a column has some, so that journals of caches without
        // images keep their bytes.
        if columns.contains(where: { !$0.rowShapes.isEmpty }) {
            for column in columns {
                writer.append(UInt64(column.rowShapes.count))
                for dimension in column.rowShapes { writer.append(dimension) }
            }
        }
        return writer.bytes
    }

    /// Parses journal bytes; `nil` when they do not form a summary.
    init?(serialized bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        // Every number is range-checked before it becomes an Int or enters arithmetic: a record
        // carries a CRC, but a crafted or buggy one must be refused, never trap.
        guard let index = reader.u64(), index <= UInt64(CacheFormat.maxRows), let start = reader.u64(),
              let end = reader.u64(), start <= end,
              end <= UInt64(CacheFormat.maxRows), let dataEnd = reader.u64(), dataEnd <= UInt64(Int64.max),
              let skippedCount = reader.count(minimumSize: 32) else { return nil }
        var skipped = [SkippedRecord]()
        for _ in 0..<skippedCount {
            guard let row = reader.u64(), row <= UInt64(CacheFormat.maxRows), let hasID = reader.u64(),
                  let id = reader.string(), let reason = reader.string() else { return nil }
            skipped.append(SkippedRecord(row: Int(row), id: hasID == 1 ? id : nil, reason: reason))
        }
        guard let columnCount = reader.count(minimumSize: 24) else { return nil }
        var columns = [Column]()
        for _ in 0..<columnCount {
            guard let rawBytes = reader.u64(), let unitCount = reader.count(minimumSize: 32) else { return nil }
            var column = Column(units: [], unitRowCounts: [], rowLengths: [], rawBytes: rawBytes)
            for _ in 0..<unitCount {
                guard let offset = reader.u64(), let length = reader.u64(), let crc = reader.u32(),
                      let flags = reader.u32(), let rows = reader.u64(), rows <= end - start else { return nil }
                column.units.append(UnitEntry(offset: offset, length: length, crc: crc, flags: flags))
                column.unitRowCounts.append(Int(rows))
            }
            guard let lengthCount = reader.count(minimumSize: 8) else { return nil }
            for _ in 0..<lengthCount {
                guard let length = reader.u64() else { return nil }
                column.rowLengths.append(length)
            }
            columns.append(column)
        }
        guard let stampCount = reader.count(minimumSize: 16) else { return nil }
        var sources = [SourceStamp]()
        for _ in 0..<stampCount {
            guard let size = reader.u64(), let modified = reader.u64() else { return nil }
            sources.append(SourceStamp(storedSize: size, modified: modified))
        }
        if !reader.isAtEnd {
            for index in columns.indices {
                guard let shapeCount = reader.count(minimumSize: 8) else { return nil }
                for _ in 0..<shapeCount {
                    guard let dimension = reader.u64(), dimension <= 1 << 40 else { return nil }
                    columns[index].rowShapes.append(dimension)
                }
            }
        }
        guard reader.isAtEnd else { return nil }
        self.init(index: Int(index), rows: Int(start)..<Int(end), skipped: skipped, dataEnd: dataEnd,
                  columns: columns, sources: sources)
    }

    init(index: Int, rows: Range<Int>, skipped: [SkippedRecord], dataEnd: UInt64, columns: [Column],
         sources: [SourceStamp]) {
        self.index = index
        self.rows = rows
        self.skipped = skipped
        self.dataEnd = dataEnd
        self.columns = columns
        self.sources = sources
    }
}

/// Everything the builder accumulates for the index: unit tables, row tables, skipped records
/// and statistics. Filled group by group, from fresh groups or from a journal being replayed.
struct CacheBuildState {
    struct Column {
        var units: [UnitEntry] = []
        var unitFirstRows: [UInt64] = []
        /// Variable-length columns: byte offset of each row in the uncompressed stream, plus the end.
        var rowOffsets: [UInt64] = [0]
        /// Variable-shape columns: every row's dimensions, in row order.
        var rowShapes: [UInt64] = []
        var rawBytes: UInt64 = 0
        var storedBytes: UInt64 = 0
    }

    var columns: [Column]
    var groupsDone = 0
    var rowsDone = 0
    var rowCount = 0
    var skipped: [SkippedRecord] = []
    var sources: [SourceStamp] = []
    var dataEnd = UInt64(CacheFormat.headerSize)

    init(columnCount: Int) {
        columns = Array(repeating: Column(), count: columnCount)
    }

    /// Whether `summary` follows on from the state and fits the plan (checked on resume): its
    /// units lie in order, aligned, within its data end, each with valid flags and at least one
    /// row (none under a fixed row group's count), and the row counts add up.
    func accepts(_ summary: GroupSummary, plans: [ColumnPlan], groupRows: Int, total: Int, stamped: Bool) -> Bool {
        guard summary.index == groupsDone, summary.rows.lowerBound == rowsDone,
              summary.rows.upperBound == min(total, rowsDone + groupRows),
              summary.columns.count == plans.count, summary.dataEnd >= dataEnd else { return false }
        let kept = summary.rows.count - summary.skipped.count
        guard kept >= 0, summary.skipped.allSatisfy({ summary.rows.contains($0.row) }),
              summary.sources.count == (stamped ? kept : 0) else { return false }
        var end = dataEnd
        for (column, plan) in zip(summary.columns, plans) {
            // Each unit holds 1...kept rows and together exactly kept (summed with an early stop,
            // so never past 2 × kept); every flag is one the format knows.
            var rowsInUnits = 0
            for rows in column.unitRowCounts {
                guard rows >= 1, rows <= kept else { return false }
                rowsInUnits += rows
                if rowsInUnits > kept { return false }
            }
            guard rowsInUnits == kept, column.units.allSatisfy({ $0.flags & ~CacheFormat.flagStoredRaw == 0 }),
                  column.rowLengths.count == (plan.spec.isVariableLength ? kept : 0) else { return false }
            // The raw bytes agree with the rows: their lengths, or kept fixed rows.
            if plan.spec.isVariableLength {
                var lengths: UInt64 = 0
                for length in column.rowLengths {
                    let (sum, overflow) = lengths.addingReportingOverflow(length)
                    guard !overflow else { return false }
                    lengths = sum
                }
                guard lengths == column.rawBytes else { return false }
                if let rowShape = plan.spec.rowShape {
                    // rank dimensions per kept row, matching the fixed ones and the row's bytes.
                    guard column.rowShapes.count == kept * rowShape.count else { return false }
                    for (row, length) in column.rowLengths.enumerated() {
                        var bytes = UInt64(plan.spec.dtype.byteWidth)
                        for (axis, fixed) in rowShape.enumerated() {
                            let dimension = column.rowShapes[row * rowShape.count + axis]
                            guard fixed < 0 || dimension == UInt64(fixed) else { return false }
                            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
                            guard !overflow else { return false }
                            bytes = product
                        }
                        guard bytes == length || plan.encoding == .jpeg else { return false }  // a JPEG's bytes are its file's
                    }
                } else if !column.rowShapes.isEmpty {
                    return false
                }
            } else {
                let (raw, overflow) = kept.multipliedReportingOverflow(by: plan.rowBytes)
                guard !overflow, UInt64(raw) == column.rawBytes else { return false }
            }
            for unit in column.units {
                // end <= dataEnd <= Int64.max here, so aligning it cannot overflow.
                guard end <= summary.dataEnd, unit.offset >= CacheFormat.aligned(end), unit.length <= summary.dataEnd,
                      unit.offset <= summary.dataEnd - unit.length else { return false }
                end = unit.offset + unit.length
            }
        }
        return end <= summary.dataEnd
    }

    /// Adds a written group.
    mutating func apply(_ summary: GroupSummary) {
        for (index, part) in summary.columns.enumerated() {
            var firstRow = UInt64(rowCount)
            for (unit, rows) in zip(part.units, part.unitRowCounts) {
                columns[index].units.append(unit)
                columns[index].unitFirstRows.append(firstRow)
                columns[index].storedBytes += unit.length
                firstRow += UInt64(rows)
            }
            for length in part.rowLengths {
                columns[index].rowOffsets.append(columns[index].rowOffsets.last! + length)
            }
            columns[index].rowShapes.append(contentsOf: part.rowShapes)
            columns[index].rawBytes += part.rawBytes
        }
        rowCount += summary.rows.count - summary.skipped.count
        skipped.append(contentsOf: summary.skipped)
        sources.append(contentsOf: summary.sources)
        rowsDone = summary.rows.upperBound
        groupsDone += 1
        dataEnd = summary.dataEnd
    }
}
