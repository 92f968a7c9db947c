/// The constants of the cache file format, version 1 (docs/FORMAT.md describes every byte).
enum CacheFormat {
    /// The format version this code writes for files without a variable-shape column.
    static let version: UInt32 = 1
    /// The format version of files holding a variable-shape column (images): version 1 plus
    /// per-column `rowShape` and the `rowShapes` table.
    static let variableShapeVersion: UInt32 = 2
    /// The format version of files holding a JPEG-encoded column (`--image-store jpeg`):
    /// version 2 plus the column key `encoding`.
    static let jpegColumnVersion: UInt32 = 3
    /// The newest format version this code reads.
    static let newestVersion: UInt32 = 3

    /// The version a cache of `columns` is written in: 3 when one is JPEG-encoded, 2 when one is
    /// variable-shape, else 1, so that files without images keep version 1 and their bytes.
    static func version(for columns: [ColumnPlan]) -> UInt32 {
        if columns.contains(where: { $0.encoding == .jpeg }) { return jpegColumnVersion }
        return columns.contains { $0.spec.isVariableShape } ? variableShapeVersion : version
    }
    /// The first 8 bytes of every cache file: `DGCACHE\0`.
    static let headerMagic: [UInt8] = Array("DGCACHE".utf8) + [0]
    /// The last 8 bytes of every complete cache file: `DGCEND\0\0`.
    static let trailerMagic: [UInt8] = Array("DGCEND".utf8) + [0, 0]
    /// The header's size in bytes.
    static let headerSize = 64
    /// The trailer's size in bytes.
    static let trailerSize = 64
    /// Units, tables and the metadata start at multiples of this.
    static let alignment = 8
    /// Rows of at least this many raw bytes get a unit each.
    static let ownUnitThreshold = 256
    /// The most raw bytes a unit packing several rows holds.
    static let packedUnitBytes = 32_768
    /// Bytes of one unit-table entry: offset, stored length, CRC-32, flags.
    static let unitEntrySize = 24
    /// Unit flag: the unit's bytes are stored raw (compression did not make them smaller).
    static let flagStoredRaw: UInt32 = 1
    /// The most rows a cache may declare (a sanity bound checked before any allocation).
    static let maxRows = 1 << 40
    /// The most raw bytes one stored byte can decode to: an LZ4 block expands at most 255-fold
    /// (a match length grows by 255 per byte), so a unit or a column claiming more is corrupt.
    static let maxExpansion: UInt64 = 255
    /// The most columns a cache may declare.
    static let maxColumns = 4096
    /// The largest metadata document accepted (bytes).
    static let maxMetadataBytes: UInt64 = 1 << 32

    /// `value` rounded up to the next multiple of ``alignment``.
    static func aligned(_ value: UInt64) -> UInt64 {
        (value + UInt64(alignment - 1)) / UInt64(alignment) * UInt64(alignment)
    }

    /// The 64-byte header.
    static func header(version: UInt32 = CacheFormat.version) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(headerMagic)
        writer.append(version)
        writer.append(UInt32(headerSize))
        writer.pad(to: headerSize)
        return writer.bytes
    }

    /// The 64-byte trailer.
    static func trailer(_ trailer: Trailer) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(trailer.indexOffset)
        writer.append(trailer.indexLength)
        writer.append(trailer.metadataLength)
        writer.append(trailer.metadataCRC)
        writer.append(trailer.version)
        writer.pad(to: trailerSize - trailerMagic.count)
        writer.append(trailerMagic)
        return writer.bytes
    }

    /// The fields of a trailer.
    struct Trailer: Equatable {
        /// Absolute offset of the index section.
        var indexOffset: UInt64
        /// Length of the index section (tables then metadata).
        var indexLength: UInt64
        /// Length of the metadata document, the last bytes of the index section.
        var metadataLength: UInt64
        /// CRC-32 of the metadata document.
        var metadataCRC: UInt32
        /// Format version.
        var version: UInt32
    }
}

/// Appends little-endian integers and bytes to a growing byte array.
struct ByteWriter {
    /// The bytes written so far.
    private(set) var bytes: [UInt8] = []

    init() {}

    mutating func append(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    /// Appends a string as a u64 byte length and its UTF-8 bytes.
    mutating func append(string: String) {
        let utf8 = Array(string.utf8)
        append(UInt64(utf8.count))
        append(utf8)
    }

    /// Appends zeros up to `count` bytes in total.
    mutating func pad(to count: Int) {
        if bytes.count < count { bytes.append(contentsOf: repeatElement(0, count: count - bytes.count)) }
    }

    /// Appends zeros up to the next multiple of the format's alignment.
    mutating func alignToBoundary() {
        pad(to: Int(CacheFormat.aligned(UInt64(bytes.count))))
    }
}

/// Reads little-endian integers and strings from bytes, failing (with `nil`) past the end.
struct ByteReader {
    private let bytes: [UInt8]
    /// The position of the next read.
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte has been read.
    var isAtEnd: Bool { position == bytes.count }

    mutating func u64() -> UInt64? {
        guard bytes.count - position >= 8 else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << (8 * index) }
        position += 8
        return value
    }

    mutating func u32() -> UInt32? {
        guard bytes.count - position >= 4 else { return nil }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * index) }
        position += 4
        return value
    }

    /// A count that must fit in what is left when each item takes at least `minimumSize` bytes.
    mutating func count(minimumSize: Int) -> Int? {
        guard let value = u64(), value <= UInt64(bytes.count - position) / UInt64(max(1, minimumSize)) else {
            return nil
        }
        return Int(value)
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, bytes.count - position >= count else { return nil }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func string() -> String? {
        guard let length = count(minimumSize: 1), let utf8 = bytes(length) else { return nil }
        return String(validating: utf8, as: UTF8.self)
    }
}

/// Little-endian loads from raw (possibly unaligned) memory.
extension UnsafeRawBufferPointer {
    /// The u64 at byte `offset`.
    func loadLittleEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The u32 at byte `offset`.
    func loadLittleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeMutableBytes` for a body that throws only ``CacheError`` (the standard library's
    /// version is `rethrows`, which erases the error type).
    mutating func withMutableCacheBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(CacheError) -> R
    ) throws(CacheError) -> R {
        do {
            return try withUnsafeMutableBytes { (buffer) throws -> R in try body(buffer) }
        } catch {
            throw error as! CacheError  // the body throws nothing else
        }
    }
}
