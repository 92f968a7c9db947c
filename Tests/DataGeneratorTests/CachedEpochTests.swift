import Testing
@testable import DataGenerator

/// Cached mode serves exactly what uncached mode serves, from the cache file.
@Suite struct CachedEpochTests {
    /// A data set of `count` records with a float32 image-like input, a variable-length int16
    /// input and labels, all pure functions of the row.
    static func dataSet(count: Int = 57, variable: Bool = true) throws -> GeneratorDataSet {
        let inventory = try Inventory(records: (0..<count).map { ["id": "r\($0)", "target": "class\($0 % 4)"] },
                                      columns: ["id", "target"])
        let pixels = ClosureEncoder(identity: "pixels@1", output: ArraySpec(.float32, [4, 5])) { record in
            let row = Int(record["id"]!.dropFirst())!
            return NDArray((0..<20).map { Float(($0 * 7 + row * 13) % 23) / 23 }, shape: [4, 5])
        }
        let tokens = ClosureEncoder(identity: "tokens@1", output: .variableLength(.int16, trailing: [2])) { record in
            let row = Int(record["id"]!.dropFirst())!
            let length = row % 5
            return NDArray((0..<(length * 2)).map { Int16($0 + row) }, shape: [length, 2])
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: variable ? [pixels, tokens] : [pixels],
                                       targetEncoder: RecordTargetEncoder.oneHot())
        try dataSet.fitEncoders()
        return dataSet
    }

    func withCache<R>(_ dataSet: GeneratorDataSet, codec: CacheCodec = .lz4,
                      _ body: (CachedDataSet) throws -> R) throws -> R {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let cached = try dataSet.cached(at: directory + "/set.dgcache", options: CacheBuildOptions(codec: codec, workers: 2))
        return try body(cached)
    }

    @Test(arguments: [EpochOrder.none, .full, .window(rowsPerBlock: 8, blocksPerWindow: 2)], [true, false])
    func cachedBatchesEqualUncachedBatches(order: EpochOrder, truncate: Bool) throws {
        let dataSet = try Self.dataSet()
        let options = BatchOptions(batchSize: 8, epochs: 3, truncate: truncate, order: order, seed: 42, workers: 2)
        let expected = try dataSet.batches(options).collect()
        for codec in CacheCodec.allCases {
            let served = try withCache(dataSet, codec: codec) { try $0.batches(options).collect() }
            #expect(served == expected, "codec \(codec)")
        }
    }

    @Test func batchesDoNotDependOnTheNumberOfWorkers() throws {
        let dataSet = try Self.dataSet()
        try withCache(dataSet) { (cached) throws in
            let batches = try [0, 1, 2, 8].map { workers in
                try cached.batches(BatchOptions(batchSize: 5, epochs: 2, truncate: false, order: .full, seed: 3, workers: workers)).collect()
            }
            for other in batches.dropFirst() { #expect(other == batches[0]) }
        }
    }

    @Test func residentAndStreamedColumnsServeTheSameBatches() throws {
        let dataSet = try Self.dataSet()
        try withCache(dataSet) { (cached) throws in
            var streamed = cached
            streamed.memoryBudget = 0
            var resident = cached
            resident.memoryBudget = 1 << 30
            let options = BatchOptions(batchSize: 7, epochs: 3, truncate: false, order: .full, seed: 11, workers: 2)
            let expected = try dataSet.batches(options).collect()
            #expect(try streamed.batches(options).collect() == expected)
            #expect(try resident.batches(options).collect() == expected)
            // A second pass is served from memory and is still identical.
            #expect(try resident.batches(options).collect() == expected)
        }
    }

    @Test(arguments: [0, 1, 3])
    func borrowedBatchesHoldTheOwnedBatchesBytes(workers: Int) throws {
        let dataSet = try Self.dataSet(variable: false)
        try withCache(dataSet) { (cached) throws in
            let options = BatchOptions(batchSize: 8, epochs: 3, truncate: false, order: .full, seed: 4, workers: workers)
            let owned = try cached.batches(options).collect()
            var served = 0
            try cached.forEachBatch(options) { borrowed in
                let expected = owned[served]
                #expect(borrowed.epoch == expected.epoch && borrowed.index == expected.index)
                #expect(Array(borrowed.rows) == expected.rows)
                #expect(Array(borrowed.data(0)) == expected.inputs[0].bytes)
                #expect(borrowed.targets.map(Array.init) == expected.targets?.bytes)
                served += 1
                return true
            }
            #expect(served == owned.count)
            var stoppedAfter = 0
            try cached.forEachBatch(options) { _ in
                stoppedAfter += 1
                return stoppedAfter < 2
            }
            #expect(stoppedAfter == 2)
        }
    }

    @Test func borrowingRefusesVariableLengthColumns() throws {
        let dataSet = try Self.dataSet(variable: true)
        try withCache(dataSet) { (cached) throws in
            #expect(!cached.canLendBatches)
            #expect(throws: CacheError.self) {
                try cached.forEachBatch(BatchOptions(batchSize: 4, epochs: 1)) { _ in true }
            }
            return ()
        }
    }

