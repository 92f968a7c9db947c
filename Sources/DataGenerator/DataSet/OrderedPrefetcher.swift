import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Computes items `0, 1, 2, …` on worker threads, at most `depth` ahead of the consumer, and
/// hands them out strictly in order: results never depend on the number of workers.
///
/// With zero workers items are computed on the consumer's thread when asked for. An error ends
/// the sequence: it is delivered in place of its item and nothing after it is delivered.
/// Releasing the prefetcher stops and joins its threads.
///
/// With a ``Hedge``, a consumer whose item has been computing for twice an item's usual time
/// computes that item again itself, on the hedge's spare resources, and takes its own result: a
/// worker that lost its core (preempted beside another process) then delays nothing but itself,
/// and its late result is handed to the hedge's `discard` instead of being delivered. Only light
/// items are taken over (an item's usual time at most half of ``SpinPolicy/ceiling``): a heavy
/// one is as long as the time slice a preempted worker waits for, so computing it again would
/// cost about what it saves.
final class OrderedPrefetcher<Output: Sendable> {
    private let core: Core
    private var threads: [WorkerThread] = []

    /// - Parameters:
    ///   - count: the number of items, or `nil` for an endless sequence.
    ///   - workers: threads computing items (0: compute on demand in ``next()``).
    ///   - depth: how many items may be computed ahead of the consumer (at least `workers`).
    ///   - produce: computes item `i`; called from worker threads.
    ///   - hedge: how the consumer may compute an item a worker is late with (`nil`: never).
    init(count: Int?, workers: Int, depth: Int, hedge: Hedge? = nil, produce: @escaping @Sendable (Int) throws -> Output) {
        core = Core(count: count, depth: max(depth, workers, 1), hedge: hedge, produce: produce)
        let core = self.core
        for _ in 0..<max(0, workers) {
            threads.append(WorkerThread { core.work() })
        }
    }

    deinit { stop() }

    /// How the consumer computes an item again when the worker computing it is late: only for
    /// items whose computation has no effect beyond its result, so that computing one twice
    /// changes nothing.
    struct Hedge: Sendable {
        /// Readies a second computation of item `i` (on the consumer's thread), before the
        /// consumer tries to take the item over: whether one may start now (its spare resources
        /// are free, and the late computation has got as far as it must before it can be taken
        /// over, which that computation publishes, releasing, and this acquires). What it records
        /// is seen by `discard`, should the takeover succeed.
        let prepare: @Sendable (Int) -> Bool
        /// Computes item `i` a second time, on the consumer's thread, on the spare resources.
        let produce: @Sendable (Int) throws -> Output
        /// Called on the late worker's thread once its computation of item `i`, superseded by the
        /// consumer's, has ended (whatever its outcome): its resources are free again.
        let discard: @Sendable (Int) -> Void
    }

    /// The next item in order, `nil` after the last.
    /// - Throws: the error item `i` threw, after which the sequence ends.
    func next() throws -> Output? {
        threads.isEmpty ? try core.computeNext() : try core.takeNext()
    }

    /// Stops the workers and waits for them; later ``next()`` calls return `nil`.
    func stop() {
        core.stop()
        for thread in threads { thread.join() }
        threads.removeAll()
    }

    /// The shared state; worker threads keep it alive.
    ///
    /// Lock-free in the steady state: item `i` is stored in result slot `i mod depth` and
    /// published by that slot's sequence number becoming `i + 1`; threads claim items by
    /// compare-and-exchange on `claimed`, within the window `claimed < delivered + depth`. Before
    /// publishing, the computing thread settles the item in its slot's `settled` word, against a
    /// consumer that may take the item over (hedging): `2(i + 1)` when its computer publishes it,
    /// `2(i + 1) + 1` when the consumer computed it again and delivered its own result. A
    /// thread that must wait (the consumer for its item, a worker for window space) spins for
    /// about one item's time, yielding its core, then parks on a ``ParkingSpot`` of its own kind;
    /// a wake-up goes only to a kind with a parked thread (the consumer when it waits for this
    /// very item, one worker per freed slot).
    private final class Core: @unchecked Sendable {
        // @unchecked: `results[i mod depth]` is written by the thread that claimed item `i` before
        // it publishes `sequence` (releasing), read by the consumer after it sees that (acquiring),
        // and cleared by the consumer before it publishes `delivered`, which a claimer of item
        // `i + depth` acquires first. `consumerSpin` and `computeNext` are the consumer's alone.
        private let produce: @Sendable (Int) throws -> Output
        private let hedge: Hedge?
        private let total: Int
        private let depth: Int
        /// The next item to claim.
        private let claimed = Atomic<Int>(0)
        /// Items handed out; written by the consumer only.
        private let delivered = Atomic<Int>(0)
        private let stopped = Atomic<Bool>(false)
        /// Per result slot: `i + 1` once item `i`'s result is stored there.
        private let sequence: UnsafeMutablePointer<Atomic<Int>>
        /// Per result slot: who settled the last item there (see above).
        private let settled: UnsafeMutablePointer<Atomic<Int>>
        /// Per result slot: when its computer began the last item there (monotonic nanoseconds).
        private let begun: UnsafeMutablePointer<Atomic<Int>>
        private let results: UnsafeMutablePointer<Result<Output, any Error>?>
        /// The item the consumer is parked for, plus one (0: not parked).
        private let awaited = Atomic<Int>(0)
        /// How long the last item took, in nanoseconds: what a waiter spins for at most.
        private let itemNanos = Atomic<Int>(0)
        private let consumerSpot = ParkingSpot()
        private let workerSpot = ParkingSpot()
        private var consumerSpin = SpinPolicy()

