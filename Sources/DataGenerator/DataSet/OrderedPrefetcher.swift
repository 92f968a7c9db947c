/// Computes items `0, 1, 2, …` on worker threads, at most `depth` ahead of the consumer, and
/// hands them out strictly in order: results never depend on the number of workers.
///
/// With zero workers items are computed on the consumer's thread when asked for. An error ends
/// the sequence: it is delivered in place of its item and nothing after it is delivered.
/// Releasing the prefetcher stops and joins its threads.
final class OrderedPrefetcher<Output: Sendable> {
    private let core: Core
    private var threads: [WorkerThread] = []

    /// - Parameters:
    ///   - count: the number of items, or `nil` for an endless sequence.
    ///   - workers: threads computing items (0: compute on demand in ``next()``).
    ///   - depth: how many items may be computed ahead of the consumer (at least `workers`).
    ///   - produce: computes item `i`; called from worker threads.
    init(count: Int?, workers: Int, depth: Int, produce: @escaping @Sendable (Int) throws -> Output) {
        core = Core(count: count, depth: max(depth, workers, 1), produce: produce)
        let core = self.core
        for _ in 0..<max(0, workers) {
            threads.append(WorkerThread { core.work() })
        }
    }

    deinit { stop() }

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
    private final class Core: @unchecked Sendable {
        // @unchecked: all mutable state is guarded by `lock`.
        private let lock = ConditionLock()
        private let produce: @Sendable (Int) throws -> Output
        private let total: Int?
        private let depth: Int
        private var nextToClaim = 0
        private var nextToDeliver = 0
        private var results: [Int: Result<Output, any Error>] = [:]
        private var stopped = false

        init(count: Int?, depth: Int, produce: @escaping @Sendable (Int) throws -> Output) {
            self.total = count
            self.depth = depth
            self.produce = produce
            // At most `depth` results wait at once: reserving them keeps the steady state free of
            // allocations (the micro-benchmarks count mallocs per batch).
            results.reserveCapacity(depth + 1)
        }

        /// Computes the next item on the caller's thread (no workers).
        func computeNext() throws -> Output? {
            let index = nextToDeliver
            guard !stopped, total.map({ index < $0 }) ?? true else { return nil }
            nextToDeliver += 1
            do { return try produce(index) } catch { stopped = true; throw error }
        }

        /// What the consumer does next: hand out an item (or the end), or compute one.
        private enum Step {
            case deliver(Result<Output, any Error>?)
            case compute(Int)
        }

        /// Whether an item within the window is left to claim (the lock held).
        private var canClaim: Bool { nextToClaim < nextToDeliver + depth && (total.map { nextToClaim < $0 } ?? true) }

        /// The next item from the workers. While it is not ready, the consumer computes an item
        /// of the window itself instead of sleeping (it would otherwise leave its core idle and
        /// need a wake-up per item): with `w` workers, `w + 1` threads gather.
        func takeNext() throws -> Output? {
            while true {
                let step: Step = lock.withLock {
                    let index = nextToDeliver
                    while true {
                        if stopped || (total.map { index >= $0 } ?? false) { return .deliver(nil) }
                        if let result = results.removeValue(forKey: index) {
                            nextToDeliver += 1
                            if case .failure = result { stopped = true }
                            lock.broadcast()
                            return .deliver(result)
                        }
                        if canClaim {
                            defer { nextToClaim += 1 }
                            return .compute(nextToClaim)
                        }
                        lock.wait { results[index] != nil || stopped || canClaim }
                    }
                }
                switch step {
                case .deliver(let result):
                    return try result?.get()
                case .compute(let claimed):
                    let result = Result { try produce(claimed) }
                    lock.withLock {
                        results[claimed] = result
                        lock.broadcast()
                    }
                }
            }
        }

        func stop() {
            lock.withLock {
                stopped = true
                lock.broadcast()
            }
        }

        /// A worker's loop: claim the next index within the window, compute, publish.
        func work() {
            while true {
                let claimed: Int? = lock.withLock {
                    lock.wait { stopped || nextToClaim < nextToDeliver + depth }
                    if stopped { return nil }
                    if let total, nextToClaim >= total { return nil }
                    defer { nextToClaim += 1 }
                    return nextToClaim
                }
                guard let index = claimed else { return }
                let result = Result { try produce(index) }
                lock.withLock {
                    results[index] = result
                    lock.broadcast()
                }
            }
        }
    }
}
