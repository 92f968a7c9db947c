import Testing
@testable import DataGenerator

/// Fixtures of the cache set tests: one inventory built whole and in shards.
enum SetFixtures {
    /// The inventory number of a record (`r12` → 12): shard builds renumber their records' rows,
    /// so the encoders key their bytes on the id.
    static func number(_ record: Record) -> Int { Int(record.id!.dropFirst())! }

    /// 13 records with ids `r0…r12`; records 3, 4 and 5 fail to encode (skipped), so that in 4
    /// shards ([0, 3), [3, 6), [6, 9), [9, 13)) the second has no rows.
    static func dataSet() throws -> GeneratorDataSet {
        let pixels = ClosureEncoder(identity: "pixels-by-id@1", output: ArraySpec(.float32, [3])) { record in
            let number = number(record)
            if (3...5).contains(number) {
                throw EncodingError.malformedData(row: record.row, id: record.id, location: nil, reason: "bad pixel")
            }
            return try NDArray(dtype: .float32, shape: [3], bytes: CacheFixtures.rowBytes(row: number, count: 12, salt: 1))
        }
        let tokens = ClosureEncoder(identity: "tokens-by-id@1", output: ArraySpec(.uint8, [5])) { record in
            try NDArray(dtype: .uint8, shape: [5], bytes: CacheFixtures.rowBytes(row: number(record), count: 5, salt: 2))
        }
        return try CacheFixtures.dataSet(try CacheFixtures.inventory(13), [pixels, tokens],
                                         target: RecordTargetEncoder.label(column: "label"))
    }

    /// The shards' rows of `count` records in `shards` parts, as `--shard K/N` cuts them.
    static func ranges(_ count: Int, _ shards: Int) -> [Range<Int>] {
        (0..<shards).map { ($0 * count / shards)..<(($0 + 1) * count / shards) }
    }

    /// Builds `whole.dgcache` and `shard-K.dgcache` (4 shards) of ``dataSet()`` in `directory`, and
    /// the manifest `set.dgset` over the shards; returns both paths.
    static func build(in directory: String, codec: CacheCodec = .lz4, shards: Int = 4) throws -> (whole: String, set: String) {
        let dataSet = try dataSet()
        let options = CacheBuildOptions(codec: codec, workers: 2, onError: .skip, rowsPerGroup: 2)
        let whole = directory + "/whole.dgcache"
        _ = try CacheBuilder(dataSet: dataSet, output: whole, options: options).build()
        var paths = [String]()
        for (index, rows) in ranges(dataSet.size, shards).enumerated() {
            let path = directory + "/shard-\(index).dgcache"
            _ = try CacheBuilder(dataSet: try dataSet.subset(rows: rows), output: path, options: options).build()
            paths.append(path)
        }
        let set = directory + "/set.dgset"
        try CacheSet.create(at: set, shards: paths)
        return (whole, set)
    }

    /// The digest of every batch of `dataSet` under `options` (owning path).
    static func digest(_ dataSet: CachedDataSet, _ options: BatchOptions) throws -> String {
        var digest = BatchDigest()
        let cursor = try dataSet.batches(options)
        while let batch = try cursor.next() { digest.add(batch) }
        return digest.hexDigest()
    }

    /// The digest of every batch of `dataSet` under `options` (lending path).
    static func lentDigest(_ dataSet: CachedDataSet, _ options: BatchOptions) throws -> String {
        var digest = BatchDigest()
        try dataSet.forEachBatch(options) { batch in
            digest.add(batch)
            return true
        }
        return digest.hexDigest()
    }
}

