import Foundation
import Synchronization
import Testing
@testable import DataGenerator

/// The ordered prefetcher delivers items in order whatever its workers do, and a consumer whose
/// item is held up by a late worker computes it again instead of waiting.
@Suite struct OrderedPrefetcherTests {
    /// What the threads did, in the order they did it.
    final class Log: Sendable {
        let events = Mutex<[String]>([])
        func add(_ event: String) { events.withLock { $0.append(event) } }
        var all: [String] { events.withLock { $0 } }
        func contains(_ event: String) -> Bool { all.contains(event) }
    }

    /// Waits until `condition` holds, for at most 10 s.
    func waitUntil(_ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(10)
        while !condition(), Date() < deadline { usleep(1_000) }
    }

    @Test func aConsumerTakesOverTheItemOfALateWorkerAndTheLateResultIsDiscarded() throws {
        let log = Log()
        let released = Atomic<Bool>(false)
        let consumer = pthread_self()
        let hedge = OrderedPrefetcher<String>.Hedge(
            prepare: { index in log.add("prepare \(index)"); return true },
            produce: { index in
                log.add("takeover \(index)")
                released.store(true, ordering: .releasing)
                // A loaded machine may make other items late too: those come out the same.
                return index == 2 ? "consumer's 2" : "\(index)"
            },
            discard: { index in log.add("discard \(index)") })
        let prefetcher = OrderedPrefetcher<String>(count: 8, workers: 1, depth: 4, hedge: hedge) { index in
            let onWorker = pthread_equal(pthread_self(), consumer) == 0
            if onWorker { log.add("worker started \(index)") }
            // The worker loses its core on item 2 until the consumer has taken it over.
            if onWorker && index == 2 {
                let deadline = Date().addingTimeInterval(10)
                while !released.load(ordering: .acquiring), Date() < deadline { usleep(1_000) }
            }
            return "\(index)"
        }
        waitUntil { log.contains("worker started 2") }
        var items = [String]()
        while let item = try prefetcher.next() { items.append(item) }
        prefetcher.stop()
        #expect(items == ["0", "1", "consumer's 2", "3", "4", "5", "6", "7"])
        #expect(log.contains("takeover 2"))
        #expect(log.contains("discard 2"))
        // Only results taken over are discarded.
        let discarded = log.all.filter { $0.hasPrefix("discard ") }.map { $0.dropFirst("discard ".count) }
        let takenOver = log.all.filter { $0.hasPrefix("takeover ") }.map { $0.dropFirst("takeover ".count) }
        #expect(Set(discarded).isSubset(of: Set(takenOver)))
    }

    @Test func aConsumerWithoutASpareWaitsForTheLateWorker() throws {
        let log = Log()
        let consumer = pthread_self()
        let hedge = OrderedPrefetcher<String>.Hedge(
            prepare: { index in log.add("prepare \(index)"); return false },
            produce: { index in log.add("takeover \(index)"); return "consumer's \(index)" },
            discard: { index in log.add("discard \(index)") })
        let prefetcher = OrderedPrefetcher<String>(count: 6, workers: 1, depth: 3, hedge: hedge) { index in
            if pthread_equal(pthread_self(), consumer) == 0 {
                log.add("worker started \(index)")
                if index == 1 { usleep(50_000) }
            }
            return "\(index)"
        }
        waitUntil { log.contains("worker started 1") }
        var items = [String]()
        while let item = try prefetcher.next() { items.append(item) }
        #expect(items == ["0", "1", "2", "3", "4", "5"])
        #expect(log.contains("prepare 1"))
        #expect(!log.all.contains { $0.hasPrefix("takeover") || $0.hasPrefix("discard") })
    }

    @Test func heavyItemsAreWaitedForNotTakenOver() throws {
        let log = Log()
        let consumer = pthread_self()
        let hedge = OrderedPrefetcher<Int>.Hedge(
            prepare: { index in log.add("prepare \(index)"); return true },
            produce: { index in log.add("takeover \(index)"); return index },
            discard: { index in log.add("discard \(index)") })
        // Every item takes 2 ms, more than half the spin's ceiling; the worker's item 2 takes 40.
        let prefetcher = OrderedPrefetcher<Int>(count: 6, workers: 1, depth: 3, hedge: hedge) { index in
            let onWorker = pthread_equal(pthread_self(), consumer) == 0
            if onWorker { log.add("worker started \(index)") }
            usleep(onWorker && index == 2 ? 40_000 : 2_000)
            return index
        }
        waitUntil { log.contains("worker started 2") }
        var items = [Int]()
        while let item = try prefetcher.next() { items.append(item) }
        #expect(items == Array(0..<6))
        #expect(!log.all.contains { $0.hasPrefix("prepare") || $0.hasPrefix("takeover") })
    }

    @Test func anErrorInATakenOverItemEndsTheSequence() throws {
        struct Failure: Error, Equatable {}
        let released = Atomic<Bool>(false)
        let consumer = pthread_self()
        let started = Atomic<Bool>(false)
        let hedge = OrderedPrefetcher<Int>.Hedge(
            prepare: { _ in true },
            produce: { _ in released.store(true, ordering: .releasing); throw Failure() },
            discard: { _ in })
        let prefetcher = OrderedPrefetcher<Int>(count: 5, workers: 1, depth: 2, hedge: hedge) { index in
            if pthread_equal(pthread_self(), consumer) == 0, index == 0 {
                started.store(true, ordering: .releasing)
                let deadline = Date().addingTimeInterval(10)
                while !released.load(ordering: .acquiring), Date() < deadline { usleep(1_000) }
            }
            return index
        }
        waitUntil { started.load(ordering: .acquiring) }
        #expect(throws: Failure.self) { _ = try prefetcher.next() }
        #expect(try prefetcher.next() == nil)
    }
}
