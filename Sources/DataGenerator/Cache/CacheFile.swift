/// An open cache file: memory-mapped read-only, its structure checked, its rows read by batches.
///
/// Opening reads the 64-byte header and trailer and the metadata document, and checks every
/// table location against the file and the schema; it does not scan rows, so it takes about the
/// same time for ten rows as for millions. Tables and units are checked against their CRC-32
/// when first used. Many threads may read one `CacheFile` at once.
///
/// ```swift
/// let cache = try CacheFile(path: "train.dgcache")
/// var batch = [Float](repeating: 0, count: 128 * 784)
/// try batch.withUnsafeMutableBytes { try cache.gather(column: "data", rows: rows, into: $0) }
/// ```
public final class CacheFile: Sendable {
    /// The file's path.
    public let path: String
    let file: MappedFile
    let metadata: CacheMetadata
    let stores: [ColumnStore]
    let idOffsets: MappedTable?
    let idText: MappedTable?
    let sourceStamps: MappedTable?
    /// Bits 0, 1: the id tables have been checked; bit 2: the source stamps.
    let idTablesVerified = VerifiedBits(count: 3)
    /// The index section's absolute offset and the end of its tables.
    let indexOffset: UInt64
    let tablesEnd: UInt64

    /// Opens the cache at `path`.
    /// - Throws: ``CacheError/notACache(path:)``, ``CacheError/truncated(path:)``,
    ///   ``CacheError/unsupportedVersion(path:found:supported:)``,
    ///   ``CacheError/corrupt(path:column:row:reason:)``,
    ///   ``CacheError/checksumMismatch(path:what:column:offset:)`` (the metadata),
    ///   ``CacheError/io(path:operation:errno:)``.
    /// - Complexity: O(columns + metadata size); no per-row work.
    public init(path: String) throws(CacheError) {
        self.path = path
        do { file = try MappedFile(path: path) } catch { throw .io(path: path, operation: "open", errno: error.rawValue) }
        let layout = try Self.readFrame(file, path: path)
        indexOffset = layout.trailer.indexOffset
        tablesEnd = layout.trailer.indexOffset + layout.trailer.indexLength - layout.trailer.metadataLength
        metadata = layout.metadata
        let validated = try CacheValidator(file: file, path: path, metadata: metadata, indexOffset: indexOffset,
                                           tablesEnd: tablesEnd, trailerVersion: layout.trailer.version).validate()
        stores = validated.stores
        idOffsets = validated.idOffsets
        idText = validated.idText
        sourceStamps = validated.sources
    }

    /// Opens the cache at `path` and checks that it was built from the inputs `expected` names.
    /// - Throws: ``CacheError/stale(path:differences:)`` saying what differs, and the errors of
    ///   ``init(path:)``.
    public convenience init(path: String, expecting expected: CacheFingerprint) throws(CacheError) {
        try self.init(path: path)
        let differences = fingerprint.differences(from: expected)
        guard differences.isEmpty else { throw .stale(path: path, differences: differences) }
    }

    /// The format version of the file.
    public var formatVersion: UInt32 { metadata.formatVersion }
    /// The number of rows.
    public var rowCount: Int { metadata.rowCount }
    /// The columns: the data columns, then the target column.
    public var columns: [CacheColumn] {
        stores.map { store in
            let meta = store.metadata
            return CacheColumn(name: meta.name, role: meta.role, spec: meta.spec, codec: meta.codec,
                               encoderIdentity: meta.encoder, unitCount: meta.unitCount, rawBytes: meta.rawBytes,
                               storedBytes: meta.storedBytes, encoding: meta.encoding ?? .plain)
        }
    }
    /// What the cache was built from.
    public var fingerprint: CacheFingerprint { metadata.fingerprint }
    /// Records and bytes in and out of the build.
    public var statistics: CacheStatistics { metadata.statistics }
    /// Records left out of the cache, with their causes.
    public var skipped: [SkippedRecord] { metadata.skipped }
    /// The label classes of the target encoder, when it has some.
    public var classes: [String]? { metadata.classes }
    /// Whether the rows have ids (the inventory had an id column).
    public var hasIDs: Bool { idOffsets != nil }
    /// The file's size in bytes.
    public var fileSize: UInt64 { file.size }

    /// The column called `name`.
    /// - Throws: ``CacheError/noSuchColumn(name:available:)``.
    public func column(named name: String) throws(CacheError) -> CacheColumn {
        columns[try storeIndex(name)]
    }

    func storeIndex(_ name: String) throws(CacheError) -> Int {
        guard let index = stores.firstIndex(where: { $0.name == name }) else {
            throw .noSuchColumn(name: name, available: stores.map(\.name))
        }
        return index
    }

    func checkIDTables(force: Bool = false) throws(CacheError) {
        guard let idOffsets, let idText else { return }
        for (bit, table, what) in [(0, idOffsets, "id offsets table"), (1, idText, "id text")]
        where force || !idTablesVerified.contains(bit) {
            guard CRC32.checksum(table.bytes) == table.crc else {
                throw .checksumMismatch(path: path, what: what, column: nil, offset: table.offset)
            }
            idTablesVerified.insert(bit)
        }
    }

