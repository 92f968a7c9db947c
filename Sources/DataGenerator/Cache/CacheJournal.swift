/// The side file `OUTPUT.partial.journal` that makes an interrupted build resumable.
///
/// It starts with a header naming the build (a key over the fingerprint and the options that
/// change the bytes), then holds one record per written row group, each with its own CRC-32.
/// A rerun with the same key replays the valid records and continues after the last one; any
/// other key starts the build over. docs/FORMAT.md describes the bytes.
final class CacheJournal {
    static let magic: [UInt8] = Array("DGJRNL".utf8) + [0, 0]
    static let version: UInt32 = 1

    private let file: WritableFile
    /// Offset after the last valid record.
    private(set) var end: UInt64

    /// Opens (or creates) the journal at `path` for the build named `key`.
    /// - Returns: the journal and its valid records, each with the journal offset after it. A
    ///   journal of another build, or an unreadable header, is reset to an empty journal.
    static func open(path: String, key: String) throws(WritableFile.Failure) -> (CacheJournal, [(GroupSummary, UInt64)]) {
        let file = try WritableFile(path: path)
        let size = try file.size()
        let header = Self.header(key: key)
        var records = [(GroupSummary, UInt64)]()
        var end = UInt64(header.count)
        if size >= UInt64(header.count), try file.read(count: header.count, at: 0) == header {
            let bytes = try file.read(count: Int(size) - header.count, at: end)
            var position = 0
            while bytes.count - position >= 16 {
                var reader = ByteReader(Array(bytes[position..<(position + 16)]))
                guard let length = reader.u64(), let crc = reader.u32(), length <= UInt64(bytes.count - position - 16)
                else { break }
                let payload = Array(bytes[(position + 16)..<(position + 16 + Int(length))])
                guard CRC32.checksum(payload) == crc, let summary = GroupSummary(serialized: payload) else { break }
                position += 16 + Int(length)
                records.append((summary, end + UInt64(position)))
            }
            end += UInt64(position)
        } else {
            try file.truncate(to: 0)
            try file.write(header, at: 0)
        }
        let journal = CacheJournal(file: file, end: end)
        try journal.truncate(to: end)
        return (journal, records)
    }

    private init(file: WritableFile, end: UInt64) {
        self.file = file
        self.end = end
    }

    /// The header bytes for a build key.
    static func header(key: String) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(magic)
        writer.append(version)
        writer.append(UInt32(0))
        writer.append(string: key)
        writer.append(CRC32.checksum(writer.bytes))
        writer.alignToBoundary()
        return writer.bytes
    }

    /// Drops every record after `offset`.
    func truncate(to offset: UInt64) throws(WritableFile.Failure) {
        try file.truncate(to: offset)
        end = offset
    }

    /// Appends a group's record.
    func append(_ summary: GroupSummary) throws(WritableFile.Failure) {
        let payload = summary.serialized()
        var writer = ByteWriter()
        writer.append(UInt64(payload.count))
        writer.append(CRC32.checksum(payload))
        writer.append(UInt32(0))
        writer.append(payload)
        try file.write(writer.bytes, at: end)
        end += UInt64(writer.bytes.count)
    }

    /// Closes the journal file.
    func close() throws(WritableFile.Failure) { try file.close() }
}
