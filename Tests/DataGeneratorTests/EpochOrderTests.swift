import Testing
@testable import DataGenerator

@Suite struct EpochOrderTests {
    @Test(arguments: [0, 1, 2, 3, 5, 17, 64, 1000, 4097])
    func fullOrderIsAPermutation(count: Int) {
        let rows = EpochPermutation(order: .full, seed: 3, epoch: 1, count: count).rows
        #expect(rows.sorted() == Array(0..<count))
    }

    @Test func fullOrderDependsOnSeedAndEpochOnly() {
        let a = EpochPermutation(order: .full, seed: 7, epoch: 0, count: 1000).rows
        #expect(a == EpochPermutation(order: .full, seed: 7, epoch: 0, count: 1000).rows)
        #expect(a != EpochPermutation(order: .full, seed: 7, epoch: 1, count: 1000).rows)
        #expect(a != EpochPermutation(order: .full, seed: 8, epoch: 0, count: 1000).rows)
        #expect(a != Array(0..<1000))
    }

    @Test func feistelInverseUndoesTheForwardPermutation() {
        let permutation = FeistelPermutation(count: 777, key: 99)
        for position in 0..<777 {
            #expect(permutation.position(of: permutation.element(at: position)) == position)
        }
    }

    @Test func fullOrderLooksUniform() {
        // Where does row 0 land over many epochs? Each tenth of the positions about equally often.
        var buckets = [Int](repeating: 0, count: 10)
        for epoch in 0..<2000 {
            let permutation = EpochPermutation(order: .full, seed: 1, epoch: epoch, count: 100)
            let position = (0..<100).first { permutation.row(at: $0) == 0 }!
            buckets[position / 10] += 1
        }
        #expect(buckets.allSatisfy { $0 > 120 && $0 < 280 }, "\(buckets)")
    }

    @Test func noneOrderIsInventoryOrder() {
        #expect(EpochPermutation(order: .none, seed: 5, epoch: 9, count: 6).rows == [0, 1, 2, 3, 4, 5])
    }

    @Test(arguments: [(1000, 16, 4), (1003, 16, 4), (5, 16, 4), (64, 16, 4), (65, 16, 4), (1000, 7, 3), (0, 8, 2)])
    func windowOrderIsAPermutationThatKeepsRowsInTheirWindow(count: Int, rowsPerBlock: Int, blocksPerWindow: Int) {
        let order = EpochOrder.window(rowsPerBlock: rowsPerBlock, blocksPerWindow: blocksPerWindow)
        let rows = EpochPermutation(order: order, seed: 11, epoch: 2, count: count).rows
        #expect(rows.sorted() == Array(0..<count))
        // Each run of positions forming one window touches at most blocksPerWindow blocks.
        let window = WindowOrder(count: count, rowsPerBlock: rowsPerBlock, blocksPerWindow: blocksPerWindow, seed: 11, epoch: 2)
        let windows = (count + rowsPerBlock * blocksPerWindow - 1) / max(1, rowsPerBlock * blocksPerWindow)
        var position = 0
        for w in 0..<windows {
            let size = window.size(ofWindow: w)
            #expect(window.start(ofWindow: w) == position)
            let blocks = Set(rows[position..<(position + size)].map { $0 / rowsPerBlock })
            #expect(blocks.count <= blocksPerWindow)
            position += size
        }
        #expect(position == count)
    }

    @Test(arguments: [(1000, 16, 4), (1003, 16, 4), (5, 16, 4), (1003, 7, 3), (4097, 512, 16)])
    func fillingABatchOfPositionsGivesRowAtForEach(count: Int, rowsPerBlock: Int, blocksPerWindow: Int) {
        for order in [EpochOrder.none, .full, .window(rowsPerBlock: rowsPerBlock, blocksPerWindow: blocksPerWindow)] {
            let permutation = EpochPermutation(order: order, seed: 11, epoch: 3, count: count)
            // Runs of positions as batches and shards produce them: contiguous, strided, wrapping.
            for (start, stride, length) in [(0, 1, count), (count / 3, 1, 37), (1, 3, count / 3), (count - 2, 1, 2)] {
                let positions = (0..<length).map { (start + $0 * stride) % max(count, 1) }.filter { $0 < count }
                let filled = [Int](unsafeUninitializedCapacity: positions.count) { buffer, initialized in
                    permutation.fill(positions.count, position: { positions[$0] }, into: buffer)
                    initialized = positions.count
                }
                #expect(filled == positions.map(permutation.row(at:)), "\(order) from \(start) by \(stride)")
            }
        }
    }

    @Test func windowOrderMixesWithinWindowsAndChangesPerEpoch() {
        let a = EpochPermutation(order: .window(rowsPerBlock: 10, blocksPerWindow: 4), seed: 1, epoch: 0, count: 400).rows
        let b = EpochPermutation(order: .window(rowsPerBlock: 10, blocksPerWindow: 4), seed: 1, epoch: 1, count: 400).rows
        #expect(a != b)
        // rows of consecutive positions come from different blocks (mixed, not block by block)
        let firstTen = Set(a.prefix(10).map { $0 / 10 })
        #expect(firstTen.count > 1)
    }