@Suite struct CacheSetServingTests {
    @Test func aSetOfShardsServesTheBatchesOfTheSingleFileBuiltFromTheSameInventory() throws {
        try CacheFixtures.withDirectory { directory in
            let (wholePath, setPath) = try SetFixtures.build(in: directory)
            let whole = try CachedDataSet(path: wholePath)
            let set = try CachedDataSet(path: setPath)
            guard case let .set(cacheSet) = set.source else { Issue.record("a .dgset opens as a set"); return }
            #expect(cacheSet.shardCount == 4)
            #expect((0..<4).map { cacheSet.rows(ofShard: $0).count } == [3, 0, 3, 4])  // records 3...5 skipped
            #expect(set.size == whole.size && set.size == 10)
            #expect(set.classes == whole.classes)
            #expect(try (0..<10).map { try set.source.id(ofRow: $0) } == (0..<10).map { try whole.cache.id(ofRow: $0) })
            let orders: [EpochOrder] = [.none, .full, .window(rowsPerBlock: 2, blocksPerWindow: 2)]
            for order in orders {
                for workers in [0, 1, 3] {
                    for (rank, world) in [(0, 1), (0, 2), (1, 2), (2, 3)] {
                        let options = BatchOptions(batchSize: 3, epochs: 2, truncate: false, order: order, seed: 7,
                                                   shard: try Shard(rank: rank, worldSize: world), workers: workers)
                        let expected = try SetFixtures.digest(whole, options)
                        #expect(try SetFixtures.digest(set, options) == expected, "\(order) workers \(workers) rank \(rank)/\(world)")
                        #expect(try SetFixtures.lentDigest(set, options) == expected, "lent: \(order) workers \(workers) rank \(rank)/\(world)")
                    }
                }
            }
        }
    }

    @Test func everyColumnPathServesTheSameBatches() throws {
        // Resident (decoded per shard), streamed (budget 0) and mapped (codec none) columns.
        for codec in [CacheCodec.lz4, .none] {
            try CacheFixtures.withDirectory { directory in
                let (wholePath, setPath) = try SetFixtures.build(in: directory, codec: codec)
                for budget in [0, 100, 1 << 30] {
                    var whole = try CachedDataSet(path: wholePath)
                    var set = try CachedDataSet(path: setPath)
                    whole.memoryBudget = budget
                    set.memoryBudget = budget
                    #expect(set.resident.residentBytes == whole.resident.residentBytes, "\(codec) budget \(budget)")
                    for column in set.dataColumns + [set.targetColumn!] {
                        #expect(set.resident.isResident(column.name) == whole.resident.isResident(column.name))
                    }
                    let options = BatchOptions(batchSize: 4, epochs: 3, truncate: false, order: .full, seed: 3, workers: 2)
                    let expected = try SetFixtures.digest(whole, options)
                    #expect(try SetFixtures.digest(set, options) == expected, "\(codec) budget \(budget)")
                    #expect(try SetFixtures.lentDigest(set, options) == expected, "\(codec) budget \(budget)")
                    let pixels = try set.serving(column: set.dataColumns[0].name, as: .float64, scale: 0.5)
                    let wholePixels = try whole.serving(column: whole.dataColumns[0].name, as: .float64, scale: 0.5)
                    #expect(try SetFixtures.digest(pixels, options) == SetFixtures.digest(wholePixels, options))
                    #expect(try set.data() == whole.data() && set.targets() == whole.targets())
                }
            }
        }
    }

