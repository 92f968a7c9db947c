/// Checks a cache's metadata against the file and itself when it is opened: every table location
/// lies inside the index section's table area, every count agrees with the row count and the
/// schema, every size is sane. O(columns): no table is read.
struct CacheValidator {
    let file: MappedFile
    let path: String
    let metadata: CacheMetadata
    let indexOffset: UInt64
    let tablesEnd: UInt64
    let trailerVersion: UInt32

    private func corrupt(_ reason: String, column: String? = nil) -> CacheError {
        .corrupt(path: path, column: column, row: nil, reason: reason)
    }

    /// A table of `count` entries of `width` bytes at `location`, checked to lie in the table area.
    private func table(_ location: TableLocation, width: Int, expected: Int?, what: String,
                       column: String?) throws(CacheError) -> MappedTable {
        let area = tablesEnd - indexOffset
        guard location.count >= 0, expected == nil || location.count == expected,
              location.offset % UInt64(CacheFormat.alignment) == 0,
              UInt64(location.count) <= area / UInt64(width),
              location.offset <= area - UInt64(location.count) * UInt64(width),
              let bytes = file.bytes(at: indexOffset + location.offset, count: UInt64(location.count * width)) else {
            throw corrupt("the \(what) (offset \(location.offset), \(location.count) entries) does not fit the index section\(expected.map { " of \($0) entries" } ?? "")", column: column)
        }
        return MappedTable(file: file, bytes: bytes, count: location.count, width: width, crc: location.crc32,
                           offset: indexOffset + location.offset)
    }

    func validate() throws(CacheError) -> (stores: [ColumnStore], idOffsets: MappedTable?, idText: MappedTable?, sources: MappedTable?) {
        guard metadata.formatVersion == trailerVersion else {
            throw corrupt("the metadata's format version \(metadata.formatVersion) differs from the trailer's \(trailerVersion)")
        }
        let rows = metadata.rowCount
        guard rows >= 0, rows <= CacheFormat.maxRows else { throw corrupt("row count \(rows) is out of range") }
        guard !metadata.columns.isEmpty, metadata.columns.count <= CacheFormat.maxColumns else {
            throw corrupt("the cache declares \(metadata.columns.count) columns")
        }
        guard Set(metadata.columns.map(\.name)).count == metadata.columns.count else {
            throw corrupt("column names repeat")
        }
        let statistics = metadata.statistics
        guard statistics.recordsWritten == rows, statistics.recordsSkipped == metadata.skipped.count else {
            throw corrupt("the statistics disagree with the row count or the skipped records")
        }
        let dataRange = UInt64(CacheFormat.headerSize)..<indexOffset
        var stores = [ColumnStore]()
        for column in metadata.columns {
            stores.append(try validate(column, rows: rows, dataRange: dataRange))
        }
        var idOffsets: MappedTable?
        var idText: MappedTable?
        if let ids = metadata.ids {
            idOffsets = try table(ids.offsets, width: 8, expected: rows + 1, what: "id offsets table", column: nil)
            idText = try table(ids.text, width: 1, expected: nil, what: "id text", column: nil)
        }
        var sources: MappedTable?
        if let stamps = metadata.sources {
            guard metadata.columns.contains(where: { $0.name == stamps.column && $0.role == .data }) else {
                throw corrupt("the source stamps name an unknown data column '\(stamps.column)'")
            }
            sources = try table(stamps.stamps, width: 16, expected: rows, what: "source stamps table", column: stamps.column)
        }
        return (stores, idOffsets, idText, sources)
    }