    @Test func resumingFromACheckpointContinuesTheUninterruptedRun() throws {
        let dataSet = try Self.dataSet(variable: false)
        try withCache(dataSet) { (cached) throws in
            let options = BatchOptions(batchSize: 6, epochs: 3, truncate: false, order: .full, seed: 21, workers: 2)
            let uninterrupted = try cached.batches(options).collect()
            for stop in [1, 7, 10, 15, uninterrupted.count] {
                let cursor = try cached.batches(options)
                var served = [Batch]()
                for _ in 0..<stop { served.append(try #require(try cursor.next())) }
                let saved = cursor.checkpoint
                #expect(saved.fingerprint == cached.cache.fingerprint.value)
                let resumed = try cached.batches(options, resumingFrom: saved).collect()
                #expect(served + resumed == uninterrupted, "stopped after \(stop)")
            }
            // The same holds uncached.
            let cursor = try dataSet.batches(options)
            _ = try cursor.next(); _ = try cursor.next(); _ = try cursor.next()
            let rest = try dataSet.batches(options, resumingFrom: cursor.checkpoint).collect()
            #expect(rest == Array(uninterrupted.dropFirst(3)))
        }
    }

    @Test func aCheckpointFromAnotherCacheOrRunIsRejected() throws {
        let dataSet = try Self.dataSet(count: 30, variable: false)
        let other = try Self.dataSet(count: 31, variable: false)
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let first = try dataSet.cached(at: directory + "/a.dgcache")
        let second = try other.cached(at: directory + "/b.dgcache")
        let options = BatchOptions(batchSize: 4, epochs: 2, truncate: false, order: .full, seed: 1, workers: 1)
        let cursor = try first.batches(options)
        _ = try cursor.next()
        let state = cursor.checkpoint
        #expect(throws: CacheError.self) { try second.batches(options, resumingFrom: state) }
        var changed = options
        changed.batchSize = 5
        #expect(throws: DataSetError.self) { try first.batches(changed, resumingFrom: state) }
        #expect(throws: DataSetError.self) { try dataSet.batches(options, resumingFrom: state) }
    }

    /// Uniform noise in ±0.5 added to every pixel.
    static let noise = ClosureAugmentation(identity: "noise@1") { array, random in
        NDArray(array.scalars(as: Float.self).map { $0 + Float.random(in: -0.5...0.5, using: &random) }, shape: array.shape)
    }

    @Test func augmentedCachedEpochsEqualAugmentedUncachedEpochs() throws {
        let dataSet = try Self.dataSet(variable: false).augmenting(with: Self.noise)
        try withCache(dataSet) { (cached) throws in
            #expect(cached.augmentations.count == 1)
            let options = BatchOptions(batchSize: 8, epochs: 3, truncate: false, order: .full, seed: 2, workers: 2)
            let expected = try dataSet.batches(options).collect()
            #expect(try cached.batches(options).collect() == expected)
            // Any worker count and any batch size give the same augmented values per row and epoch.
            var oneByOne = options
            oneByOne.batchSize = 3
            oneByOne.workers = 0
            let small = try cached.batches(oneByOne).collect()
            func values(_ batches: [Batch]) -> [[Int]: [Float]] {
                var result = [[Int]: [Float]]()
                for batch in batches {
                    for (position, row) in batch.rows.enumerated() {
                        result[[batch.epoch, row]] = batch.inputs[0].row(position).scalars(as: Float.self)
                    }
                }
                return result
            }
            #expect(values(small) == values(expected))
        }
    }

    @Test func augmentationsChangeEachEpochUnlessStatic() throws {
        let plain = try Self.dataSet(variable: false)
        let options = BatchOptions(batchSize: 57, epochs: 2, truncate: false, order: .none, seed: 2, workers: 1)
        let stored = try plain.batches(BatchOptions(batchSize: 57, epochs: 1, truncate: false, workers: 1)).collect()[0].inputs[0]
        let moving = try plain.augmenting(with: Self.noise).batches(options).collect()
        #expect(moving[0].inputs[0] != stored)
        #expect(moving[0].inputs[0] != moving[1].inputs[0])
        let again = try plain.augmenting(with: Self.noise).batches(options).collect()
        #expect(again == moving)  // reproducible across runs
        let fixed = try plain.augmenting(with: Self.noise, isStatic: true).batches(options).collect()
        #expect(fixed[0].inputs[0] == fixed[1].inputs[0])
        #expect(fixed[0].inputs[0] != stored)
    }

    @Test func augmentationKeysFollowTheRecordsIdNotItsPosition() throws {
        let dataSet = try Self.dataSet(variable: false).augmenting(with: Self.noise)
        let options = BatchOptions(batchSize: 1, epochs: 1, truncate: false, order: .none, seed: 2, workers: 1)
        let all = try dataSet.batches(options).collect()
        let subset = try dataSet.subset(rows: [9]).batches(options).collect()
        #expect(subset[0].inputs[0] == all[9].inputs[0])
    }

    @Test func wholeColumnsEqualUncachedDataAndTargets() throws {
        let dataSet = try Self.dataSet(variable: false)
        try withCache(dataSet) { (cached) throws in
            #expect(try cached.data() == dataSet.data())
            #expect(try cached.targets() == dataSet.targets())
            #expect(cached.classes == ["class0", "class1", "class2", "class3"])
            #expect(cached.size == 57)
        }
    }

    @Test func splitsAndSubsetsServeTheSameRowsAsUncached() throws {
        let dataSet = try Self.dataSet()
        try withCache(dataSet) { (cached) throws in
            let uncachedParts = try dataSet.split(validation: 0.2, test: 0.1, seed: 9, stratifiedBy: "target")
            let cachedParts = try cached.split(validation: 0.2, test: 0.1, seed: 9, stratified: true)
            let options = BatchOptions(batchSize: 4, epochs: 1, truncate: false, order: .full, seed: 1, workers: 1)
            #expect(try cachedParts.training.batches(options).collect() == uncachedParts.training.batches(options).collect())
            #expect(try cachedParts.validation.batches(options).collect() == uncachedParts.validation.batches(options).collect())
            #expect(try cachedParts.test.batches(options).collect() == uncachedParts.test.batches(options).collect())
            let rows = [5, 1, 40]
            #expect(try cached.subset(rows: rows).batches(options).collect() == dataSet.subset(rows: rows).batches(options).collect())
            #expect(throws: CacheError.self) { try cached.subset(rows: [57]) }
        }
    }

    @Test func dataAndTargetBatchesMatchTheirHalves() throws {
        let dataSet = try Self.dataSet()
        try withCache(dataSet) { (cached) throws in
            let options = BatchOptions(batchSize: 6, epochs: 1, truncate: true, order: .full, seed: 5, workers: 2)
            let both = try cached.batches(options).collect()
            #expect(try cached.dataBatches(options).collect() == both.map(\.inputs))
            #expect(try cached.targetBatches(options).collect() == both.map { $0.targets! })
            #expect(try cached.batchesPerEpoch(options) == 9)
        }
    }

    @Test func shardedCachedEpochsMatchUncached() throws {
        let dataSet = try Self.dataSet()
        try withCache(dataSet) { (cached) throws in
            for rank in 0..<3 {
                var options = BatchOptions(batchSize: 4, epochs: 2, truncate: false, order: .full, seed: 8, workers: 2)
                options.shard = try Shard(rank: rank, worldSize: 3)
                #expect(try cached.batches(options).collect() == dataSet.batches(options).collect())
            }
        }
    }

    @Test func openingForAChangedDataSetIsStale() throws {
        let dataSet = try Self.dataSet(count: 20)
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let path = directory + "/set.dgcache"
        _ = try dataSet.cached(at: path)
        let changed = try Self.dataSet(count: 21)
        #expect { try changed.cached(at: path, policy: .openExisting) } throws: { error in
            guard case let CacheError.stale(_, differences)? = error as? CacheError else { return false }
            return differences.contains { $0.contains("rows") }
        }
        // Building when stale replaces the cache.
        #expect(try changed.cached(at: path).size == 21)
    }
}
