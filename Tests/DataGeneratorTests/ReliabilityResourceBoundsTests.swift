import Testing
@testable import DataGenerator

/// Caches whose index claims absurd sizes — rows, units, shapes, lengths, offsets — with every
/// checksum recomputed, so that only the reader's size checks stand between the claim and an
/// allocation of that size. Each must give a typed ``CacheError`` at open or when read, with the
/// process's peak memory barely moving.
@Suite("Reliability: resource bounds", .serialized)
struct ReliabilityResourceBoundsTests {
    /// One lie told by the index, applied to a fresh copy of the sweep cache.
    struct Lie: Sendable, CustomTestStringConvertible {
        var name: String
        /// What the error must mention (a column name, a field).
        var mentions: [String]
        var apply: @Sendable (inout CacheSurgery, CacheFile) throws -> Void
        var testDescription: String { name }
    }

    static let huge: UInt64 = 1 << 62

    static let lies: [Lie] = [
        Lie(name: "row count beyond any file", mentions: ["row count"]) { surgery, _ in
            try surgery.replaceInMetadata("\"rowCount\":40", with: "\"rowCount\":4611686018427387904")
        },
        Lie(name: "row count of a trillion, statistics agreeing", mentions: []) { surgery, _ in
            try surgery.replaceInMetadata("\"rowCount\":40", with: "\"rowCount\":1000000000000")
            try surgery.replaceInMetadata("\"recordsWritten\":40", with: "\"recordsWritten\":1000000000000")
            // Without ids (they are optional), nothing else in the index counts rows.
            surgery.setMetadata(try Self.removingObject(named: "ids", from: surgery.metadata))
        },
        Lie(name: "a trillion units in a column", mentions: ["data0"]) { surgery, _ in
            try surgery.replaceInMetadata("\"unitCount\":40", with: "\"unitCount\":1000000000000")
        },
        Lie(name: "a 128 GiB row (shape and raw bytes agreeing)", mentions: ["data0"]) { surgery, _ in
            try surgery.replaceInMetadata("\"rawBytes\":10400", with: "\"rawBytes\":\(40 << 37)")
            try surgery.replaceInMetadata("\"shape\":[260]", with: "\"shape\":[\(1 << 37)]")
        },
        Lie(name: "a shape whose product overflows", mentions: ["data0"]) { surgery, _ in
            try surgery.replaceInMetadata("\"shape\":[260]", with: "\"shape\":[4294967296,4294967296,4294967296]")
        },
        Lie(name: "a units table of 2^40 entries", mentions: ["data0"]) { surgery, _ in
            try surgery.replaceInMetadata("\"units\":{\"count\":40,", with: "\"units\":{\"count\":1099511627776,")
        },
        Lie(name: "an id text of 2^60 bytes", mentions: ["id text"]) { surgery, cache in
            try surgery.replaceInMetadata("\"text\":{\"count\":\(cache.idText!.count),",
                                          with: "\"text\":{\"count\":1152921504606846976,")
        },
        Lie(name: "an id offset of 2^62", mentions: ["id"]) { surgery, cache in
            let offsets = cache.idOffsets!
            try surgery.setTableValue(huge, at: Int(offsets.offset) + 8 * 40, tableOffset: Int(offsets.offset),
                                      tableLength: offsets.count * 8)
        },
        Lie(name: "a unit of 2^62 stored bytes", mentions: ["data0"]) { surgery, cache in
            let units = cache.stores[0].units
            try surgery.setTableValue(huge, at: Int(units.offset) + 24 * 5 + 8, tableOffset: Int(units.offset),
                                      tableLength: units.count * 24)
        },
        Lie(name: "a unit at offset 2^62", mentions: ["data1"]) { surgery, cache in
            let units = cache.stores[1].units
            try surgery.setTableValue(huge, at: Int(units.offset), tableOffset: Int(units.offset), tableLength: units.count * 24)
        },
        Lie(name: "a first row of 2^62", mentions: ["data1"]) { surgery, cache in
            let firstRows = cache.stores[1].firstRows!
            try surgery.setTableValue(huge, at: Int(firstRows.offset) + 8 * (firstRows.count - 1),
                                      tableOffset: Int(firstRows.offset), tableLength: firstRows.count * 8)
        },
        Lie(name: "a variable row of 2^62 bytes", mentions: ["data2"]) { surgery, cache in
            let rowOffsets = cache.stores[2].rowOffsets!
            try surgery.setTableValue(huge, at: Int(rowOffsets.offset) + 8 * 40, tableOffset: Int(rowOffsets.offset),
                                      tableLength: rowOffsets.count * 8)
        },
        Lie(name: "a variable row of 2 GB, raw bytes agreeing", mentions: ["data2"]) { surgery, cache in
            let rowOffsets = cache.stores[2].rowOffsets!
            let rawBytes = cache.stores[2].metadata.rawBytes
            let claimed: UInt64 = 2_147_483_000
            try surgery.setTableValue(claimed, at: Int(rowOffsets.offset) + 8 * 40, tableOffset: Int(rowOffsets.offset),
                                      tableLength: rowOffsets.count * 8)
            try surgery.replaceInMetadata("\"rawBytes\":\(rawBytes)", with: "\"rawBytes\":\(claimed)")
        },
        Lie(name: "metadata length of 2^62 in the trailer", mentions: []) { surgery, _ in
            surgery.store(huge, into: &surgery.bytes, at: surgery.trailer + 16)
        },
        Lie(name: "index length of 2^62 in the trailer", mentions: []) { surgery, _ in
            surgery.store(huge, into: &surgery.bytes, at: surgery.trailer + 8)
        },
    ]

