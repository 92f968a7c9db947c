import Testing
@testable import DataGenerator

/// Serve-time conversion: a stored column delivered as another dtype, scaled, inside the gather.
@Suite struct CachedEpochServingTests {
    /// `count` records with uint8[4, 5] "pixels" covering all 256 values, and labels.
    static func pixelDataSet(count: Int = 61) throws -> GeneratorDataSet {
        let inventory = try Inventory(records: (0..<count).map { ["id": "p\($0)", "target": "c\($0 % 3)"] },
                                      columns: ["id", "target"])
        let pixels = ClosureEncoder(identity: "uint8-pixels@1", output: ArraySpec(.uint8, [4, 5])) { record in
            let row = Int(record["id"]!.dropFirst())!
            return NDArray((0..<20).map { UInt8(truncatingIfNeeded: $0 * 37 + row * 11) }, shape: [4, 5])
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: [pixels], targetEncoder: RecordTargetEncoder.oneHot())
        try dataSet.fitEncoders()
        return dataSet
    }

    /// `array` converted after the fact, element by element: `Float(Double(x) × scale)`.
    static func scaled(_ array: NDArray, by scale: Double) -> NDArray {
        NDArray(array.scalars(as: UInt8.self).map { Float(Double($0) * scale) }, shape: array.shape)
    }

    func withCache<R>(_ body: (GeneratorDataSet, CachedDataSet) throws -> R) throws -> R {
        let dataSet = try Self.pixelDataSet()
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        return try body(dataSet, try dataSet.cached(at: directory + "/pixels.dgcache"))
    }

    @Test(arguments: [0, 1 << 30])
    func uint8ServedAsScaledFloat32EqualsConvertingAfterTheFact(budget: Int) throws {
        try withCache { dataSet, cached in
            var stored = cached
            stored.memoryBudget = budget
            let name = stored.dataColumns[0].name
            let served = try stored.serving(column: name, as: .float32, scale: 1.0 / 255)
            #expect(served.servedSpec(input: 0) == ArraySpec(.float32, [4, 5]))
            #expect(stored.servedSpec(input: 0) == ArraySpec(.uint8, [4, 5]))
            let options = BatchOptions(batchSize: 8, epochs: 2, truncate: false, order: .full, seed: 6, workers: 2)
            let plain = try stored.batches(options).collect()
            #expect(plain == (try dataSet.batches(options).collect()))
            // Twice: the first epoch decodes (resident budget) and the second copies from memory.
            for _ in 0..<2 {
                let converted = try served.batches(options).collect()
                #expect(converted.count == plain.count)
                for (batch, original) in zip(converted, plain) {
                    #expect(batch.inputs[0].dtype == .float32)
                    #expect(batch.inputs[0] == Self.scaled(original.inputs[0], by: 1.0 / 255))
                    #expect(batch.targets == original.targets)
                    #expect(batch.rows == original.rows)
                }
            }
            #expect(try served.data()[0] == Self.scaled(try stored.data()[0], by: 1.0 / 255))
        }
    }

    @Test(arguments: [0, 2])
    func borrowedBatchesAreConvertedToo(workers: Int) throws {
        try withCache { _, cached in
            let served = try cached.serving(column: cached.dataColumns[0].name, as: .float32, scale: 1.0 / 255)
            let options = BatchOptions(batchSize: 8, epochs: 2, truncate: false, order: .window(rowsPerBlock: 8, blocksPerWindow: 2),
                                       seed: 3, workers: workers)
            let owned = try served.batches(options).collect()
            var index = 0
            try served.forEachBatch(options) { borrowed in
                #expect(borrowed.data(0).count == borrowed.count * 20 * 4)
                #expect(Array(borrowed.data(0)) == owned[index].inputs[0].bytes)
                #expect(borrowed.targets.map(Array.init) == owned[index].targets?.bytes)
                index += 1
                return true
            }
            #expect(index == owned.count)
        }
    }

    @Test(arguments: [0, 1, 3])
    func theDigestOfLentBatchesEqualsTheDigestOfOwnedOnes(workers: Int) throws {
        try withCache { _, cached in
            for order in [EpochOrder.full, .window(rowsPerBlock: 8, blocksPerWindow: 2)] {
                let options = BatchOptions(batchSize: 7, epochs: 2, truncate: false, order: order, seed: 5, workers: workers)
                var owned = BatchDigest()
                let cursor = try cached.batches(options)
                while let batch = try cursor.next() { owned.add(batch) }
                var lent = BatchDigest()
                try cached.forEachBatch(options) { batch in
                    #expect(batch.inputCount == cached.dataColumns.count)
                    lent.add(batch)
                    return true
                }
                let counts = (lent.batches, owned.batches)
                let (lentHex, ownedHex) = (lent.hexDigest(), owned.hexDigest())
                #expect(counts.0 == counts.1)
                #expect(lentHex == ownedHex, "\(order)")
            }
        }
    }

    @Test func conversionsFollowSubsetsAndSplits() throws {
        try withCache { _, cached in
            let name = cached.dataColumns[0].name
            let served = try cached.serving(column: name, as: .float64, scale: 2)
            let subset = try served.subset(rows: [4, 0, 9])
            let expected = try cached.subset(rows: [4, 0, 9]).data()[0]
            let values = try subset.data()[0]
            #expect(values.dtype == .float64)
            #expect(values.scalars(as: Double.self) == expected.scalars(as: UInt8.self).map { Double($0) * 2 })
            #expect(try served.split(validation: 0.25, seed: 1).validation.data()[0].dtype == .float64)
        }
    }

    @Test func integerTargetsClampAndTruncate() throws {
        try withCache { _, cached in
            let name = cached.dataColumns[0].name
            let halved = try cached.serving(column: name, as: .int8, scale: 0.75)
            let stored = try cached.data()[0].scalars(as: UInt8.self)
            // Expected values worked out independently of the library's conversion: truncate
            // toward zero, then clamp to -128...127.
            let expected = stored.map { Int8(max(-128, min(127, Int((Double($0) * 0.75).rounded(.towardZero))))) }
            #expect(try halved.data()[0].scalars(as: Int8.self) == expected)
            #expect(stored.contains { Double($0) * 0.75 > 127 })  // some values clamp
            #expect(stored.contains { $0 % 4 != 0 && $0 < 170 })  // some values truncate
        }
    }

    @Test func servingAnUnknownColumnNamesIt() throws {
        try withCache { _, cached in
            let error = CacheFixtures.cacheError { _ = try cached.serving(column: "pixels?", as: .float32) }
            guard case let .noSuchColumn(name, available)? = error else {
                Issue.record("expected noSuchColumn, got \(String(describing: error))")
                return
            }
            #expect(name == "pixels?")
            #expect(available.contains(cached.dataColumns[0].name))
            #expect(error!.description.contains("pixels?"))
        }
    }

    @Test func servingAVariableLengthColumnIsRefusedNamingIt() throws {
        let dataSet = try CachedEpochTests.dataSet(variable: true)
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let cached = try dataSet.cached(at: directory + "/set.dgcache")
        let variable = try #require(cached.dataColumns.first { $0.spec.isVariableLength })
        let error = CacheFixtures.cacheError { _ = try cached.serving(column: variable.name, as: .float32) }
        guard case let .wrongColumnKind(column, _)? = error else {
            Issue.record("expected wrongColumnKind, got \(String(describing: error))")
            return
        }
        #expect(column == variable.name)
        #expect(error!.description.contains(variable.name))
    }
}
