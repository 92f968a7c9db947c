import Foundation
import Synchronization
import Testing
@testable import DataGenerator

/// A ring of caller-owned slots receives the same batches as the owning API, and respects which
/// slots the caller holds.
@Suite struct BatchRingTests {
    /// One buffer set per slot, sized for `batchSize` rows of each served column.
    final class Slots {
        let sets: [[UnsafeMutableRawBufferPointer]]
        init(count: Int, rowBytes: [Int], batchSize: Int) {
            sets = (0..<count).map { _ in rowBytes.map { .allocate(byteCount: $0 * batchSize, alignment: 16) } }
        }
        deinit { for set in sets { for buffer in set { buffer.deallocate() } } }
    }

    func withRingCache(_ body: (CachedDataSet, [Int]) throws -> Void) throws {
        let dataSet = try CachedEpochTests.dataSet(count: 53, variable: false)
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let cached = try dataSet.cached(at: directory + "/ring.dgcache")
        let rowBytes = (cached.dataColumns + [cached.targetColumn!]).map(\.rowBytes)
        #expect(cached.canLendBatches)
        try body(cached, rowBytes)
    }

    @Test(arguments: [0, 1, 2], [1, 2])
    func ringBatchesEqualOwnedBatchesFromAnyStart(workers: Int, held: Int) throws {
        try withRingCache { cached, rowBytes in
            let options = BatchOptions(batchSize: 6, epochs: 2, truncate: false, order: .full, seed: 9, workers: workers)
            let owned = try cached.batches(options).collect()
            for start in [0, 4, 9, owned.count] {
                let slots = Slots(count: max(workers, 1) + held + 1, rowBytes: rowBytes, batchSize: 6)
                let ring = try BatchRing(dataSet: cached, options: options, startingAt: start, held: held, buffers: slots.sets)
                var served = start
                while let delivery = try ring.next() {
                    let expected = owned[served]
                    #expect(delivery.epoch == expected.epoch && delivery.index == expected.index)
                    let buffers = ring.buffers(ofSlot: delivery.slot)
                    #expect(Array(buffers[0][..<(delivery.count * rowBytes[0])]) == expected.inputs[0].bytes)
                    #expect(Array(buffers[1][..<(delivery.count * rowBytes[1])]) == expected.targets!.bytes)
                    #expect(Array(ring.rows(ofSlot: delivery.slot)) == expected.rows)
                    served += 1
                }
                #expect(served == owned.count, "from \(start)")
            }
        }
    }

    @Test(arguments: [0, 1, 2])
    func completeResidentColumnsServeSubsetsAndWholeSetsByBareCopiesWithTheSameBytes(workers: Int) throws {
        try withRingCache { cached, _ in
            let options = BatchOptions(batchSize: 5, epochs: 2, truncate: false, order: .full, seed: 3, workers: workers)
            // Before any epoch nothing is resident: the first run decodes every unit.
            var first = [[UInt8]]()
            try cached.forEachBatch(options) { batch in
                first.append(Array(batch.data(0)) + Array(batch.targets!))
                return true
            }
            #expect(cached.resident.decoded("data")?.isComplete == true)
            var steady = [[UInt8]]()
            try cached.forEachBatch(options) { batch in
                steady.append(Array(batch.data(0)) + Array(batch.targets!))
                return true
            }
            #expect(steady == first)
            // A subset remaps its positions to cache rows, then copies the same way.
            let rows = [52, 0, 7, 7, 31, 12, 40, 3, 19]
            let subset = try cached.subset(rows: rows)
            let owned = try subset.batches(options).collect()
            var lent = [[UInt8]]()
            try subset.forEachBatch(options) { batch in
                lent.append(Array(batch.data(0)) + Array(batch.targets!))
                return true
            }
            #expect(lent == owned.map { $0.inputs[0].bytes + $0.targets!.bytes })
        }
    }

    @Test func aSlotGivenNewBuffersKeepsItsBatch() throws {
        try withRingCache { cached, rowBytes in
            let options = BatchOptions(batchSize: 5, epochs: 1, truncate: false, order: .full, seed: 3, workers: 2)
            let owned = try cached.batches(options).collect()
            let slots = Slots(count: 4, rowBytes: rowBytes, batchSize: 5)
            let spare = Slots(count: 1, rowBytes: rowBytes, batchSize: 5)
            let ring = try BatchRing(dataSet: cached, options: options, held: 2, buffers: slots.sets)
            let first = try #require(try ring.next())
            let kept = ring.buffers(ofSlot: first.slot)
            try ring.replaceBuffers(ofSlot: first.slot, with: spare.sets[0])
            var count = 1
            while try ring.next() != nil { count += 1 }
            #expect(count == owned.count)
            // Ten batches went through four slots: the kept buffers were never written again.
            #expect(Array(kept[0][..<(5 * rowBytes[0])]) == owned[0].inputs[0].bytes)
        }
    }

