/// Rewrites every CRC-32 of a (mutated) cache file so that it matches the bytes it covers.
///
/// Random mutations almost never keep the CRCs right, so without this the fuzzer would only ever
/// exercise the checksum checks. With it, mutated offsets, lengths, counts, JSON values and LZ4
/// blocks reach the validator and the decoders. The repair follows docs/FORMAT.md: each unit's
/// CRC in the units tables, each table's `crc32` in the metadata document (whose numbers may change
/// length), then the metadata CRC, the index and metadata lengths in the trailer. Anything that
/// does not look like a cache is returned unchanged.
public enum ChecksumRepair {
    static let trailerSize = 64
    static let trailerMagic: [UInt8] = Array("DGCEND".utf8) + [0, 0]

    /// `bytes` with its checksums repaired where the structure allows it.
    public static func repair(_ bytes: [UInt8]) -> [UInt8] {
        let size = bytes.count
        guard size >= 2 * trailerSize, Array(bytes[(size - 8)...]) == trailerMagic else { return bytes }
        let trailer = size - trailerSize
        let indexOffset = load64(bytes, trailer)
        let indexLength = load64(bytes, trailer + 8)
        let metadataLength = load64(bytes, trailer + 16)
        guard indexOffset <= UInt64(trailer), indexLength <= UInt64(trailer) - indexOffset,
              metadataLength <= indexLength else { return bytes }
        let metadataEnd = Int(indexOffset + indexLength)
        let metadataStart = metadataEnd - Int(metadataLength)
        var file = bytes
        var metadata = Array(bytes[metadataStart..<metadataEnd])
        let tables = TableReference.scan(metadata)
        for table in tables where table.key == "units" {
            repairUnits(&file, table: table, indexOffset: Int(indexOffset), limit: metadataStart)
        }
        for table in tables.reversed() {
            let width = table.key == "units" ? 24 : table.key == "text" ? 1 : table.key == "stamps" ? 16 : 8
            let start = Int(indexOffset) &+ table.offset
            guard table.offset >= 0, table.count >= 0, table.count <= Int.max / width,
                  start >= Int(indexOffset), start <= metadataStart,
                  table.count * width <= metadataStart - start else { continue }
            let crc = CRC32.checksum(file[start..<(start + table.count * width)])
            metadata.replaceSubrange(table.crcRange, with: Array(String(crc).utf8))
        }
        var result = Array(file[..<metadataStart])
        result += metadata
        let newIndexLength = UInt64(metadataStart) - indexOffset + UInt64(metadata.count)
        var newTrailer = Array(file[trailer...])
        store64(&newTrailer, 8, newIndexLength)
        store64(&newTrailer, 16, UInt64(metadata.count))
        store32(&newTrailer, 24, CRC32.checksum(metadata))
        result += file[metadataEnd..<trailer]
        result += newTrailer
        return result
    }

    /// Sets the CRC of each unit whose offset and length lie inside the file before `limit`.
    static func repairUnits(_ file: inout [UInt8], table: TableReference, indexOffset: Int, limit: Int) {
        guard table.offset >= 0, table.count >= 0, table.count < limit / 24 + 1 else { return }
        for entry in 0..<table.count {
            let position = indexOffset &+ table.offset &+ entry * 24
            guard position >= indexOffset, position + 24 <= limit else { return }
            let offset = load64(file, position)
            let length = load64(file, position + 8)
            guard offset <= UInt64(limit), length <= UInt64(limit) - offset else { continue }
            store32(&file, position + 16, CRC32.checksum(file[Int(offset)..<Int(offset + length)]))
        }
    }

    static func load64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    static func store64(_ bytes: inout [UInt8], _ at: Int, _ value: UInt64) {
        for index in 0..<8 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    static func store32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
    }
}

/// A table location `"key":{"count":N,"crc32":C,"offset":O}` found in a metadata document
/// (keys sorted, no whitespace, as the builder writes it).
struct TableReference {
    var key: String
    var crcRange: Range<Int>
    var count: Int
    var offset: Int

    static let opening = Array("{\"count\":".utf8)

    /// Every table location in `document`, in order.
    static func scan(_ document: [UInt8]) -> [TableReference] {
        var found = [TableReference]()
        var position = 0
        while position + opening.count <= document.count {
            guard document[position..<(position + opening.count)].elementsEqual(opening) else {
                position += 1
                continue
            }
            if let reference = parse(document, objectStart: position) { found.append(reference) }
            position += opening.count
        }
        return found
    }

    static func parse(_ document: [UInt8], objectStart: Int) -> TableReference? {
        var cursor = objectStart + opening.count
        guard let countRange = digits(document, &cursor),
              literal(document, &cursor, ",\"crc32\":"), let crcRange = digits(document, &cursor),
              literal(document, &cursor, ",\"offset\":"), let offsetRange = digits(document, &cursor),
              literal(document, &cursor, "}"),
              let count = Int(String(decoding: document[countRange], as: UTF8.self)),
              let offset = Int(String(decoding: document[offsetRange], as: UTF8.self))
        else { return nil }
        // The key: `"key":` right before the object.
        guard objectStart >= 3, document[objectStart - 1] == UInt8(ascii: ":"),
              document[objectStart - 2] == UInt8(ascii: "\"") else { return nil }
        var keyStart = objectStart - 3
        while keyStart > 0 && document[keyStart - 1] != UInt8(ascii: "\"") { keyStart -= 1 }
        let key = String(decoding: document[keyStart..<(objectStart - 2)], as: UTF8.self)
        return TableReference(key: key, crcRange: crcRange, count: count, offset: offset)
    }

    /// Skips a run of ASCII digits, returning its range (nil when empty).
    static func digits(_ document: [UInt8], _ cursor: inout Int) -> Range<Int>? {
        let start = cursor
        while cursor < document.count, document[cursor] >= UInt8(ascii: "0"), document[cursor] <= UInt8(ascii: "9") {
            cursor += 1
        }
        return cursor > start ? start..<cursor : nil
    }

    static func literal(_ document: [UInt8], _ cursor: inout Int, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard cursor + bytes.count <= document.count,
              document[cursor..<(cursor + bytes.count)].elementsEqual(bytes) else { return false }
        cursor += bytes.count
        return true
    }
}
