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
        if let level = codec.level, !raw.isEmpty {
            var output = [UInt8](repeating: 0, count: LZ4.compressBound(raw.count))
            let written = raw.withUnsafeBytes { source in
                output.withUnsafeMutableBytes { LZ4.compress(source, into: $0, level: level) }
            }
            if let written, written > 0, written < raw.count {
                output.removeLast(output.count - written)
                self.init(stored: output, crc: CRC32.checksum(output), flags: 0, rowCount: rowCount)
                return
            }
        }
        self.init(stored: raw, crc: CRC32.checksum(raw), flags: CacheFormat.flagStoredRaw, rowCount: rowCount)
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
        self.init(units: [], rowLengths: [], rawBytes: 0)
        var pending = [UInt8]()
        var pendingRows = 0
        func flush() {
            guard pendingRows > 0 else { return }
            units.append(EncodedUnit(compressing: pending, codec: column.codec, rowCount: pendingRows))
            pending.removeAll(keepingCapacity: true)
            pendingRows = 0
        }
        let perUnit = column.oneRowPerUnit ? 1 : column.rowsPerPackedUnit
        for range in rows {
            let length = range.count
            rawBytes += UInt64(length)
            if column.spec.isVariableLength {
                rowLengths.append(UInt64(length))
                if length >= CacheFormat.ownUnitThreshold || pending.count + length > CacheFormat.packedUnitBytes {
                    flush()
                }
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
                pendingRows += 1
                if length >= CacheFormat.ownUnitThreshold { flush() }
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
                pendingRows += 1
                if pendingRows == perUnit { flush() }
            }
        }
        flush()
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