        init(count: Int?, depth: Int, hedge: Hedge?, produce: @escaping @Sendable (Int) throws -> Output) {
            total = count ?? Int.max
            self.depth = depth
            self.hedge = hedge
            self.produce = produce
            // Allocated once: the steady state allocates nothing (the micro-benchmarks count
            // mallocs per batch).
            sequence = .allocate(capacity: depth)
            for slot in 0..<depth { (sequence + slot).initialize(to: Atomic(0)) }
            settled = .allocate(capacity: depth)
            for slot in 0..<depth { (settled + slot).initialize(to: Atomic(0)) }
            begun = .allocate(capacity: depth)
            for slot in 0..<depth { (begun + slot).initialize(to: Atomic(0)) }
            results = .allocate(capacity: depth)
            results.initialize(repeating: nil, count: depth)
        }

        deinit {
            sequence.deinitialize(count: depth)
            sequence.deallocate()
            settled.deinitialize(count: depth)
            settled.deallocate()
            begun.deinitialize(count: depth)
            begun.deallocate()
            results.deinitialize(count: depth)
            results.deallocate()
        }

        /// Computes the next item on the caller's thread (no workers).
        func computeNext() throws -> Output? {
            let index = delivered.load(ordering: .relaxed)
            guard !stopped.load(ordering: .relaxed), index < total else { return nil }
            delivered.store(index + 1, ordering: .relaxed)
            do { return try produce(index) } catch { stopped.store(true, ordering: .relaxed); throw error }
        }

        /// What a claim found.
        private enum Claim {
            case item(Int)
            case windowFull
            case finished
        }

        /// Claims the next item when it lies within the window.
        private func claim() -> Claim {
            var next = claimed.load(ordering: .relaxed)
            while true {
                if next >= total || stopped.load(ordering: .relaxed) { return .finished }
                if next >= delivered.load(ordering: .acquiring) + depth { return .windowFull }
                let (exchanged, original) = claimed.compareExchange(expected: next, desired: next + 1,
                                                                    ordering: .acquiringAndReleasing)
                if exchanged { return .item(next) }
                next = original
            }
        }

        /// Whether a worker waiting for window space may go on (the sequentially consistent
        /// loads pair with the stores before a wake-up: see ``ParkingSpot``).
        private var workerMayGo: Bool {
            if stopped.load(ordering: .sequentiallyConsistent) { return true }
            let next = claimed.load(ordering: .sequentiallyConsistent)
            return next >= total || next < delivered.load(ordering: .sequentiallyConsistent) + depth
        }

        /// Computes item `index` and publishes it; wakes the consumer only when it is parked for it.
        /// When the consumer took the item over meanwhile, the result is discarded instead.
        private func compute(_ index: Int) {
            let start = monotonicNanos()
            if hedge != nil { begun[index % depth].store(start, ordering: .relaxed) }
            let result = Result { try produce(index) }
            itemNanos.store(monotonicNanos() - start, ordering: .relaxed)
            let slot = index % depth
            if hedge != nil, !settle(index, as: 2 * (index + 1)) {
                hedge?.discard(index)
                return
            }
            results[slot] = result
            sequence[slot].store(index + 1, ordering: .sequentiallyConsistent)
            if awaited.load(ordering: .sequentiallyConsistent) == index + 1 { consumerSpot.wake(all: true) }
        }

        /// Marks item `index` as settled by `mark` in its slot, unless it is settled already (by
        /// the other party): whether this call settled it. Only the item's computer and the
        /// consumer race here, since the slot's previous item was delivered before this one was
        /// claimed, and its next one cannot be claimed before this one is delivered.
        private func settle(_ index: Int, as mark: Int) -> Bool {
            let slot = index % depth
            var current = settled[slot].load(ordering: .acquiring)
            while current < 2 * (index + 1) {
                let (exchanged, original) = settled[slot].compareExchange(expected: current, desired: mark, ordering: .acquiringAndReleasing)
                if exchanged { return true }
                current = original
            }
            return false
        }

        /// When the worker on item `index` counts as late (twice an item's usual time after it
        /// began it), or `nil` when items are too heavy to take over or none has been timed yet.
        /// A worker that has claimed the item but not yet stored its start shows the slot's
        /// previous start here; ``takeOver(_:usual:)`` reads it again once `prepare` has
        /// acquired the worker's progress.
        private func lateAt(_ index: Int, usual: Int) -> Int? {
            guard hedge != nil, usual > 0, usual <= SpinPolicy.ceiling / 2 else { return nil }
            return begun[index % depth].load(ordering: .relaxed) + 2 * usual
        }