    @Test("an index claiming absurd sizes is refused with a CacheError before anything that size is allocated",
          arguments: lies)
    func absurdSizesAreRefusedBeforeAllocating(_ lie: Lie) throws {
        try CacheFixtures.withDirectory { directory in
            let path = try ReliabilityFixtures.buildCache(in: directory)
            var surgery = try CacheSurgery(path: path)
            try lie.apply(&surgery, try CacheFile(path: path))
            let lying = directory + "/lying.dgcache"
            try surgery.write(to: lying)
            var error: CacheError?
            let growth = ReliabilityFixtures.peakGrowth {
                do throws(CacheError) {
                    _ = try ReliabilityFixtures.Snapshot(path: lying)
                    Issue.record("the lie went unnoticed by open and reads")
                } catch let caught {
                    error = caught
                }
                if error == nil { error = CacheFixtures.cacheError { _ = try CacheFile(path: lying).verify() } }
            }
            #expect(growth < 64 << 20, "peak memory grew by \(growth >> 20) MiB")
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains(lying), "\(message)")
            for fragment in lie.mentions { #expect(message.contains(fragment), "\(message)") }
        }
    }
}

extension ReliabilityResourceBoundsTests {
    /// A column of zero-byte rows passes every size check by its bytes (0 raw bytes for any row
    /// count), so only the units table, which the file must hold, bounds its row count: a small
    /// file claiming a trillion such rows is refused at open, naming the column, where a data
    /// set over it would otherwise allocate state for every row.
    @Test func aTrillionZeroByteRowsInAFewUnitsAreRefusedNamingTheColumn() throws {
        try CacheFixtures.withDirectory { directory in
            let inventory = try CacheFixtures.inventory(40)
            let empty = ClosureEncoder(identity: "empty@1", output: ArraySpec(.float32, [0])) { _ in
                NDArray([Float](), shape: [0])
            }
            let dataSet = try CacheFixtures.dataSet(inventory, [empty])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory, options: CacheBuildOptions(workers: 1, rowsPerGroup: 16))
            #expect(cache.stores[0].units.count == 3)  // 16 + 16 + 8 rows: a unit per row group
            var surgery = try CacheSurgery(path: cache.path)
            try surgery.replaceInMetadata("\"rowCount\":40", with: "\"rowCount\":1000000000000")
            try surgery.replaceInMetadata("\"recordsWritten\":40", with: "\"recordsWritten\":1000000000000")
            // Without ids (they are optional), nothing else in the index counts rows.
            surgery.setMetadata(try Self.removingObject(named: "ids", from: surgery.metadata))
            let lying = directory + "/zero-rows.dgcache"
            try surgery.write(to: lying)
            let error = CacheFixtures.cacheError { _ = try CacheFile(path: lying) }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("3 units cannot hold 1000000000000 rows of 0 bytes"), "\(message)")
            #expect(message.contains(cache.columns[0].name) && message.contains(lying), "\(message)")
        }
    }

    /// `json` without the member `"name":{...}` (and the comma before or after it).
    static func removingObject(named name: String, from json: String) throws -> String {
        let text = Array(json.utf8)
        let key = Array("\"\(name)\":{".utf8)
        guard let start = (0...(text.count - key.count)).first(where: { Array(text[$0..<($0 + key.count)]) == key }) else {
            throw CacheError.invalidOption("test fixture: no '\(name)' object in the metadata")
        }
        var depth = 0, end = start + key.count - 1
        repeat {
            if text[end] == UInt8(ascii: "{") { depth += 1 } else if text[end] == UInt8(ascii: "}") { depth -= 1 }
            end += 1
        } while depth > 0
        var lower = start, upper = end
        if upper < text.count, text[upper] == UInt8(ascii: ",") { upper += 1 } else if lower > 0, text[lower - 1] == UInt8(ascii: ",") { lower -= 1 }
        return String(decoding: text[..<lower] + text[upper...], as: UTF8.self)
    }
}
