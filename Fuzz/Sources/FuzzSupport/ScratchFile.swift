#if canImport(Glibc)
import Glibc
#endif

/// A file of this process in `/dev/shm` (or `/tmp`), rewritten for every fuzz input: the cache
/// reader takes a path, and a memory-backed file keeps each execution cheap.
public struct ScratchFile: Sendable {
    /// The file's path.
    public let path: String

    /// A scratch file named after the process id and `name`.
    public init(name: String) {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        path = "\(directory)/datagen-fuzz-\(getpid())-\(name)"
    }

    /// Replaces the file's contents with `bytes`; false when the file cannot be written.
    public func write(_ bytes: [UInt8]) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
            }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }

    /// Removes the file.
    public func remove() { unlink(path) }
}
