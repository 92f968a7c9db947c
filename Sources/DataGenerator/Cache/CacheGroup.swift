/// One stored unit of a column: its bytes compressed (or kept raw) and checksummed, as a builder's
/// worker produces it.
public struct EncodedUnit: Sendable {
    /// The bytes to store (an LZ4 block, or the raw rows).
    public var stored: [UInt8]
    /// CRC-32 of `stored`.
    public var crc: UInt32
    /// Unit flags (bit 0: stored raw).
    public var flags: UInt32
    /// The number of rows in the unit.
    public var rowCount: Int

    /// A unit of `rowCount` rows: `raw` compressed with `codec`, or kept raw when compression does
    /// not make it smaller.
    public init(compressing raw: [UInt8], codec: CacheCodec, rowCount: Int) {
        if let compressed = raw.withUnsafeBytes({ Self.compressed($0, codec: codec) }) {
            self.init(stored: compressed, crc: CRC32.checksum(compressed), flags: 0, rowCount: rowCount)
        } else {
            self.init(stored: raw, crc: CRC32.checksum(raw), flags: CacheFormat.flagStoredRaw, rowCount: rowCount)
        }
    }

    /// A unit of `rowCount` rows, the bytes `raw` points to (copied only when stored raw), as
    /// ``init(compressing:codec:rowCount:)`` makes it.
    init(compressing raw: UnsafeRawBufferPointer, codec: CacheCodec, rowCount: Int) {
        if let compressed = Self.compressed(raw, codec: codec) {
            self.init(stored: compressed, crc: CRC32.checksum(compressed), flags: 0, rowCount: rowCount)
        } else {
            self.init(stored: [UInt8](raw), crc: CRC32.checksum(raw), flags: CacheFormat.flagStoredRaw, rowCount: rowCount)
        }
    }

    /// `raw` compressed with `codec`, or `nil` when the codec stores raw or compression does not
    /// make it smaller. The output buffer is left uninitialised: LZ4 writes what it returns.
    private static func compressed(_ raw: UnsafeRawBufferPointer, codec: CacheCodec) -> [UInt8]? {
        guard let level = codec.level, !raw.isEmpty else { return nil }
        let bound = LZ4.compressBound(raw.count)
        var written: Int? = nil
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, initialized in
            written = LZ4.compress(raw, into: UnsafeMutableRawBufferPointer(buffer), level: level)
            initialized = min(max(written ?? 0, 0), bound)
        }
        guard let written, written > 0, written < raw.count else { return nil }
        return output
    }

    init(stored: [UInt8], crc: UInt32, flags: UInt32, rowCount: Int) {
        self.stored = stored
        self.crc = crc
        self.flags = flags
        self.rowCount = rowCount
    }
}

/// One column's share of a row group: its kept rows split into units.
public struct EncodedColumnPart: Sendable {
    /// The units, in row order.
    public var units: [EncodedUnit]
    /// Raw bytes of each kept row (variable-length columns only).
    public var rowLengths: [UInt64]
    /// Raw bytes of all kept rows.
    public var rawBytes: UInt64
    /// Variable-shape columns: each kept row's dimensions, one after another (rank per row).
    public var rowShapes: [UInt64] = []

    /// The kept rows of `column`, the bytes `rows` locates in `bytes`, split into units the way
    /// every cache is (fixed rows of 256 bytes or more one a unit, smaller rows packed up to
    /// 64 KiB; variable-length rows packed up to 64 KiB, a row of 256 bytes or more alone) and
    /// compressed with the column's codec. The same rows always give the same units.
    /// - Precondition: every range lies within `bytes`.
    public init(packing column: ColumnPlan, rows: [Range<Int>], in bytes: UnsafeRawBufferPointer) {
        self.init(packing: column, rowCount: rows.count) { index, use in
            use(UnsafeRawBufferPointer(rebasing: bytes[rows[index]]))
        }
    }

    /// The kept rows of `column`, one array each, split into units and compressed exactly as
    /// ``init(packing:rows:in:)`` does with the same rows laid end to end, without first copying
    /// them into one buffer (decoded images: a copy of every pixel and the page faults of a
    /// fresh group-sized buffer, about 7% of a pixels@512 build's CPU).
    init(packing column: ColumnPlan, rowArrays: [[UInt8]]) {
        self.init(packing: column, rowCount: rowArrays.count) { index, use in
            rowArrays[index].withUnsafeBytes { use($0) }
        }
    }

    /// The packing itself: `withRow(i, use)` calls `use` with the bytes of row `i`.
    private init(packing column: ColumnPlan, rowCount: Int,
                 withRow: (Int, (UnsafeRawBufferPointer) -> Void) -> Void) {
        var units = [EncodedUnit]()
        var rowLengths = [UInt64]()
        var rawBytes: UInt64 = 0
        var pending = [UInt8]()
        var pendingRows = 0
        func flush() {
            guard pendingRows > 0 else { return }
            units.append(EncodedUnit(compressing: pending, codec: column.codec, rowCount: pendingRows))
            pending.removeAll(keepingCapacity: true)
            pendingRows = 0
        }
        let perUnit = column.oneRowPerUnit ? 1 : column.rowsPerPackedUnit
        for index in 0..<rowCount {
            withRow(index) { row in
                let length = row.count
                rawBytes += UInt64(length)
                if column.spec.isVariableLength {
                    rowLengths.append(UInt64(length))
                    if length >= CacheFormat.ownUnitThreshold || pending.count + length > CacheFormat.packedUnitBytes {
                        flush()
                    }
                    if length >= CacheFormat.ownUnitThreshold {
                        // A row alone in its unit is compressed where it lies, never copied first.
                        units.append(EncodedUnit(compressing: row, codec: column.codec, rowCount: 1))
                        return
                    }
                    pending.append(contentsOf: row)
                    pendingRows += 1
                } else {
                    pending.append(contentsOf: row)
                    pendingRows += 1
                    if pendingRows == perUnit { flush() }
                }
            }
        }
        flush()
        self.init(units: units, rowLengths: rowLengths, rawBytes: rawBytes)
    }

    /// A part from units already made.
    public init(units: [EncodedUnit], rowLengths: [UInt64], rawBytes: UInt64) {
        self.units = units
        self.rowLengths = rowLengths
        self.rawBytes = rawBytes
    }
}

/// A row group encoded and compressed: what a ``CacheWriter`` appends, in order.
public struct EncodedGroup: Sendable {
    /// The group's index (0, 1, 2… in the order written).
    public var index: Int
    /// The input records the group covers.
    public var rows: Range<Int>
    /// The records of `rows` left out, with their causes (in row order).
    public var skipped: [SkippedRecord]
    /// One part per schema column, each holding the group's kept rows.
    public var columns: [EncodedColumnPart]
    /// Source file stamps of the kept records (empty when the schema has no source column).
    public var sources: [SourceStamp]

    /// A group; see each property.
    public init(index: Int, rows: Range<Int>, skipped: [SkippedRecord], columns: [EncodedColumnPart],
                sources: [SourceStamp] = []) {
        self.index = index
        self.rows = rows
        self.skipped = skipped
        self.columns = columns
        self.sources = sources
    }
}