    private func validate(_ column: ColumnMetadata, rows: Int, dataRange: Range<UInt64>) throws(CacheError) -> ColumnStore {
        let name = column.name
        guard !name.isEmpty else { throw corrupt("a column has an empty name") }
        if let rowShape = column.rowShape {
            guard trailerVersion >= CacheFormat.variableShapeVersion else {
                throw corrupt("a variable-shape column in a version \(trailerVersion) file", column: name)
            }
            guard column.variableLength, column.shape.isEmpty, !rowShape.isEmpty, rowShape.count <= 32,
                  rowShape.allSatisfy({ $0 >= -1 && $0 <= 1 << 40 }), column.rowShapes != nil else {
                throw corrupt("a variable-shape column needs variableLength, an empty shape, a rowShape of 1 to 32 dimensions and a row-shape table", column: name)
            }
        } else if column.rowShapes != nil {
            throw corrupt("a row-shape table without a rowShape", column: name)
        }
        try validateEncoding(of: column)
        guard column.shape.allSatisfy({ $0 >= 0 }) else { throw corrupt("shape \(column.shape) is negative", column: name) }
        // Each dimension too, even beside a zero (a row of 0 bytes): the Python reader must be able to shape it.
        guard column.shape.allSatisfy({ $0 <= 1 << 40 }) else { throw corrupt("shape \(column.shape) is too large", column: name) }
        var rowBytes = column.dtype.byteWidth
        for dimension in column.shape {
            let (product, overflow) = rowBytes.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= 1 << 40 else { throw corrupt("shape \(column.shape) is too large", column: name) }
            rowBytes = product
        }
        guard column.unitCount >= 0, column.unitCount <= rows, (rows == 0) == (column.unitCount == 0) else {
            throw corrupt("\(column.unitCount) units for \(rows) rows", column: name)
        }
        guard column.storedBytes <= dataRange.upperBound - dataRange.lowerBound else {
            throw corrupt("\(column.storedBytes) stored bytes exceed the data section", column: name)
        }
        let (expansionBound, expansionOverflow) = column.storedBytes.multipliedReportingOverflow(by: CacheFormat.maxExpansion)
        guard expansionOverflow || column.rawBytes <= expansionBound else {
            throw corrupt("\(column.rawBytes) raw bytes cannot decode from \(column.storedBytes) stored bytes", column: name)
        }
        switch column.layout {
        case .row:
            guard !column.variableLength, column.unitCount == rows, column.unitFirstRows == nil else {
                throw corrupt("the row layout needs a fixed shape and one unit per row", column: name)
            }
        case .packed:
            guard column.unitFirstRows != nil else { throw corrupt("the packed layout needs a first-row table", column: name) }
        }
        if column.variableLength {
            guard column.rowOffsets != nil else { throw corrupt("a variable-length column needs row offsets", column: name) }
        } else {
            let (raw, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
            guard column.rowOffsets == nil, !overflow, UInt64(raw) == column.rawBytes else {
                throw corrupt("\(column.rawBytes) raw bytes do not fit \(rows) rows of \(rowBytes) bytes", column: name)
            }
            // A unit holds at most max(1, 32768 / rowBytes) rows, so the units table (24 bytes a
            // unit, in the file) bounds the row count: a small file cannot declare rows by the
            // trillion (of zero bytes each, say) for a reader to allocate per-row state for.
            let perUnit = max(1, CacheFormat.packedUnitBytes / max(1, rowBytes))
            let (most, tooMany) = column.unitCount.multipliedReportingOverflow(by: perUnit)
            guard tooMany || rows <= most else {
                throw corrupt("\(column.unitCount) units cannot hold \(rows) rows of \(rowBytes) bytes (at most \(perUnit) a unit)", column: name)
            }
        }
        let units = try table(column.units, width: CacheFormat.unitEntrySize, expected: column.unitCount,
                              what: "units table", column: name)
        let firstRows = try column.unitFirstRows.map { (location) throws(CacheError) in
            try table(location, width: 8, expected: column.unitCount, what: "unit first-row table", column: name)
        }
        let rowOffsets = try column.rowOffsets.map { (location) throws(CacheError) in
            try table(location, width: 8, expected: rows + 1, what: "row-offset table", column: name)
        }
        let rowShapes = try column.rowShapes.map { (location) throws(CacheError) in
            try table(location, width: 8, expected: rows * (column.rowShape?.count ?? 0), what: "row-shape table", column: name)
        }
        return ColumnStore(path: path, metadata: column, rowCount: rows, rowBytes: rowBytes, units: units,
                           firstRows: firstRows, rowOffsets: rowOffsets, rowShapes: rowShapes, dataRange: dataRange)
    }
}