    @Test func aBatchRingOverASetFillsTheSlotsWithTheSingleFilesBatches() throws {
        try CacheFixtures.withDirectory { directory in
            let (wholePath, setPath) = try SetFixtures.build(in: directory)
            let whole = try CachedDataSet(path: wholePath)
            let set = try CachedDataSet(path: setPath)
            let options = BatchOptions(batchSize: 4, epochs: 2, truncate: true, order: .full, seed: 11, workers: 2)
            func run(_ dataSet: CachedDataSet) throws -> [[[UInt8]]] {
                let rowBytes = (dataSet.dataColumns + [dataSet.targetColumn!]).map(\.rowBytes)
                let buffers = (0..<4).map { _ in rowBytes.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0 * 4, alignment: 64) } }
                defer { for set in buffers { for buffer in set { buffer.deallocate() } } }
                let ring = try BatchRing(dataSet: dataSet, options: options, buffers: buffers)
                defer { ring.stop() }
                var batches = [[[UInt8]]]()
                while let delivery = try ring.next() {
                    batches.append(zip(buffers[delivery.slot], rowBytes).map { Array($0[..<(delivery.count * $1)]) })
                }
                return batches
            }
            let expected = try run(whole)
            #expect(expected.count == 4)
            #expect(try run(set) == expected)
        }
    }

    @Test func aCheckpointTakenOnASetCarriesTheSetsFingerprintAndResumesTheRun() throws {
        try CacheFixtures.withDirectory { directory in
            let (wholePath, setPath) = try SetFixtures.build(in: directory)
            let whole = try CachedDataSet(path: wholePath)
            let set = try CachedDataSet(path: setPath)
            let options = BatchOptions(batchSize: 3, epochs: 3, truncate: false, order: .full, seed: 5, workers: 2)
            let uninterrupted = try whole.batches(options).collect()
            let cursor = try set.batches(options)
            var served = [Batch]()
            for _ in 0..<5 { served.append(try #require(try cursor.next())) }
            let saved = cursor.checkpoint
            guard case let .set(cacheSet) = set.source else { Issue.record("a .dgset opens as a set"); return }
            #expect(saved.fingerprint == cacheSet.fingerprint)
            #expect(saved.fingerprint != whole.cache.fingerprint.value)
            let resumed = try set.batches(options, resumingFrom: saved).collect()
            #expect(served + resumed == uninterrupted)
            // The state belongs to the set: the single file refuses it, and the set refuses the file's.
            #expect(throws: CacheError.self) { try whole.batches(options, resumingFrom: saved) }
            let fileCursor = try whole.batches(options)
            _ = try fileCursor.next()
            #expect(throws: CacheError.self) { try set.batches(options, resumingFrom: fileCursor.checkpoint) }
        }
    }

    @Test func splitsSubsetsAndVariableLengthColumnsOfASetMatchTheSingleFile() throws {
        try CacheFixtures.withDirectory { directory in
            let tokens = CacheFixtures.variableEncoder(.int16, salt: 4) { $0 % 4 }
            let byID = ClosureEncoder(identity: "variable-by-id@1", output: tokens.outputSpec) { record in
                let number = SetFixtures.number(record)
                return try NDArray(dtype: .int16, shape: [number % 4],
                                   bytes: CacheFixtures.rowBytes(row: number, count: (number % 4) * 2, salt: 4))
            }
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(9), [byID],
                                                    target: RecordTargetEncoder.label(column: "label"))
            let options = CacheBuildOptions(workers: 1, rowsPerGroup: 2)
            _ = try CacheBuilder(dataSet: dataSet, output: directory + "/whole.dgcache", options: options).build()
            var shards = [String]()
            for (index, rows) in SetFixtures.ranges(9, 3).enumerated() {
                shards.append(directory + "/part\(index).dgcache")
                _ = try CacheBuilder(dataSet: try dataSet.subset(rows: rows), output: shards[index], options: options).build()
            }
            try CacheSet.create(at: directory + "/v.dgset", shards: shards)
            let whole = try CachedDataSet(path: directory + "/whole.dgcache")
            let set = try CachedDataSet(path: directory + "/v.dgset")
            let batchOptions = BatchOptions(batchSize: 2, epochs: 2, truncate: false, order: .full, seed: 9, workers: 2)
            #expect(try SetFixtures.digest(set, batchOptions) == SetFixtures.digest(whole, batchOptions))
            let setParts = try set.split(validation: 0.3, seed: 4, stratified: true)
            let wholeParts = try whole.split(validation: 0.3, seed: 4, stratified: true)
            #expect(setParts.training.rows == wholeParts.training.rows && setParts.validation.rows == wholeParts.validation.rows)
            #expect(try SetFixtures.digest(setParts.validation, batchOptions) == SetFixtures.digest(wholeParts.validation, batchOptions))
            let subset = try set.subset(rows: [8, 0, 4, 4])
            #expect(try subset.data() == whole.subset(rows: [8, 0, 4, 4]).data())
        }
    }
}