    @Test func onlyHeldSlotsTakeNewBuffersAndTooFewSlotsAreRefused() throws {
        try withRingCache { cached, rowBytes in
            let options = BatchOptions(batchSize: 5, epochs: 1, truncate: false, order: .full, seed: 3, workers: 2)
            let slots = Slots(count: 4, rowBytes: rowBytes, batchSize: 5)
            #expect(throws: DataSetError.self) {
                _ = try BatchRing(dataSet: cached, options: options, held: 2, buffers: Array(slots.sets.prefix(3)))
            }
            let ring = try BatchRing(dataSet: cached, options: options, held: 2, buffers: slots.sets)
            let first = try #require(try ring.next())
            #expect(throws: DataSetError.self) {
                try ring.replaceBuffers(ofSlot: (first.slot + 1) % 4, with: slots.sets[0])
            }
            let small = Slots(count: 1, rowBytes: rowBytes.map { $0 - 1 }, batchSize: 5)
            #expect(throws: DataSetError.self) { try ring.replaceBuffers(ofSlot: first.slot, with: small.sets[0]) }
            #expect(throws: DataSetError.self) {
                _ = try BatchRing(dataSet: cached, options: options, held: 2, firstSlot: 1, heldSlots: [3, 3], buffers: slots.sets)
            }
            #expect(throws: DataSetError.self) {
                _ = try BatchRing(dataSet: cached, options: options, held: 2, firstSlot: 1, heldSlots: [0, 4], buffers: slots.sets)
            }
        }
    }

    @Test func aRingContinuingAnotherLeavesTheHeldSlotsAlone() throws {
        try withRingCache { cached, rowBytes in
            let options = BatchOptions(batchSize: 4, epochs: 1, truncate: false, order: .full, seed: 8, workers: 2)
            let owned = try cached.batches(options).collect()
            let slots = Slots(count: 4, rowBytes: rowBytes, batchSize: 4)
            let first = try BatchRing(dataSet: cached, options: options, held: 2, buffers: slots.sets)
            let a = try #require(try first.next())
            let b = try #require(try first.next())
            first.stop()
            // A second ring (as after a fork) continues after slot b, holding a and b.
            let second = try BatchRing(dataSet: cached, options: options, startingAt: 2, held: 2,
                                       firstSlot: b.slot + 1, heldSlots: [a.slot, b.slot], buffers: slots.sets)
            let c = try #require(try second.next())
            #expect(![a.slot, b.slot].contains(c.slot))
            #expect(Array(slots.sets[b.slot][0][..<(4 * rowBytes[0])]) == owned[1].inputs[0].bytes)
            try second.replaceBuffers(ofSlot: b.slot, with: slots.sets[b.slot])
            var count = 3
            while try second.next() != nil { count += 1 }
            #expect(count == owned.count)
        }
    }
}

