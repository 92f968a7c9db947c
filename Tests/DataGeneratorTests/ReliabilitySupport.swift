import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Fixtures of the reliability tests: a small cache with every kind of column, a snapshot of
/// everything a reader can serve from it, and surgery on a cache's metadata and tables that keeps
/// the checksums right (so that the structure checks, not the CRCs, must catch the damage).
enum ReliabilityFixtures {
    /// A cache of 40 rows in groups of 16 with ids, a target, and four data columns: uint8[260]
    /// (one unit per row), float32[3] (packed), variable int16 (packed, some rows empty) and
    /// uint8[5] stored with codec `none`.
    static func buildCache(in directory: String, name: String = "sweep.dgcache") throws -> String {
        let inventory = try CacheFixtures.inventory(40)
        let dataSet = try CacheFixtures.dataSet(inventory, [CacheFixtures.fixedEncoder(.uint8, [260]),
                                                            CacheFixtures.fixedEncoder(.float32, [3], salt: 1),
                                                            CacheFixtures.variableEncoder(.int16, salt: 2, length: { $0 % 4 * 3 }),
                                                            CacheFixtures.fixedEncoder(.uint8, [5], salt: 3)],
                                                target: RecordTargetEncoder.label(column: "label"))
        let options = CacheBuildOptions(columnCodecs: ["data3": CacheCodec.none], workers: 1, rowsPerGroup: 16)
        let (cache, _) = try CacheFixtures.build(dataSet, in: directory, name: name, options: options)
        _ = try cache.verify()
        return cache.path
    }

    /// Everything a reader serves from a cache: schema, ids, classes and every row of every column.
    struct Snapshot: Equatable {
        var rowCount: Int
        var columns: [CacheColumn]
        var ids: [String]?
        var classes: [String]?
        var rows: [[UInt8]]
        var lengths: [[Int]]
        /// The fixed-shape columns again, as cached epochs serve them (decoded into memory, or
        /// straight from the mapping for the uncompressed column).
        var served: [[UInt8]]

        /// Opens the cache at `path` and reads all of it (without `verify`, as a training job does).
        init(path: String) throws(CacheError) {
            let cache = try CacheFile(path: path)
            rowCount = cache.rowCount
            columns = cache.columns
            ids = try cache.ids()
            classes = cache.classes
            rows = []
            lengths = []
            for column in cache.columns {
                // Backwards, so that every unit is decoded in an order unlike the build's.
                let gathered = try cache.gatherVariable(column: column.name, rows: (0..<cache.rowCount).reversed())
                rows.append(gathered.bytes)
                lengths.append(gathered.lengths)
            }
            served = []
            let dataSet = try CachedDataSet(path: path)
            for column in cache.columns where !column.spec.isVariableLength {
                var bytes = [UInt8](repeating: 0, count: cache.rowCount * column.rowBytes)
                try bytes.withMutableCacheBytes { (buffer) throws(CacheError) in
                    try dataSet.resident.gather(column: column.name, rows: Array((0..<cache.rowCount).reversed()), into: buffer)
                }
                served.append(bytes)
            }
        }
    }

    /// The peak resident memory of this process so far, in bytes (`getrusage`'s `ru_maxrss`).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    /// How far the process's resident memory peaked above where it stood when `body` started.
    ///
    /// The kernel's high-water mark (`VmHWM`) is reset to the current resident size first
    /// (writing `5` to `/proc/self/clear_refs`), so an earlier test's peak cannot hide this one's
    /// growth. Where that is refused, the lifetime peak is the fallback (growth then reads 0
    /// while below the earlier peak). Run such tests in a process of their own: memory other
    /// tests allocate meanwhile counts too (tools/test.sh runs these suites alone).
    static func peakGrowth(during body: () throws -> Void) rethrows -> Int {
        func status(_ key: String) -> Int? { (try? CacheFixtures.processStatus())?[key] }
        var reset = false
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        if fd >= 0 {
            reset = write(fd, "5", 1) == 1
            close(fd)
        }
        let before = reset ? (status("VmRSS") ?? peakResidentBytes()) : peakResidentBytes()
        try body()
        let after = reset ? (status("VmHWM") ?? peakResidentBytes()) : peakResidentBytes()
        return max(0, after - before)
    }
}

/// A cache file's bytes, edited the way a hostile writer would: fields of the metadata document
/// and entries of the tables changed, with every CRC recomputed so that only the reader's
/// structure and size checks stand between the lie and an allocation or a read.
struct CacheSurgery {
    var bytes: [UInt8]

    init(path: String) throws { bytes = try FileIO.readAll(path) }

    var trailer: Int { bytes.count - CacheFormat.trailerSize }
    var indexOffset: Int { Int(load64(trailer)) }
    var metadataRange: Range<Int> {
        let end = indexOffset + Int(load64(trailer + 8))
        return (end - Int(load64(trailer + 16)))..<end
    }

    /// The metadata document.
    var metadata: String { String(decoding: bytes[metadataRange], as: UTF8.self) }

    /// Replaces the metadata document, fixing the trailer's lengths and CRC.
    mutating func setMetadata(_ text: String) {
        let range = metadataRange
        let document = Array(text.utf8)
        var trailerBytes = Array(bytes[trailer...])
        let newIndexLength = UInt64(range.lowerBound - indexOffset + document.count)
        store(newIndexLength, into: &trailerBytes, at: 8)
        store(UInt64(document.count), into: &trailerBytes, at: 16)
        let crc = CRC32.checksum(document)
        for index in 0..<4 { trailerBytes[24 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        bytes = Array(bytes[..<range.lowerBound]) + document + Array(bytes[range.upperBound..<trailer]) + trailerBytes
    }

    /// Replaces the first occurrence of `old` in the metadata document by `new`.
    mutating func replaceInMetadata(_ old: String, with new: String) throws {
        let text = metadata
        guard let range = Self.firstRange(of: old, in: text) else {
            throw CacheError.invalidOption("test fixture: '\(old)' is not in the metadata")
        }
        setMetadata(String(text[..<range.lowerBound]) + new + String(text[range.upperBound...]))
    }

    /// Overwrites a u64 at absolute `offset` inside the table that starts at `tableOffset` and
    /// spans `tableLength` bytes, then fixes that table's CRC in the metadata.
    mutating func setTableValue(_ value: UInt64, at offset: Int, tableOffset: Int, tableLength: Int) throws {
        let oldCRC = CRC32.checksum(Array(bytes[tableOffset..<(tableOffset + tableLength)]))
        store(value, into: &bytes, at: offset)
        let newCRC = CRC32.checksum(Array(bytes[tableOffset..<(tableOffset + tableLength)]))
        try replaceInMetadata("\"crc32\":\(oldCRC),", with: "\"crc32\":\(newCRC),")
    }

    func write(to path: String) throws { try FileIO.write(bytes, to: path) }

    func load64(_ at: Int) -> UInt64 { bytes[at..<(at + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) } }

    func store(_ value: UInt64, into target: inout [UInt8], at: Int) {
        for index in 0..<8 { target[at + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }
}

extension CacheSurgery {
    /// The range of the first occurrence of `needle` in `text` (no Foundation in these tests).
    static func firstRange(of needle: String, in text: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var start = text.startIndex
        while start < text.endIndex {
            if text[start...].hasPrefix(needle) { return start..<text.index(start, offsetBy: needle.count) }
            text.formIndex(after: &start)
        }
        return nil
    }
}
