import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

@Suite("Cache corruption")
struct CacheCorruptionTests {
    /// A small cache with a fixed packed column, a per-row column, a variable column, ids and targets.
    static func makeCache(in directory: String) throws -> (path: String, bytes: [UInt8]) {
        let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(6),
                                                [CacheFixtures.fixedEncoder(.uint8, [260]),
                                                 CacheFixtures.variableEncoder(.int16, length: { $0 % 3 * 4 })],
                                                target: RecordTargetEncoder.label(column: "label"))
        let (cache, _) = try CacheFixtures.build(dataSet, in: directory, name: "good.dgcache")
        _ = try cache.verify()
        return (cache.path, try CacheFixtures.bytes(cache.path))
    }

    /// Opens and fully verifies the file at `path`.
    static func openAndVerify(_ path: String) throws {
        let cache = try CacheFile(path: path)
        _ = try cache.verify()
    }

    @Test("flipping any single byte of the file gives a typed error at open or verify, never a crash or success")
    func everyByteFlipIsDetected() throws {
        try CacheFixtures.withDirectory { directory in
            let (_, good) = try Self.makeCache(in: directory)
            let path = directory + "/flipped.dgcache"
            var undetected = [Int]()
            for position in good.indices {
                var bytes = good
                bytes[position] ^= 0x5A
                try FileIO.write(bytes, to: path)
                do {
                    try Self.openAndVerify(path)
                    undetected.append(position)
                } catch is CacheError {
                } catch {
                    Issue.record("byte \(position): untyped error \(error)")
                }
            }
            #expect(undetected == [], "flips at these offsets went unnoticed")
        }
    }

    @Test("each region's damage gives its own error: header, data unit, metadata, tables, trailer")
    func regionsGiveTheirErrors() throws {
        try CacheFixtures.withDirectory { directory in
            let (goodPath, good) = try Self.makeCache(in: directory)
            let cache = try CacheFile(path: goodPath)
            let path = directory + "/bad.dgcache"
            func damaged(at position: Int, _ body: () throws -> Void) throws -> CacheError? {
                var bytes = good
                bytes[position] ^= 0xFF
                try FileIO.write(bytes, to: path)
                return CacheFixtures.cacheError(body)
            }
            #expect(try damaged(at: 0) { _ = try CacheFile(path: path) } == .notACache(path: path))
            #expect(try damaged(at: 20) { _ = try CacheFile(path: path) }?.description.contains("header") == true)
            let unit = try cache.stores[0].unit(0)
            let dataError = try damaged(at: Int(unit.offset) + 1) { _ = try CacheFile(path: path).gather(column: "data0", rows: [0]) }
            #expect(dataError == .checksumMismatch(path: path, what: "unit 0 (rows 0..<1)", column: "data0", offset: unit.offset))
            #expect(dataError?.description.contains("data0") == true)
            let size = good.count
            let trailer = size - CacheFormat.trailerSize
            let metadataEnd = trailer - 1
            #expect(try damaged(at: metadataEnd) { _ = try CacheFile(path: path) }
                    == .checksumMismatch(path: path, what: "metadata", column: nil, offset: UInt64(trailer) - cache.file.bytes(at: UInt64(trailer) + 16, count: 8)!.loadLittleEndianUInt64(at: 0)))
            let table = cache.stores[1].rowOffsets!
            let tableError = try damaged(at: Int(table.offset) + 8) { _ = try CacheFile(path: path).gatherVariable(column: "data1", rows: [1]) }
            #expect(tableError == .checksumMismatch(path: path, what: "row-offset table", column: "data1", offset: table.offset))
            #expect(try damaged(at: size - 1) { _ = try CacheFile(path: path) } == .truncated(path: path))
            #expect(try damaged(at: trailer + 40) { _ = try CacheFile(path: path) }?.description.contains("trailer") == true)
        }
    }

    @Test("truncating the file at many lengths gives truncated (notACache when empty)")
    func everyTruncationIsDetected() throws {
        try CacheFixtures.withDirectory { directory in
            let (_, good) = try Self.makeCache(in: directory)
            let path = directory + "/cut.dgcache"
            let lengths = Set(Array(0..<300) + Array(stride(from: 300, to: good.count, by: 7)) + Array((good.count - 300)..<good.count))
            for length in lengths.sorted() where length < good.count {
                try FileIO.write(Array(good.prefix(length)), to: path)
                let error = CacheFixtures.cacheError { _ = try CacheFile(path: path) }
                #expect(error == (length == 0 ? .notACache(path: path) : .truncated(path: path)), "length \(length)")
            }
        }
    }

    @Test("a newer format version is unsupportedVersion naming the version found")
    func newerVersionIsRefused() throws {
        try CacheFixtures.withDirectory { directory in
            var (_, bytes) = try Self.makeCache(in: directory)
            bytes[8] = 4
            bytes[bytes.count - CacheFormat.trailerSize + 28] = 4
            let path = directory + "/v4.dgcache"
            try FileIO.write(bytes, to: path)
            let error = CacheFixtures.cacheError { _ = try CacheFile(path: path) }
            #expect(error == .unsupportedVersion(path: path, found: 4, supported: 3))
            #expect(error?.description.contains("version 4") == true)
        }
    }

    @Test("a foreign file is notACache; a missing one is an io error naming the path")
    func foreignAndMissingFiles() throws {
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/inventory.csv"
            try Fixtures.write("id,label\nr0,a\n", to: path)
            #expect(CacheFixtures.cacheError { _ = try CacheFile(path: path) } == .notACache(path: path))
            let missingPath = directory + "/none.dgcache"
            let missing = CacheFixtures.cacheError { _ = try CacheFile(path: missingPath) }
            #expect(missing == .io(path: missingPath, operation: "open", errno: ENOENT))
            #expect(missing?.description.contains("none.dgcache: No such file") == true)
        }
    }
}

