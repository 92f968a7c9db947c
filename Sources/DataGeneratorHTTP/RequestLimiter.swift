#if canImport(Glibc)
import Glibc
#endif

/// A counting semaphore bounding how many requests run at once; shared by every copy of a URL
/// encoder and every worker thread that calls it.
///
/// `@unchecked Sendable`: the pthread mutex and condition live in heap memory owned by this
/// class and are only touched through `pthread_*` calls; `available` is read and written only
/// with the mutex held.
final class RequestLimiter: @unchecked Sendable {
    /// The number of permits.
    let limit: Int
    private var available: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// A limiter with `limit` permits (at least 1).
    init(limit: Int) {
        self.limit = max(1, limit)
        available = self.limit
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body` holding one permit, waiting (blocking this thread) until one is free.
    func withPermit<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        while available == 0 { pthread_cond_wait(condition, mutex) }
        available -= 1
        pthread_mutex_unlock(mutex)
        defer {
            pthread_mutex_lock(mutex)
            available += 1
            pthread_cond_signal(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }
}

/// Blocks the calling thread for `milliseconds` (a retry's backoff, on a worker thread).
func sleepMilliseconds(_ milliseconds: Int64) {
    guard milliseconds > 0 else { return }
    var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
