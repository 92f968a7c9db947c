/// The result of a full check of a cache file.
public struct CacheVerification: Sendable, Hashable {
    /// Units whose checksum was checked and which were decoded.
    public let unitsChecked: Int
    /// Stored bytes checked.
    public let storedBytes: UInt64
    /// Uncompressed bytes decoded.
    public let rawBytes: UInt64
}

extension CacheFile {
    /// Checks the whole file: every table's and unit's CRC-32, every table's internal order,
    /// every unit's decoding to its exact size, the statistics, that every stored JPEG of a
    /// JPEG-encoded column decodes to its recorded shape, and that every byte between
    /// units and tables is zero padding. The future `datagen cache verify`.
    /// - Returns: what was checked.
    /// - Throws: the first problem: ``CacheError/checksumMismatch(path:what:column:offset:)`` or
    ///   ``CacheError/corrupt(path:column:row:reason:)`` naming the column, unit and rows.
    /// - Complexity: O(file size).
    public func verify() throws(CacheError) -> CacheVerification {
        var unitsChecked = 0
        var stored: UInt64 = 0
        var raw: UInt64 = 0
        var dataExtents = [(offset: UInt64, length: UInt64)]()
        var tableExtents = [(offset: UInt64, length: UInt64)]()
        var scratch = [UInt8]()
        for store in stores {
            try store.checkTables(force: true)
            for table in [store.units, store.firstRows, store.rowOffsets, store.rowShapes].compactMap({ $0 }) {
                tableExtents.append((table.offset, UInt64(table.bytes.count)))
            }
            try checkOrder(store)
            var columnStored: UInt64 = 0
            var columnRaw: UInt64 = 0
            var expectedFirstRow = 0
            for index in 0..<store.units.count {
                let unit = try store.unit(index, force: true)
                guard unit.firstRow == expectedFirstRow else {
                    throw store.corrupt("unit \(index) starts at row \(unit.firstRow), expected \(expectedFirstRow)", row: unit.firstRow)
                }
                expectedFirstRow = unit.rowEnd
                if scratch.count < unit.rawLength { scratch = [UInt8](repeating: 0, count: unit.rawLength) }
                try scratch.withMutableCacheBytes { (buffer) throws(CacheError) in
                    try store.decode(unit, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<unit.rawLength]))
                }
                dataExtents.append((unit.offset, UInt64(unit.stored.count)))
                columnStored += UInt64(unit.stored.count)
                columnRaw += UInt64(unit.rawLength)
                unitsChecked += 1
            }
            guard expectedFirstRow == rowCount else {
                throw store.corrupt("the units hold \(expectedFirstRow) rows, the cache has \(rowCount)")
            }
            guard columnStored == store.metadata.storedBytes, columnRaw == store.metadata.rawBytes else {
                throw store.corrupt("the units hold \(columnStored) stored and \(columnRaw) raw bytes; the metadata says \(store.metadata.storedBytes) and \(store.metadata.rawBytes)")
            }
            stored += columnStored
            raw += columnRaw
        }
        guard stored == statistics.bytesOut, raw == statistics.bytesIn else {
            throw .corrupt(path: path, column: nil, row: nil, reason: "the statistics' byte counts disagree with the units")
        }
        try checkIDTables(force: true)
        if let idOffsets, let idText {
            tableExtents.append((idOffsets.offset, UInt64(idOffsets.bytes.count)))
            tableExtents.append((idText.offset, UInt64(idText.bytes.count)))
            guard idOffsets.u64(0) == 0, idOffsets.u64(rowCount) == UInt64(idText.count) else {
                throw .corrupt(path: path, column: nil, row: nil, reason: "the id offsets do not span the id text")
            }
            for row in 0..<rowCount { _ = try id(ofRow: row) }
        }
        if let sourceStamps {
            tableExtents.append((sourceStamps.offset, UInt64(sourceStamps.bytes.count)))
            guard CRC32.checksum(sourceStamps.bytes) == sourceStamps.crc else {
                throw .checksumMismatch(path: path, what: "source stamps table", column: sourceColumn, offset: sourceStamps.offset)
            }
        }
        try checkPadding(dataExtents, from: UInt64(CacheFormat.headerSize), to: indexOffset, region: "data section")
        try checkPadding(tableExtents, from: indexOffset, to: tablesEnd, region: "index tables")
        return CacheVerification(unitsChecked: unitsChecked, storedBytes: stored, rawBytes: raw)
    }

    /// Checks that the first-row table rises strictly and the row offsets never fall.
    private func checkOrder(_ store: ColumnStore) throws(CacheError) {
        if let firstRows = store.firstRows, firstRows.count > 0 {
            guard firstRows.u64(0) == 0 else { throw store.corrupt("the first unit does not start at row 0") }
            for index in 1..<firstRows.count where firstRows.u64(index) <= firstRows.u64(index - 1) {
                throw store.corrupt("the first-row table does not rise at unit \(index)")
            }
        }
        if let offsets = store.rowOffsets {
            guard offsets.u64(0) == 0, offsets.u64(rowCount) == store.metadata.rawBytes else {
                throw store.corrupt("the row offsets do not span the column's \(store.metadata.rawBytes) bytes")
            }
            let step = UInt64(store.rowBytes)
            for row in 0..<rowCount {
                let start = offsets.u64(row)
                let end = offsets.u64(row + 1)
                guard start <= end, step == 0 ? start == end : (end - start) % step == 0 else {
                    throw store.corrupt("row offsets \(start)..<\(end) are invalid", row: row)
                }
            }
        }
        if store.rowShapes != nil {
            for row in 0..<rowCount { _ = try store.shape(ofRow: row) }  // each shape fits the column and its bytes
        }
        if store.metadata.encoding == .jpeg { try verifyJPEGs(store) }  // each JPEG decodes to its shape
    }

    /// Checks that `extents` do not overlap and every byte of `from..<to` outside them is zero.
    private func checkPadding(_ extents: [(offset: UInt64, length: UInt64)], from start: UInt64, to end: UInt64,
                              region: String) throws(CacheError) {
        var position = start
        for extent in extents.sorted(by: { $0.offset < $1.offset }) {
            guard extent.offset >= position else {
                throw .corrupt(path: path, column: nil, row: nil, reason: "\(region): regions overlap at offset \(extent.offset)")
            }
            try checkZero(position, extent.offset, region: region)
            position = extent.offset + extent.length
        }
        guard position <= end else {
            throw .corrupt(path: path, column: nil, row: nil, reason: "\(region): a region ends after \(end)")
        }
        try checkZero(position, end, region: region)
    }

    private func checkZero(_ start: UInt64, _ end: UInt64, region: String) throws(CacheError) {
        guard end > start, let bytes = file.bytes(at: start, count: end - start) else { return }
        if let bad = bytes.firstIndex(where: { $0 != 0 }) {
            throw .corrupt(path: path, column: nil, row: nil, reason: "\(region): padding byte at offset \(start + UInt64(bad)) is not zero")
        }
    }
}