        /// The consumer's second computation of item `index`, whose worker is late: `nil` when
        /// the hedge's spare is busy, the worker has not got far enough, is not late after all
        /// (its start, read again after `prepare` acquired its progress, is fresh), or settled
        /// the item first (it is publishing it).
        private func takeOver(_ index: Int, usual: Int) -> Result<Output, any Error>? {
            guard let hedge, hedge.prepare(index),
                  monotonicNanos() >= begun[index % depth].load(ordering: .relaxed) + 2 * usual,
                  settle(index, as: 2 * (index + 1) + 1) else { return nil }
            return Result { try hedge.produce(index) }
        }

        /// The next item from the workers. While it is not ready, the consumer computes an item
        /// of the window itself instead of waiting (with `w` workers, `w + 1` threads gather);
        /// with none left to claim it spins, then computes its own item again when it can hedge
        /// (the worker on it lost its core, most likely), else parks until its item is published.
        func takeNext() throws -> Output? {
            let index = delivered.load(ordering: .relaxed)
            let slot = index % depth
            while true {
                if stopped.load(ordering: .relaxed) || index >= total { return nil }
                if sequence[slot].load(ordering: .acquiring) == index + 1 {
                    let result = results[slot].take()!
                    if case .failure = result { stop() }
                    delivered.store(index + 1, ordering: .sequentiallyConsistent)
                    workerSpot.wake(all: false)
                    return try result.get()
                }
                if case .item(let claimed) = claim() {
                    compute(claimed)
                    continue
                }
                let ready = { [self] in
                    stopped.load(ordering: .sequentiallyConsistent) || sequence[slot].load(ordering: .sequentiallyConsistent) == index + 1
                }
                let usual = itemNanos.load(ordering: .relaxed)
                let late = lateAt(index, usual: usual)
                // With light items the spin lasts until the worker is late, at most 1 ms in all.
                let limit = max(consumerSpin.limit(itemNanos: usual), late.map { min($0 - monotonicNanos(), SpinPolicy.ceiling) } ?? 0)
                if spin(nanoseconds: limit, until: ready) {
                    consumerSpin.record(parked: false)
                } else if let late, monotonicNanos() >= late, let result = takeOver(index, usual: usual) {
                    consumerSpin.record(parked: false)
                    if case .failure = result { stop() }
                    delivered.store(index + 1, ordering: .sequentiallyConsistent)
                    workerSpot.wake(all: false)
                    return try result.get()
                } else {
                    awaited.store(index + 1, ordering: .sequentiallyConsistent)
                    consumerSpot.park(until: ready)
                    awaited.store(0, ordering: .relaxed)
                    consumerSpin.record(parked: true)
                }
            }
        }

        func stop() {
            stopped.store(true, ordering: .sequentiallyConsistent)
            consumerSpot.wake(all: true)
            workerSpot.wake(all: true)
        }

        /// A worker's loop: claim the next index within the window, compute, publish; when the
        /// window is full, spin briefly, then park until the consumer frees a slot.
        func work() {
            var policy = SpinPolicy()
            while true {
                switch claim() {
                case .finished:
                    return
                case .item(let index):
                    compute(index)
                case .windowFull:
                    let limit = policy.limit(itemNanos: itemNanos.load(ordering: .relaxed))
                    if spin(nanoseconds: limit, until: { workerMayGo }) {
                        policy.record(parked: false)
                    } else {
                        workerSpot.park { workerMayGo }
                        policy.record(parked: true)
                    }
                }
            }
        }
    }
}

/// How long a waiter spins before parking: about one item's time while spinning pays, shrinking
/// fast when it does not (a consumer slower than its producers, whose workers would otherwise
/// spin for nothing every item), and tried again in full now and then.
struct SpinPolicy {
    /// Waits in a row that ended parked.
    private var parkedInRow = 0
    /// The longest spin, whatever an item takes.
    static let ceiling = 1_000_000

    /// The spin for the next wait, in nanoseconds.
    func limit(itemNanos: Int) -> Int {
        let full = min(max(itemNanos, 0), Self.ceiling)
        return parkedInRow < 3 ? full >> (2 * parkedInRow) : 0
    }

    /// Records how the last wait ended.
    mutating func record(parked: Bool) {
        parkedInRow = parked ? (parkedInRow + 1) % 64 : 0
    }
}

/// Spins until `ready` holds or `nanoseconds` pass, yielding the core between checks (another
/// thread of the process may be the one that makes it ready). Whether `ready` held.
func spin(nanoseconds: Int, until ready: () -> Bool) -> Bool {
    if ready() { return true }
    guard nanoseconds > 0 else { return false }
    let deadline = monotonicNanos() + nanoseconds
    repeat {
        sched_yield()
        if ready() { return true }
    } while monotonicNanos() < deadline
    return false
}

/// The monotonic clock, in nanoseconds.
@inline(__always)
func monotonicNanos() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