    @Test(arguments: [1, 2, 3, 8])
    func shardsAreDisjointAndCoverTheEpoch(worldSize: Int) throws {
        let count = 103
        var seen = [Int]()
        var perRank = Set<Int>()
        for rank in 0..<worldSize {
            let options = BatchOptions(batchSize: 4, epochs: 1, truncate: false, order: .full, seed: 5,
                                       shard: try Shard(rank: rank, worldSize: worldSize), workers: 0)
            let plan = try BatchPlan(options: options, rowCount: count)
            let rows = (0..<plan.batchesPerEpoch).flatMap { plan.rows(epoch: 0, index: $0) }
            perRank.insert(rows.count)
            seen += rows
        }
        #expect(Set(seen).count == seen.count, "ranks overlap")
        #expect(perRank.count == 1, "ranks differ in size")
        #expect(seen.count == count / worldSize * worldSize)
        let epoch = EpochPermutation(order: .full, seed: 5, epoch: 0, count: count).rows
        #expect(Set(seen) == Set(epoch.prefix(count / worldSize * worldSize)))
    }

    @Test func paddedShardsWrapToTheEpochsFirstRows() throws {
        var all = [Int]()
        for rank in 0..<4 {
            let shard = try Shard(rank: rank, worldSize: 4, remainder: .pad)
            let plan = try BatchPlan(options: BatchOptions(batchSize: 3, epochs: 1, truncate: false, shard: shard, workers: 0), rowCount: 10)
            #expect(plan.rowsPerEpoch == 3)
            all += (0..<plan.batchesPerEpoch).flatMap { plan.rows(epoch: 0, index: $0) }
        }
        #expect(all.sorted() == [0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }

    @Test func invalidShardsAreRejected() {
        #expect(throws: DataSetError.invalidShard(rank: 2, worldSize: 2)) { try Shard(rank: 2, worldSize: 2) }
        #expect(throws: DataSetError.invalidShard(rank: 0, worldSize: 0)) { try Shard(rank: 0, worldSize: 0) }
    }

    @Test func batchesAreIdenticalForAnyNumberOfWorkers() throws {
        let inventory = try Fixtures.seedInventory(size: 97, targets: 5)
        let encoder = ClosureEncoder(identity: "row-noise@1", output: ArraySpec(.float32, [4])) { record in
            var generator = SplitMix64(seed: UInt64(record.row))
            return NDArray((0..<4).map { _ in Float(generator.next() % 1000) })
        }
        let dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder, targetEncoder: Fixtures.seedTargetEncoder())
        func run(_ workers: Int) throws -> [Batch] {
            try dataSet.batches(BatchOptions(batchSize: 8, epochs: 3, truncate: false, order: .full, seed: 9,
                                             workers: workers, prefetch: 3)).collect()
        }
        let reference = try run(0)
        #expect(reference.count == 3 * 13)
        for workers in [1, 2, 8] { #expect(try run(workers) == reference, "\(workers) workers") }
        #expect(Set(reference.prefix(13).flatMap(\.rows)) == Set(0..<97))
    }

    @Test func perEpochShuffleServesEachRowOncePerEpoch() throws {
        let dataSet = GeneratorDataSet(inventory: try Fixtures.seedInventory(size: 30), dataEncoder: Fixtures.seedDataEncoder(),
                                       targetEncoder: Fixtures.seedTargetEncoder())
        let batches = try dataSet.batches(size: 5, epochs: 2, order: .full, seed: 4).collect()
        let first = batches.prefix(6).flatMap(\.rows), second = batches.suffix(6).flatMap(\.rows)
        #expect(first.sorted() == Array(0..<30))
        #expect(second.sorted() == Array(0..<30))
        #expect(first != second)
        for batch in batches {
            #expect(batch.targets!.scalars(as: Int64.self) == batch.rows.map { Int64($0 % 3) })
        }
    }

    @Test func anErrorEndsTheCursor() throws {
        let failing = ClosureEncoder(identity: "fails-at-7@1", output: ArraySpec(.float32, [])) { record in
            if record.row == 7 { throw EncodingError.malformedData(row: 7, id: record.id, location: nil, reason: "bad") }
            return NDArray(scalar: Float(record.row))
        }
        let dataSet = GeneratorDataSet(inventory: try Fixtures.seedInventory(), dataEncoder: failing)
        let cursor = try dataSet.dataBatches(size: 2, epochs: 1, workers: 2)
        #expect(try cursor.next() != nil)
        #expect(try cursor.next() != nil)
        #expect(try cursor.next() != nil)
        #expect(throws: EncodingError.self) { try cursor.next() }
        #expect(try cursor.next() == nil)
    }
}
