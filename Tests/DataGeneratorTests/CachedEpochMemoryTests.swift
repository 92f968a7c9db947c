import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The memory budget: what the engine holds itself stays within it, file-backed pages included.
/// Serialized, and run alone by tools/test.sh: resident memory is measured for the whole process.
@Suite(.serialized) struct CachedEpochMemoryTests {
    /// `count` records of `rowBytes` pseudo-random (incompressible) bytes, so the cache file is
    /// about as large as its decompressed column.
    static func noiseDataSet(count: Int, rowBytes: Int) throws -> GeneratorDataSet {
        let inventory = try Inventory(columns: [("id", (0..<count).map { "n\($0)" }),
                                                ("label", (0..<count).map { String($0 % 10) })])
        let noise = ClosureEncoder(identity: "noise(\(rowBytes))@1", output: ArraySpec(.uint8, [rowBytes])) { record in
            var state = UInt64(record.row + 1) &* 0x9E37_79B9_7F4A_7C15
            var bytes = [UInt8](repeating: 0, count: rowBytes)
            for index in 0..<rowBytes {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                bytes[index] = UInt8(truncatingIfNeeded: state >> 24)
            }
            return try NDArray(dtype: .uint8, shape: [rowBytes], bytes: bytes)
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: noise,
                                       targetEncoder: RecordTargetEncoder.label(column: "label"))
        try dataSet.fitEncoders()
        return dataSet
    }

