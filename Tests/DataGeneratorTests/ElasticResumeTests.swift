import Foundation
import Testing
@testable import DataGenerator

/// A checkpoint taken with W ranks restores with another world size when the global batch (batch
/// size × world size), seed, order, truncation and fingerprint agree (docs/EPOCHS.md, "Elastic
/// resume").
@Suite struct ElasticResumeTests {
    static let rows = 25
    static let globalBatch = 4
    static let consumed = 2

    func options(world: Int, rank: Int, truncate: Bool, seed: UInt64 = 5) throws -> BatchOptions {
        BatchOptions(batchSize: Self.globalBatch / world, epochs: 2, truncate: truncate, order: .full, seed: seed,
                     shard: try Shard(rank: rank, worldSize: world), workers: 0)
    }

    func withCache<R>(_ body: (CachedDataSet) throws -> R) throws -> R {
        let dataSet = try CachedEpochTests.dataSet(count: Self.rows, variable: false)
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        return try body(try dataSet.cached(at: directory + "/elastic.dgcache", options: CacheBuildOptions(workers: 1)))
    }

    /// Rank 0's checkpoint after every rank of a `world`-rank run served ``consumed`` batches.
    func checkpoint(_ cached: CachedDataSet, world: Int, truncate: Bool) throws -> IteratorState {
        let cursor = try cached.batches(try options(world: world, rank: 0, truncate: truncate))
        for _ in 0..<Self.consumed { _ = try cursor.next() }
        return cursor.checkpoint
    }

    /// For each remaining batch index of the epoch, the rows every rank serves together.
    func remainingOfEpoch(_ cached: CachedDataSet, world: Int, truncate: Bool,
                          from state: IteratorState?) throws -> [Int: [Int]] {
        var byIndex = [Int: [Int]]()
        for rank in 0..<world {
            let options = try options(world: world, rank: rank, truncate: truncate)
            let cursor = try state.map { try cached.batches(options, resumingFrom: $0) } ?? cached.batches(options)
            if state == nil { for _ in 0..<Self.consumed { _ = try cursor.next() } }
            let epoch = cursor.checkpoint.epoch
            while let batch = try cursor.next(), batch.epoch == epoch { byIndex[batch.index, default: []] += batch.rows }
        }
        return byIndex.mapValues { $0.sorted() }
    }

    /// The global order of epoch 0.
    func epochOrder(_ cached: CachedDataSet) throws -> [Int] {
        try cached.batches(BatchOptions(batchSize: Self.rows, epochs: 1, truncate: false, order: .full, seed: 5, workers: 0))
            .collect().flatMap(\.rows)
    }

    @Test(arguments: [(2, 1), (1, 2), (2, 4)])
    func withTruncationEveryRemainingGlobalBatchIsTheOneTheOldWorldWouldServe(worlds: (old: Int, new: Int)) throws {
        try withCache { (cached) throws in
            let state = try checkpoint(cached, world: worlds.old, truncate: true)
            #expect(state.samples == Self.consumed * Self.globalBatch)
            let resumed = try remainingOfEpoch(cached, world: worlds.new, truncate: true, from: state)
            #expect(resumed == (try remainingOfEpoch(cached, world: worlds.old, truncate: true, from: nil)))
            let end = Self.rows / Self.globalBatch * Self.globalBatch
            let order = try epochOrder(cached)
            #expect(resumed.values.flatMap { $0 }.sorted() == order[(Self.consumed * Self.globalBatch)..<end].sorted())
        }
    }

    @Test(arguments: [(2, 1), (1, 2), (2, 4)])
    func keepingThePartialBatchTheNewWorldServesTheRestOfTheEpochUnderItsRemainder(worlds: (old: Int, new: Int)) throws {
        try withCache { (cached) throws in
            let state = try checkpoint(cached, world: worlds.old, truncate: false)
            let served = try remainingOfEpoch(cached, world: worlds.new, truncate: false, from: state).values.flatMap { $0 }
            let end = Self.rows / worlds.new * worlds.new
            #expect(served.sorted() == (try epochOrder(cached))[(Self.consumed * Self.globalBatch)..<end].sorted())
            #expect(Set(served).count == served.count)
        }
    }

    @Test func aCheckpointOfAnotherRunIsRefusedNamingTheField() throws {
        try withCache { (cached) throws in
            let state = try checkpoint(cached, world: 2, truncate: false)
            var changes = [String: BatchOptions]()
            var options = try options(world: 1, rank: 0, truncate: false)
            options.batchSize = 3
            changes["global batch"] = options
            changes["seed"] = try self.options(world: 1, rank: 0, truncate: false, seed: 6)
            options = try self.options(world: 1, rank: 0, truncate: false)
            options.order = .none
            changes["order"] = options
            changes["truncate"] = try self.options(world: 1, rank: 0, truncate: true)
            options = try self.options(world: 2, rank: 1, truncate: false)
            options.batchSize = 4
            changes["batch size"] = options
            for (field, changed) in changes {
                do {
                    _ = try cached.batches(changed, resumingFrom: state)
                    Issue.record("a checkpoint with another \(field) was accepted")
                } catch {
                    #expect("\(error)".contains(field), "\(error)")
                }
            }
        }
    }

    @Test func aCheckpointOfACacheSetRestoresWithAnotherWorldSize() throws {
        try CacheFixtures.withDirectory { directory in
            let (wholePath, setPath) = try SetFixtures.build(in: directory)
            let whole = try CachedDataSet(path: wholePath)
            let set = try CachedDataSet(path: setPath)
            let twoRanks = BatchOptions(batchSize: 2, epochs: 2, truncate: true, order: .full, seed: 3,
                                        shard: try Shard(rank: 1, worldSize: 2), workers: 0)
            let cursor = try set.batches(twoRanks)
            _ = try cursor.next()
            let saved = cursor.checkpoint
            #expect(saved.samples == 4)
            let oneRank = BatchOptions(batchSize: 4, epochs: 2, truncate: true, order: .full, seed: 3, workers: 0)
            let resumed = try set.batches(oneRank, resumingFrom: saved).collect().map(\.rows)
            let uninterrupted = try whole.batches(oneRank).collect().map(\.rows)
            #expect(resumed == Array(uninterrupted.dropFirst()))
            #expect(!resumed.isEmpty)
        }
    }

    @Test func aVersion1CheckpointStillDecodesAndANewerOneIsRefused() throws {
        let state = IteratorState(seed: 5, epoch: 1, batch: 2, batchSize: 2, order: .full, truncate: false, rank: 1,
                                  worldSize: 2, endEpoch: 2, fingerprint: "ab")
        let encoded = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(state)) as! [String: Any]
        #expect(encoded["version"] as? Int == 2)
        #expect(encoded["samples"] as? Int == 8)
        var old = encoded
        old["version"] = nil
        old["samples"] = nil
        #expect(try JSONDecoder().decode(IteratorState.self, from: JSONSerialization.data(withJSONObject: old)) == state)
        var newer = encoded
        newer["version"] = 3
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(IteratorState.self, from: JSONSerialization.data(withJSONObject: newer))
        }
        var inconsistent = encoded
        inconsistent["samples"] = 5
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(IteratorState.self, from: JSONSerialization.data(withJSONObject: inconsistent))
        }
    }
}
