import Testing
@testable import CDataGenerator
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The C API on cache sets: `dg_set_create` writes the manifest, and `dg_open` opens it as one
/// cache whose batches, ids and info are the single file's.
@Suite("C API cache sets")
struct SetCAPITests {
    /// 11 records (ids `rec0…`), a float32[2] column keyed on the id, labels a, b; built whole and
    /// as 3 shards in `directory`. Returns the whole file's and the shards' paths.
    static func build(in directory: String) throws -> (whole: String, shards: [String]) {
        let inventory = try Inventory(columns: [("id", (0..<11).map { "rec\($0)" }),
                                                ("label", (0..<11).map { ["a", "b"][$0 % 2] })])
        let pairs = ClosureEncoder(identity: "pairs@1", output: ArraySpec(.float32, [2])) { record in
            let number = Float(Int(record.id!.dropFirst(3))!)
            return try NDArray(dtype: .float32, shape: [2], bytes: [number, -number].flatMap {
                withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init)
            })
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: [pairs], targetEncoder: RecordTargetEncoder.label(column: "label"))
        try dataSet.fitEncoders()
        let options = CacheBuildOptions(workers: 0, rowsPerGroup: 3)
        let whole = directory + "/whole.dgcache"
        _ = try CacheBuilder(dataSet: dataSet, output: whole, options: options).build()
        let shards = try (0..<3).map { index in
            let path = directory + "/s\(index).dgcache"
            _ = try CacheBuilder(dataSet: try dataSet.subset(rows: (index * 11 / 3)..<((index + 1) * 11 / 3)), output: path, options: options).build()
            return path
        }
        return (whole, shards)
    }

    static func lastError() -> String { WriterCAPITests.lastError() }

    /// Every batch's bytes (data, then targets) of `path` through the C iterator.
    static func batches(_ path: String, shuffle: Int32, rank: Int64, world: Int64, workers: Int32) throws -> [[UInt8]] {
        var cache: OpaquePointer?
        #expect(dg_open(path, 0, &cache) == 0, "\(lastError())")
        defer { dg_close(cache) }
        var iterator: OpaquePointer?
        #expect(dg_iterator_create(cache, nil, 0, 2, shuffle, 9, 0, 2, rank, world, 0, workers, 0, &iterator) == 0, "\(lastError())")
        defer { dg_iterator_free(iterator) }
        var result = [[UInt8]]()
        while true {
            var rows: Int64 = 0
            let status = dg_iterator_peek(iterator, &rows, nil)
            if status == 1 { break }
            #expect(status == 0, "\(lastError())")
            var data = [UInt8](repeating: 0, count: Int(rows) * 8)
            var targets = [UInt8](repeating: 0, count: Int(rows) * 8)
            let filled = data.withUnsafeMutableBytes { d in
                targets.withUnsafeMutableBytes { t in
                    let buffers: [UnsafeMutableRawPointer?] = [d.baseAddress, t.baseAddress]
                    let capacities: [Int64] = [Int64(d.count), Int64(t.count)]
                    return dg_iterator_fill(iterator, buffers, capacities, nil)
                }
            }
            #expect(filled == 0, "\(lastError())")
            result.append(data + targets)
        }
        return result
    }

    @Test func aSetOpensAsOneCacheServingTheSingleFilesBatchesIdsAndInfo() throws {
        try WriterCAPITests.withDirectory { directory in
            let (whole, shards) = try Self.build(in: directory)
            let manifest = directory + "/set.dgset"
            let status = shards.withCStrings { dg_set_create(manifest, $0, Int64(shards.count)) }
            #expect(status == 0, "\(Self.lastError())")
            for (shuffle, rank, world, workers) in [(Int32(0), Int64(0), Int64(1), Int32(0)), (1, 0, 1, 2), (1, 1, 2, 1), (2, 0, 3, 0)] {
                let expected = try Self.batches(whole, shuffle: shuffle, rank: rank, world: world, workers: workers)
                #expect(!expected.isEmpty)
                #expect(try Self.batches(manifest, shuffle: shuffle, rank: rank, world: world, workers: workers) == expected)
            }
            var cache: OpaquePointer?
            #expect(dg_open(manifest, 0, &cache) == 0, "\(Self.lastError())")
            defer { dg_close(cache) }
            var length: Int64 = 0
            #expect(dg_info_json(cache, nil, 0, &length) == 0)
            var text = [CChar](repeating: 0, count: Int(length) + 1)
            #expect(dg_info_json(cache, &text, length + 1, &length) == 0)
            let info = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let set = try CacheSet(path: manifest)
            #expect(info.contains("\"rows\":11") && info.contains("\"fingerprint\":\"\(set.fingerprint)\""))
            #expect(info.contains("\"set\":{\"manifest\":\"\(manifest)\"") && info.contains("\"first_row\":7"), "\(info)")
            var id = [CChar](repeating: 0, count: 64)
            #expect(dg_row_id(cache, 8, &id, 64, &length) == 0)
            #expect(String(decoding: id.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == "rec8")  // global row 8: shard 2's row 1
            #expect(dg_verify(cache) == 0)
        }
    }

    @Test func creatingOrOpeningASetWithAMissingShardNamesIt() throws {
        try WriterCAPITests.withDirectory { directory in
            let (_, shards) = try Self.build(in: directory)
            let missing = shards + [directory + "/gone.dgcache"]
            let status = missing.withCStrings { dg_set_create(directory + "/bad.dgset", $0, Int64(missing.count)) }
            #expect(status == Status.cache)
            #expect(dg_last_error_kind() == Fault.notFound)
            #expect(Self.lastError().contains("shard 3 (\(directory)/gone.dgcache)"), "\(Self.lastError())")
            #expect(dg_set_create(directory + "/none.dgset", nil, 0) == Status.argument)
            // A set whose first shard went missing after it was written.
            let manifest = directory + "/set.dgset"
            #expect(shards.withCStrings { dg_set_create(manifest, $0, Int64(shards.count)) } == 0)
            #expect(unlink(shards[0]) == 0)
            var cache: OpaquePointer?
            #expect(dg_open(manifest, 0, &cache) == Status.cache)
            #expect(dg_last_error_kind() == Fault.notFound)
            #expect(Self.lastError().contains("shard 0 (\(shards[0]))"))
        }
    }
}

extension Array where Element == String {
    /// Calls `body` with the strings as a C array of NUL-terminated strings.
    func withCStrings<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