    /// The id of `row`, or `nil` when the rows have no ids.
    /// - Throws: ``CacheError/rowOutOfRange(row:count:)``, ``CacheError/corrupt(path:column:row:reason:)``.
    public func id(ofRow row: Int) throws(CacheError) -> String? {
        guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
        guard let idOffsets, let idText else { return nil }
        try checkIDTables()
        let start = idOffsets.u64(row)
        let end = idOffsets.u64(row + 1)
        guard start <= end, end <= UInt64(idText.count) else {
            throw .corrupt(path: path, column: nil, row: row, reason: "id offsets \(start)..<\(end) leave the id text")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: idText.bytes[Int(start)..<Int(end)])
        guard let id = String(validating: bytes, as: UTF8.self) else {
            throw .corrupt(path: path, column: nil, row: row, reason: "the id is not valid UTF-8")
        }
        return id
    }

    /// Every row's id in order, or `nil` when the rows have no ids.
    /// - Complexity: O(rows).
    public func ids() throws(CacheError) -> [String]? {
        guard hasIDs else { return nil }
        var result = [String]()
        result.reserveCapacity(rowCount)
        for row in 0..<rowCount { result.append(try id(ofRow: row)!) }
        return result
    }

    /// The data column whose encoder read the source files that are stamped, if any.
    public var sourceColumn: String? { metadata.sources?.column }

    /// The size and modification time `row`'s source file had at build time, or `nil` when the
    /// cache has no source stamps.
    public func sourceStamp(ofRow row: Int) throws(CacheError) -> SourceStamp? {
        guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
        guard let sourceStamps else { return nil }
        if !idTablesVerified.contains(2) {
            guard CRC32.checksum(sourceStamps.bytes) == sourceStamps.crc else {
                throw .checksumMismatch(path: path, what: "source stamps table", column: sourceColumn, offset: sourceStamps.offset)
            }
            idTablesVerified.insert(2)
        }
        return SourceStamp(storedSize: sourceStamps.u64(row, at: 0), modified: sourceStamps.u64(row, at: 8))
    }

    /// Reads and checks the header, the trailer and the metadata document.
    private static func readFrame(_ file: MappedFile, path: String) throws(CacheError) -> (trailer: CacheFormat.Trailer, metadata: CacheMetadata) {
        let size = file.size
        let magic = CacheFormat.headerMagic
        guard size > 0, let head = file.bytes(at: 0, count: min(size, UInt64(magic.count))),
              head.elementsEqual(magic.prefix(head.count)) else { throw .notACache(path: path) }
        let frameSize = UInt64(CacheFormat.headerSize + CacheFormat.trailerSize)
        guard size >= frameSize, let header = file.bytes(at: 0, count: UInt64(CacheFormat.headerSize)),
              let tail = file.bytes(at: size - UInt64(CacheFormat.trailerSize), count: UInt64(CacheFormat.trailerSize))
        else { throw .truncated(path: path) }
        func corrupt(_ reason: String) -> CacheError { .corrupt(path: path, column: nil, row: nil, reason: reason) }
        let headerVersion = header.loadLittleEndianUInt32(at: 8)
        guard headerVersion <= CacheFormat.newestVersion else {
            throw .unsupportedVersion(path: path, found: headerVersion, supported: CacheFormat.newestVersion)
        }
        guard headerVersion >= 1 else { throw corrupt("the header's format version is 0") }
        guard header.loadLittleEndianUInt32(at: 12) == UInt32(CacheFormat.headerSize),
              header[16...].allSatisfy({ $0 == 0 }) else {
            throw corrupt("the header's size field or reserved bytes are wrong")
        }
        guard tail[56...].elementsEqual(CacheFormat.trailerMagic) else { throw .truncated(path: path) }
        let trailer = CacheFormat.Trailer(
            indexOffset: tail.loadLittleEndianUInt64(at: 0), indexLength: tail.loadLittleEndianUInt64(at: 8),
            metadataLength: tail.loadLittleEndianUInt64(at: 16), metadataCRC: tail.loadLittleEndianUInt32(at: 24),
            version: tail.loadLittleEndianUInt32(at: 28))
        guard trailer.version <= CacheFormat.newestVersion else {
            throw .unsupportedVersion(path: path, found: trailer.version, supported: CacheFormat.newestVersion)
        }
        guard trailer.version == headerVersion else {
            throw corrupt("the trailer's format version \(trailer.version) differs from the header's \(headerVersion)")
        }
        guard tail[32..<56].allSatisfy({ $0 == 0 }) else { throw corrupt("the trailer's reserved bytes are not zero") }
        let indexEnd = size - UInt64(CacheFormat.trailerSize)
        guard trailer.indexOffset >= UInt64(CacheFormat.headerSize), trailer.indexOffset <= indexEnd,
              trailer.indexOffset % UInt64(CacheFormat.alignment) == 0,
              trailer.indexLength == indexEnd - trailer.indexOffset,
              trailer.metadataLength <= trailer.indexLength,
              trailer.metadataLength <= CacheFormat.maxMetadataBytes,
              let document = file.bytes(at: indexEnd - trailer.metadataLength, count: trailer.metadataLength) else {
            throw corrupt("the trailer's index location (offset \(trailer.indexOffset), length \(trailer.indexLength), metadata \(trailer.metadataLength)) does not fit the file of \(size) bytes")
        }
        guard CRC32.checksum(document) == trailer.metadataCRC else {
            throw .checksumMismatch(path: path, what: "metadata", column: nil, offset: indexEnd - trailer.metadataLength)
        }
        return (trailer, try CacheMetadata.decode(document, path: path))
    }
}