    /// `RssAnon` and `RssFile` of this process, in bytes (from `/proc/self/status`).
    static func residentMemory() throws -> (anonymous: Int, file: Int) {
        let values = try CacheFixtures.processStatus()
        return (try #require(values["RssAnon"]), try #require(values["RssFile"]))
    }

    @Test func aWindowEpochOfACacheFourTimesTheBudgetStaysWithinTheBudget() throws {
        let budget = 8 << 20
        let dataSet = try Self.noiseDataSet(count: 8192, rowBytes: 4096)  // 32 MiB of rows
        try CacheFixtures.withDirectory { directory in
            var cached = try dataSet.cached(at: directory + "/noise.dgcache")
            #expect(cached.cache.fileSize >= UInt64(4 * budget))
            cached.memoryBudget = budget
            #expect(!cached.resident.isResident(cached.dataColumns[0].name))
            #expect(cached.resident.isResident(cached.targetColumn!.name))  // the small column fits
            let options = BatchOptions(batchSize: 64, epochs: 1, truncate: false,
                                       order: .window(rowsPerBlock: 64, blocksPerWindow: 4), seed: 5, workers: 2)
            let before = try Self.residentMemory()
            var peak = 0
            var served = 0
            var checksum: UInt64 = 0
            try cached.forEachBatch(options) { batch in
                for byte in batch.data(0) { checksum &+= UInt64(byte) }  // touch every delivered byte
                served += batch.count
                let now = try Self.residentMemory()
                peak = max(peak, (now.anonymous - before.anonymous) + (now.file - before.file))
                return true
            }
            #expect(served == 8192)
            #expect(checksum > 0)
            // Budget plus a fixed overhead (thread stacks, the worker threads' malloc arenas, allocator
            // slack) of 10 MiB: measured 15.2 or 16.9 MiB in all, depending on whether an earlier
            // test of the process already made the arenas (the deeper lending prefetch of
            // 2 × (workers + 1) slots is inside the budget). A column held whole would add 32 MiB.
            #expect(peak <= budget + (10 << 20), "resident memory grew by \(peak >> 20) MiB with an \(budget >> 20) MiB budget")

            // The same epoch with the whole cache resident does grow by the cache's size: the
            // measurement sees what the engine holds.
            var resident = cached
            resident.memoryBudget = 1 << 30
            let start = try Self.residentMemory()
            var grown = 0
            try resident.forEachBatch(options) { _ in
                let now = try Self.residentMemory()
                grown = max(grown, (now.anonymous - start.anonymous) + (now.file - start.file))
                return true
            }
            #expect(grown >= 3 * budget, "a resident epoch grew by \(grown >> 20) MiB only")
        }
    }

    @Test func anUncompressedColumnIsServedFromTheMappingWithoutACopyOfItsOwn() throws {
        let dataSet = try Self.noiseDataSet(count: 4096, rowBytes: 4096)  // 16 MiB of rows
        try CacheFixtures.withDirectory { directory in
            let cached = try dataSet.cached(at: directory + "/plain.dgcache",
                                            options: CacheBuildOptions(codec: CacheCodec.none, workers: 2))
            #expect(cached.resident.isResident(cached.dataColumns[0].name))
            let options = BatchOptions(batchSize: 64, epochs: 1, truncate: false, order: .full, seed: 3, workers: 2)
            let before = try Self.residentMemory()
            var anonymous = 0, file = 0
            try cached.forEachBatch(options) { _ in
                let now = try Self.residentMemory()
                anonymous = max(anonymous, now.anonymous - before.anonymous)
                file = max(file, now.file - before.file)
                return true
            }
            // The rows were read from the file's pages (about 16 MiB of them), not copied into
            // memory of our own (only batch buffers and thread stacks: under 8 MiB).
            #expect(anonymous < 8 << 20, "anonymous memory grew by \(anonymous >> 20) MiB")
            #expect(file >= 12 << 20, "file-backed memory grew by \(file >> 20) MiB only")
            #expect(try cached.batches(options).collect() == dataSet.batches(options).collect())
        }
    }

    @Test func partlyResidentColumnsServeTheSameBatches() throws {
        let dataSet = try Self.noiseDataSet(count: 300, rowBytes: 1000)
        try CacheFixtures.withDirectory { directory in
            var cached = try dataSet.cached(at: directory + "/noise.dgcache")
            cached.memoryBudget = 100_000  // the labels fit, the 300 kB of rows do not
            #expect(cached.resident.isResident(cached.targetColumn!.name))
            #expect(!cached.resident.isResident(cached.dataColumns[0].name))
            #expect(!cached.resident.isResident)
            let options = BatchOptions(batchSize: 32, epochs: 2, truncate: false, order: .full, seed: 2, workers: 2)
            #expect(try cached.batches(options).collect() == dataSet.batches(options).collect())
        }
    }

    @Test func theReleaseIntervalIsAQuarterOfTheBudgetWithinBounds() throws {
        #expect(ResidentColumns.releaseInterval(budget: 0) == 1 << 20)
        #expect(ResidentColumns.releaseInterval(budget: 40 << 20) == 10 << 20)
        #expect(ResidentColumns.releaseInterval(budget: 1 << 40) == 64 << 20)
    }

    @Test func prefetchDepthShrinksToTheBudgetButKeepsTheWorkersBusy() {
        // Room for 5 slots: depth 4.
        #expect(CachedDataSet.prefetchDepth(requested: 8, workers: 2, slotBytes: 100, available: 500) == 4)
        // Room for none: still one slot per worker.
        #expect(CachedDataSet.prefetchDepth(requested: 8, workers: 2, slotBytes: 100, available: 0) == 2)
        #expect(CachedDataSet.prefetchDepth(requested: 8, workers: 0, slotBytes: 100, available: -5) == 1)
        // Plenty of room: as requested, but at least one batch per gathering thread (the
        // workers and the consumer).
        #expect(CachedDataSet.prefetchDepth(requested: 3, workers: 2, slotBytes: 100, available: 1 << 20) == 3)
        #expect(CachedDataSet.prefetchDepth(requested: 1, workers: 2, slotBytes: 100, available: 1 << 20) == 3)
        #expect(CachedDataSet.prefetchDepth(requested: 0, workers: 1, slotBytes: 0, available: 0) == 2)
        // Room for 3 slots with 2 workers: the consumer's batch goes first, the workers' stay.
        #expect(CachedDataSet.prefetchDepth(requested: 0, workers: 2, slotBytes: 100, available: 300) == 2)
    }

    @Test func theDefaultWorkersCountTheConsumerAsAGatherer() {
        #expect(BatchOptions.defaultWorkers == max(1, processorCount - 1))
        #expect(BatchOptions().workers == BatchOptions.defaultWorkers)
        #expect(BatchOptions(workers: 3).workers == 3)
        #expect(BatchOptions(workers: 0).workers == 0)
    }

    @Test func theDefaultPrefetchCountsTheConsumerAsAGatherer() {
        #expect(BatchOptions(workers: 0).defaultPrefetch == 2)
        #expect(BatchOptions(workers: 1).defaultPrefetch == 4)
        #expect(BatchOptions(workers: 2).defaultPrefetch == 6)
        // Owned batches are allocated each and no budget bounds them: they stay shallower.
        #expect(BatchOptions(workers: 2).owningPrefetch == 4)
        // An image batch of 128 × 3 × 224 × 224 float32 (77 MB) in a 200 MB budget: 2 slots.
        let imageBatch = 128 * 3 * 224 * 224 * 4
        #expect(CachedDataSet.prefetchDepth(requested: BatchOptions(workers: 1).defaultPrefetch, workers: 1,
                                            slotBytes: imageBatch, available: 200_000_000) == 1)
    }

    @Test func theDefaultPrefetchKeepsLargeSlotsToOnePerGatheringThread() {
        let options = BatchOptions(workers: 2)
        // Small batches (MNIST: 128 × 784 bytes) keep the full default.
        #expect(options.defaultPrefetch(slotBytes: 128 * 784) == 6)
        // 10 MB slots: 6 slots fit in 64 MiB, so a depth of 5.
        #expect(options.defaultPrefetch(slotBytes: 10_000_000) == 5)
        // An image batch (77 MB): none fit; the ring raises the depth to a batch per gathering
        // thread (the 2 workers and the consumer), 4 slots instead of 7 written for the first
        // time in the first epoch.
        let imageBatch = 128 * 3 * 224 * 224 * 4
        #expect(options.defaultPrefetch(slotBytes: imageBatch) == 0)
        #expect(CachedDataSet.prefetchDepth(requested: options.defaultPrefetch(slotBytes: imageBatch), workers: 2,
                                            slotBytes: imageBatch, available: 1 << 40) == 3)
        // An explicit prefetch is kept (within the budget).
        #expect(CachedDataSet.prefetchDepth(requested: 6, workers: 2, slotBytes: imageBatch, available: 1 << 40) == 6)
    }
}
