import Synchronization

/// A table of fixed-width little-endian entries lying inside the mapping, checked once against its
/// CRC-32 before first use.
struct MappedTable: @unchecked Sendable {
    // @unchecked: `bytes` points into a read-only mapping owned by `file`, which this keeps alive.
    let file: MappedFile
    let bytes: UnsafeRawBufferPointer
    let count: Int
    let width: Int
    let crc: UInt32
    /// Absolute file offset (for errors).
    let offset: UInt64

    func u64(_ index: Int) -> UInt64 { bytes.loadLittleEndianUInt64(at: index * width) }
    func u32(_ index: Int, at field: Int) -> UInt32 { bytes.loadLittleEndianUInt32(at: index * width + field) }
    func u64(_ index: Int, at field: Int) -> UInt64 { bytes.loadLittleEndianUInt64(at: index * width + field) }
}

/// A bitmap with atomic bits, remembering which units and tables have had their CRC checked so
/// that repeated reads skip it. Bits are only ever set; a race makes two threads check the same
/// unit, which is harmless.
///
/// `@unchecked Sendable`: the words are `Atomic`s in a fixed allocation owned by this object and
/// only touched through atomic operations.
final class VerifiedBits: @unchecked Sendable {
    // Atomic is ~Copyable, so the words live in a fixed allocation made at init.
    private let pointer: UnsafeMutablePointer<Atomic<UInt64>>
    private let wordCount: Int

    init(count: Int) {
        wordCount = max(1, (count + 63) / 64)
        pointer = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: wordCount)
        for index in 0..<wordCount { (pointer + index).initialize(to: Atomic(0)) }
    }

    deinit {
        pointer.deinitialize(count: wordCount)
        pointer.deallocate()
    }

    func contains(_ index: Int) -> Bool {
        pointer[index >> 6].load(ordering: .relaxed) & (1 << UInt64(index & 63)) != 0
    }

    func insert(_ index: Int) {
        pointer[index >> 6].bitwiseOr(1 << UInt64(index & 63), ordering: .relaxed)
    }
}

/// Where a unit lies and which rows it holds, after its entry was checked.
struct UnitInfo {
    var index: Int
    var firstRow: Int
    var rowEnd: Int
    var rawLength: Int
    var stored: UnsafeRawBufferPointer
    var isRaw: Bool
    var offset: UInt64

    var rowCount: Int { rowEnd - firstRow }
}

/// One column of an open cache: its tables in the mapping and the reads of its units.
///
/// Every entry read from a table is checked against the file and the schema before use; each
/// table's CRC-32 is checked before its first use, each unit's before it is decoded (and once
/// per unit only, remembered in ``unitsVerified``).
final class ColumnStore: Sendable {
    let path: String
    let metadata: ColumnMetadata
    let rowCount: Int
    let rowBytes: Int
    let units: MappedTable
    let firstRows: MappedTable?
    let rowOffsets: MappedTable?
    let dataRange: Range<UInt64>
    let unitsVerified: VerifiedBits
    /// Bits 0, 1, 2: the units, first-row and row-offset tables have been checked.
    let tablesVerified = VerifiedBits(count: 4)
    /// Each row's dimensions (variable-shape columns only).
    let rowShapes: MappedTable?

    init(path: String, metadata: ColumnMetadata, rowCount: Int, rowBytes: Int, units: MappedTable,
         firstRows: MappedTable?, rowOffsets: MappedTable?, rowShapes: MappedTable? = nil, dataRange: Range<UInt64>) {
        self.rowShapes = rowShapes
        self.path = path
        self.metadata = metadata
        self.rowCount = rowCount
        self.rowBytes = rowBytes
        self.units = units
        self.firstRows = firstRows
        self.rowOffsets = rowOffsets
        self.dataRange = dataRange
        self.unitsVerified = VerifiedBits(count: units.count)
    }

    var name: String { metadata.name }
    var isVariableLength: Bool { metadata.variableLength }

    func corrupt(_ reason: String, row: Int? = nil) -> CacheError {
        .corrupt(path: path, column: name, row: row, reason: reason)
    }

    /// Checks a table's CRC-32 once (always when `force`).
    func check(_ table: MappedTable, bit: Int, name what: String, force: Bool = false) throws(CacheError) {
        if !force && tablesVerified.contains(bit) { return }
        guard CRC32.checksum(table.bytes) == table.crc else {
            throw .checksumMismatch(path: path, what: what, column: name, offset: table.offset)
        }
        tablesVerified.insert(bit)
    }

    /// Checks every table this column reads.
    func checkTables(force: Bool = false) throws(CacheError) {
        try check(units, bit: 0, name: "units table", force: force)
        if let firstRows { try check(firstRows, bit: 1, name: "unit first-row table", force: force) }
        if let rowOffsets { try check(rowOffsets, bit: 2, name: "row-offset table", force: force) }
        if let rowShapes { try check(rowShapes, bit: 3, name: "row-shape table", force: force) }
    }

