import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex with one condition variable: the one place the library blocks threads.
///
/// `@unchecked Sendable`: the pthread objects live in stable heap memory owned by this class and
/// are only touched through `pthread_*` calls, which are thread-safe by contract.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body` holding the lock.
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (the lock held by the caller inside ``withLock(_:)``) until `predicate` holds.
    func wait(until predicate: () -> Bool) {
        while !predicate() { pthread_cond_wait(condition, mutex) }
    }

    /// Wakes every waiter.
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Wakes one waiter.
    func signal() { pthread_cond_signal(condition) }
}

/// Where threads of one kind park after spinning: a mutex and a condition variable, touched only
/// when a thread is parked.
///
/// No wake-up is lost: a waker changes the state with a sequentially consistent store, then reads
/// ``waiters`` (sequentially consistent); a parker counts itself in ``waiters`` the same way,
/// then checks the state (sequentially consistent loads) under the mutex before each wait. Either
/// the waker sees the parker and signals under the mutex, or the parker sees the new state.
///
/// `@unchecked Sendable`: the pthread objects live in stable heap memory owned by this class and
/// are only touched through `pthread_*` calls, which are thread-safe by contract.
final class ParkingSpot: @unchecked Sendable {
    private let lock = ConditionLock()
    private let waiters = Atomic<Int>(0)

    /// Blocks until `ready` holds (checked under the mutex, with sequentially consistent loads).
    func park(until ready: () -> Bool) {
        lock.withLock {
            waiters.add(1, ordering: .sequentiallyConsistent)
            lock.wait(until: ready)
            waiters.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Wakes one parked thread (or all), only when one is parked; call it after the store that
    /// makes them ready.
    func wake(all: Bool) {
        guard waiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        lock.withLock { all ? lock.broadcast() : lock.signal() }
    }
}

/// A plain POSIX thread running one closure; ``join()`` waits for it.
///
/// Plain threads rather than Dispatch: after `fork()` (PyTorch and Keras workers fork), Dispatch's
/// global queues inherited from the parent never run work in the child, while new threads do.
final class WorkerThread: @unchecked Sendable {
    private var thread = pthread_t()
    private var joined = false

    /// Starts a thread running `body`.
    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
    }

    /// Waits for the thread to finish (once).
    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
