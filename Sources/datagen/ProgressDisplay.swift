import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Draws a build's progress on standard error: a bar redrawn in place on a terminal, a plain line
/// every few seconds otherwise.
final class ProgressDisplay: @unchecked Sendable {
    // @unchecked: the builder calls `update` from its one writing thread; `finish` runs after the
    // build returned. The lock keeps the two apart anyway.
    private let enabled: Bool
    private let terminal: Bool
    private var lastLine = -1.0
    private var drawn = false
    private let lock = ConditionLockCLI()

    init(enabled: Bool) {
        self.enabled = enabled
        terminal = FileHandleOutput.standardError.isTerminal
    }

    func update(_ progress: BuildProgress) {
        guard enabled else { return }
        lock.withLock {
            let eta = progress.etaSeconds.map { "ETA \(Report.duration($0))" } ?? ""
            let text = "\(progress.recordsDone)/\(progress.recordsTotal) records, \(Report.rate(progress.recordsPerSecond)) records/s, \(Report.bytes(UInt64(progress.bytesPerSecond)))/s \(eta)"
            if terminal {
                let width = 30
                let filled = Int(progress.fraction * Double(width))
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                FileHandleOutput.standardError.write("\r\u{1B}[K\(bar) \(Report.fixed(progress.fraction * 100, digits: 1))% \(text)")
                drawn = true
            } else if progress.elapsedSeconds - lastLine >= 2 || progress.recordsDone == progress.recordsTotal {
                lastLine = progress.elapsedSeconds
                FileHandleOutput.standardError.write("progress: \(text)\n")
            }
        }
    }

    func finish() {
        lock.withLock {
            if drawn { FileHandleOutput.standardError.write("\n") }
            drawn = false
        }
    }
}

/// A plain mutex for the CLI.
final class ConditionLockCLI: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