    /// The shape of `row` (in range) of a variable-shape column, checked against the column's
    /// fixed dimensions and the row's bytes in the row-offset table.
    func shape(ofRow row: Int) throws(CacheError) -> [Int] {
        guard let rowShapes, let rowShape = metadata.rowShape else { throw corrupt("the column has no row shapes", row: row) }
        try checkTables()
        var shape = [Int]()
        var bytes = UInt64(metadata.dtype.byteWidth)
        for axis in rowShape.indices {
            let dimension = rowShapes.u64(row * rowShape.count + axis)
            guard dimension <= 1 << 40, rowShape[axis] < 0 || dimension == UInt64(rowShape[axis]) else {
                throw corrupt("row shape dimension \(dimension) does not fit the column's \(rowShape)", row: row)
            }
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw corrupt("row shape overflows", row: row) }
            bytes = product
            shape.append(Int(dimension))
        }
        let length = try streamOffset(row + 1) - streamOffset(row)
        guard metadata.encoding == .jpeg || UInt64(length) == bytes else {
            throw corrupt("row shape \(shape) does not match the row's \(length) bytes", row: row)
        }
        return shape
    }

    /// The unit holding `row` (which must be in range). The first-row table's CRC is checked
    /// before its first search (then only a bit is read).
    func unitIndex(ofRow row: Int) throws(CacheError) -> Int {
        guard let firstRows else { return row }
        try check(firstRows, bit: 1, name: "unit first-row table")
        var low = 0
        var high = units.count  // find the last unit whose first row <= row
        while high - low > 1 {
            let middle = (low + high) / 2
            if firstRows.u64(middle) <= UInt64(row) { low = middle } else { high = middle }
        }
        return low
    }

    /// The byte offset of `row` in the uncompressed stream of a variable-length column.
    func streamOffset(_ row: Int) throws(CacheError) -> Int {
        let value = rowOffsets!.u64(row)
        guard value <= metadata.rawBytes else { throw corrupt("row offset \(value) beyond the column's \(metadata.rawBytes) bytes", row: row) }
        return Int(value)
    }

    /// The checked location of unit `index`; its CRC-32 is verified (once per unit unless `force`).
    func unit(_ index: Int, force: Bool = false) throws(CacheError) -> UnitInfo {
        try checkTables()
        guard index >= 0 && index < units.count else { throw corrupt("unit \(index) does not exist") }
        let offset = units.u64(index, at: 0)
        let length = units.u64(index, at: 8)
        let crc = units.u32(index, at: 16)
        let flags = units.u32(index, at: 20)
        guard offset >= dataRange.lowerBound, offset % UInt64(CacheFormat.alignment) == 0,
              offset <= dataRange.upperBound, length <= dataRange.upperBound - offset,
              let stored = units.file.bytes(at: offset, count: length) else {
            throw corrupt("unit \(index) at offset \(offset), length \(length), lies outside the data section")
        }
        guard flags & ~CacheFormat.flagStoredRaw == 0, metadata.codec != .none || flags == CacheFormat.flagStoredRaw else {
            throw corrupt("unit \(index) has invalid flags \(flags)")
        }
        let firstRow: Int
        let rowEnd: Int
        if let firstRows {
            let first = firstRows.u64(index)
            let end = index + 1 < units.count ? firstRows.u64(index + 1) : UInt64(rowCount)
            guard first < end, end <= UInt64(rowCount), index > 0 || first == 0 else {
                throw corrupt("unit \(index) has an invalid row range \(first)..<\(end)")
            }
            firstRow = Int(first)
            rowEnd = Int(end)
        } else {
            firstRow = index
            rowEnd = index + 1
        }
        let rawLength: Int
        if isVariableLength {
            let start = try streamOffset(firstRow)
            let end = try streamOffset(rowEnd)
            guard start <= end else { throw corrupt("row offsets decrease", row: firstRow) }
            rawLength = end - start
        } else {
            rawLength = (rowEnd - firstRow) * rowBytes
        }
        let isRaw = flags & CacheFormat.flagStoredRaw != 0
        guard isRaw ? Int(length) == rawLength
                    : (rawLength <= Int(Int32.max) && length > 0 && UInt64(rawLength) <= length * CacheFormat.maxExpansion) else {
            throw corrupt("unit \(index) stores \(length) bytes for \(rawLength) raw bytes", row: firstRow)
        }
        if force || !unitsVerified.contains(index) {
            guard CRC32.checksum(stored) == crc else {
                throw .checksumMismatch(path: path, what: "unit \(index) (rows \(firstRow)..<\(rowEnd))",
                                        column: name, offset: offset)
            }
            unitsVerified.insert(index)
        }
        return UnitInfo(index: index, firstRow: firstRow, rowEnd: rowEnd, rawLength: rawLength, stored: stored,
                        isRaw: isRaw, offset: offset)
    }

    /// Decodes a unit into `destination` (exactly its raw length).
    func decode(_ unit: UnitInfo, into destination: UnsafeMutableRawBufferPointer) throws(CacheError) {
        if unit.isRaw {
            if unit.rawLength > 0 { destination.copyMemory(from: unit.stored) }
            return
        }
        guard LZ4.decompress(unit.stored, into: destination) else {
            throw corrupt("unit \(unit.index) does not decode to its \(unit.rawLength) bytes", row: unit.firstRow)
        }
    }
}