extension BatchRingTests {
    /// `alsoLate`: batches whose worker sleeps 20 ms (while the consumer takes 2 ms a batch, so
    /// that the worker is the one that claims them, mostly): successive takeovers each swap the
    /// spare with the late slot.
    @Test(arguments: [(1, []), (2, []), (1, [12, 20])])
    func aBatchTakenOverFromALateWorkerComesFromTheSpareAndTheLateSlotBecomesTheSpare(held: Int, alsoLate: [Int]) throws {
        try withRingCache { cached, rowBytes in
            let options = BatchOptions(batchSize: 4, epochs: 2, truncate: false, order: .full, seed: 5, workers: 1)
            let owned = try cached.batches(options).collect()
            // 4 batches ahead, the held ones, and the spare.
            let slots = Slots(count: 4 + held + 1, rowBytes: rowBytes, batchSize: 4)
            let log = OrderedPrefetcherTests.Log()
            let released = Atomic<Bool>(false)
            let consumer = pthread_self()
            let ring = try BatchRing(dataSet: cached, options: options, startingAt: 0, held: held, firstSlot: 0, heldSlots: [],
                                     buffers: slots.sets, takingOver: true) { offset, step in
                if step == .takingOver {
                    log.add("takeover \(offset)")
                    released.store(true, ordering: .releasing)
                    return
                }
                guard step == .filling else { return }
                log.add("worker \(offset)")
                if alsoLate.contains(offset), pthread_equal(pthread_self(), consumer) == 0 { usleep(20_000) }
                // The worker loses its core on batch 3 until the consumer has written it again.
                guard offset == 3 else { return }
                let deadline = Date().addingTimeInterval(10)
                while !released.load(ordering: .acquiring), Date() < deadline { usleep(1_000) }
            }
            let deadline = Date().addingTimeInterval(10)
            while !log.contains("worker 3"), Date() < deadline { usleep(1_000) }
            var served = 0
            var heldSlots = [Int]()
            // The slot order as the ring keeps it: place `offset % places.count`, and the spare,
            // which takes the place of a late worker's slot, which becomes the spare. A loaded
            // machine may make other batches late too; the model follows every takeover logged.
            var places = Array(0..<(slots.sets.count - 1))
            var spare = slots.sets.count - 1
            while let delivery = try ring.next() {
                heldSlots.append(delivery.slot)
                if heldSlots.count > held { heldSlots.removeFirst() }
                #expect(Set(heldSlots).count == heldSlots.count, "a held slot was delivered again")
                let place = served % places.count
                if log.contains("takeover \(served)") { swap(&places[place], &spare) }
                #expect(delivery.slot == places[place], "batch \(served) comes from the slot the order gives it")
                let expected = owned[served]
                let buffers = ring.buffers(ofSlot: delivery.slot)
                #expect(delivery.epoch == expected.epoch && delivery.index == expected.index)
                #expect(Array(buffers[0][..<(delivery.count * rowBytes[0])]) == expected.inputs[0].bytes)
                #expect(Array(buffers[1][..<(delivery.count * rowBytes[1])]) == expected.targets!.bytes)
                if !alsoLate.isEmpty { usleep(2_000) }
                if served == 3 { #expect(delivery.slot == slots.sets.count - 1, "batch 3 comes from the spare") }
                served += 1
            }
            #expect(served == owned.count)
            let takeovers = log.all.filter { $0.hasPrefix("takeover") }
            #expect(takeovers.first == "takeover 3")
            #expect(ring.takeovers == takeovers.count)
        }
    }

    @Test func aBatchWhoseWorkerHasNotLookedUpItsSlotYetIsWaitedFor() throws {
        try withRingCache { cached, rowBytes in
            let options = BatchOptions(batchSize: 4, epochs: 1, truncate: false, order: .full, seed: 6, workers: 1)
            let owned = try cached.batches(options).collect()
            let slots = Slots(count: 4 + 1 + 1, rowBytes: rowBytes, batchSize: 4)
            let log = OrderedPrefetcherTests.Log()
            let ring = try BatchRing(dataSet: cached, options: options, startingAt: 0, held: 1, firstSlot: 0, heldSlots: [],
                                     buffers: slots.sets, takingOver: true) { offset, step in
                log.add("\(step) \(offset)")
                // The worker loses its core on batch 3 before it looks its slot up: a takeover
                // now would leave it writing into the spare the consumer delivers.
                if step == .lookingUp, offset == 3, !log.contains("consumer waits") { usleep(100_000) }
            }
            let deadline = Date().addingTimeInterval(10)
            while !log.contains("lookingUp 3"), Date() < deadline { usleep(1_000) }
            var served = 0
            while let delivery = try ring.next() {
                if served == 2 { log.add("consumer waits") }
                let expected = owned[served]
                let buffers = ring.buffers(ofSlot: delivery.slot)
                #expect(Array(buffers[0][..<(delivery.count * rowBytes[0])]) == expected.inputs[0].bytes)
                #expect(Array(buffers[1][..<(delivery.count * rowBytes[1])]) == expected.targets!.bytes)
                served += 1
            }
            #expect(served == owned.count)
            // Batch 3 is waited for; a loaded machine may still make another batch late.
            #expect(!log.contains("takingOver 3"))
        }
    }

    @Test func aRingWhoseThreadsOutnumberTheProcessorsKeepsNoSpare() {
        #expect(!BatchRing.takesOver(workers: 0))
        #expect(!BatchRing.takesOver(workers: processorCount))
        #expect(BatchRing.takesOver(workers: processorCount - 1) == (processorCount > 1))
    }
}