@Suite("Stale caches")
struct CacheStaleTests {
    static let encoder = CacheFixtures.fixedEncoder(.float32, [4])

    static func dataSet(_ inventory: Inventory, encoder: any DataEncoding = encoder) throws -> GeneratorDataSet {
        try CacheFixtures.dataSet(inventory, [encoder], target: RecordTargetEncoder.label(column: "label"))
    }

    @Test("a cache opened for the data set it was built from is not stale")
    func matchingDataSetOpens() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.dataSet(try CacheFixtures.inventory(10))
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
            #expect(try CacheFile(path: cache.path, for: dataSet).rowCount == 10)
            #expect(try CacheFile(path: cache.path, expecting: CacheFingerprint(dataSet: dataSet)).fingerprint == cache.fingerprint)
        }
    }

    @Test("a changed inventory row makes the cache stale, naming the rows")
    func changedRowIsStale() throws {
        try CacheFixtures.withDirectory { directory in
            let inventory = try CacheFixtures.inventory(10)
            let (cache, _) = try CacheFixtures.build(try Self.dataSet(inventory), in: directory)
            var labels = try inventory.column("label")
            labels[4] = "c"
            let changed = try Self.dataSet(try inventory.adding(column: "label", values: labels))
            let error = CacheFixtures.cacheError { _ = try CacheFile(path: cache.path, for: changed) }
            guard case let .stale(_, differences) = error else { Issue.record("expected stale, got \(String(describing: error))"); return }
            #expect(differences.count == 1 && differences[0].contains("inventory rows"))
            #expect(error!.description.contains("inventory rows"))
            let byFingerprint = CacheFixtures.cacheError { _ = try CacheFile(path: cache.path, expecting: CacheFingerprint(dataSet: changed)) }
            #expect(byFingerprint?.description.contains("inventory rows") == true)
        }
    }

    @Test("a changed encoder identity makes the cache stale, naming the column and both identities")
    func changedEncoderIsStale() throws {
        try CacheFixtures.withDirectory { directory in
            let inventory = try CacheFixtures.inventory(10)
            let (cache, _) = try CacheFixtures.build(try Self.dataSet(inventory), in: directory)
            let changed = try Self.dataSet(inventory, encoder: CacheFixtures.fixedEncoder(.float32, [4], salt: 9))
            let error = CacheFixtures.cacheError { _ = try CacheFile(path: cache.path, for: changed) }
            guard case let .stale(_, differences) = error else { Issue.record("expected stale, got \(String(describing: error))"); return }
            #expect(differences == ["the encoder of column 'data' differs (cache: 'fixed(float32[4],salt=0)@1', data set: 'fixed(float32[4],salt=9)@1')"])
        }
    }

    @Test("a changed shape makes the cache stale, naming the schema")
    func changedSchemaIsStale() throws {
        try CacheFixtures.withDirectory { directory in
            let inventory = try CacheFixtures.inventory(10)
            let (cache, _) = try CacheFixtures.build(try Self.dataSet(inventory), in: directory)
            let reshaped = ClosureEncoder(identity: Self.encoder.identity, output: ArraySpec(.float32, [2, 2])) {
                try Self.encoder.encode($0).reshaped([2, 2])
            }
            let error = CacheFixtures.cacheError { _ = try CacheFile(path: cache.path, for: try Self.dataSet(inventory, encoder: reshaped)) }
            #expect(error?.description.contains("schema differs") == true)
            #expect(error?.description.contains("float32[2,2]") == true)
        }
    }

    @Test("source files that changed since the build are reported with row, id and path; a rebuild is no longer a no-op")
    func changedSourcesAreReported() throws {
        try CacheFixtures.withDirectory { directory in
            for row in 0..<6 { try Fixtures.write("\(row) 1", to: "\(directory)/r\(row).txt") }
            let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"), identity: "pair@1",
                                          output: ArraySpec(.int32, [2])) { contents in
                NDArray(String(decoding: contents.bytes, as: UTF8.self).split(separator: " ").map { Int32($0)! })
            }
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(6), [encoder])
            let path = directory + "/files.dgcache"
            _ = try CacheBuilder(dataSet: dataSet, output: path).build()
            let cache = try CacheFile(path: path)
            #expect(cache.sourceColumn == "data")
            #expect(try cache.sourceStamp(ofRow: 2)?.size == 3)
            #expect(try cache.changedSources(in: dataSet) == [])
            #expect(try CacheBuilder(dataSet: dataSet, output: path).build().upToDate)
            try Fixtures.write("4 1000", to: "\(directory)/r4.txt")
            let changes = try cache.changedSources(in: dataSet)
            #expect(changes == [ChangedSource(row: 4, id: "r4", path: "\(directory)/r4.txt", change: "size 3 → 6")])
            #expect(changes.first?.description.contains("r4.txt") == true)
            #expect(try !CacheBuilder(dataSet: dataSet, output: path).build().upToDate)
            #expect(try CacheFile(path: path).changedSources(in: dataSet) == [])
            _ = try CacheFile(path: path).verify()
        }
    }

    @Test func aCorruptUncompressedRowIsRefusedWhenFirstServedNamingItsUnit() throws {
        let dataSet = try CachedEpochMemoryTests.noiseDataSet(count: 64, rowBytes: 256)
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/plain.dgcache"
            let cached = try dataSet.cached(at: path, options: CacheBuildOptions(codec: CacheCodec.none, workers: 1))
            let store = try #require(cached.cache.stores.first { $0.name == cached.dataColumns[0].name })
            let unit = try store.unit(5)
            var bytes = try CacheFixtures.bytes(path)
            bytes[Int(unit.offset) + 17] ^= 0x40
            try FileIO.write(bytes, to: path)
            let reopened = try CachedDataSet(path: path)
            #expect(reopened.resident.isResident(cached.dataColumns[0].name), "served from the mapping")
            let options = BatchOptions(batchSize: 8, epochs: 1, truncate: false, order: .none, seed: 0, workers: 2)
            let error = CacheFixtures.cacheError { try reopened.forEachBatch(options) { _ in true } }
            guard case .checksumMismatch(_, let what, let column, _)? = error else {
                Issue.record("expected a checksum mismatch, got \(String(describing: error))")
                return
            }
            #expect(what.contains("unit 5"))
            #expect(column == cached.dataColumns[0].name)
        }
    }
}
