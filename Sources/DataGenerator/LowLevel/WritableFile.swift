import SystemPackage
internal import CFileHints
#if canImport(Glibc)
import Glibc
#endif

/// A file open for reading and writing, for the cache builder's side files: positioned writes,
/// `ftruncate`, `fsync`, plus `rename` and directory sync. Each call retries `EINTR` and throws
/// its `Errno`, together with the operation's name.
final class WritableFile {
    /// The file's path (for errors).
    let path: String
    private let fd: FileDescriptor
    private var closed = false

    /// A failed system call: which one, on which path, and its `errno`.
    struct Failure: Error {
        let operation: String
        let errno: Errno
        var path: String? = nil
    }

    /// Opens (creating if needed, never truncating) `path`.
    init(path: String) throws(Failure) {
        self.path = path
        do {
            fd = try FileDescriptor.open(FilePath(path), .readWrite, options: [.create],
                                         permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch { throw Failure(operation: "open", errno: error as! Errno, path: path) }
    }

    deinit { if !closed { try? fd.close() } }

    /// The file's current size.
    func size() throws(Failure) -> UInt64 {
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw Failure(operation: "fstat", errno: Errno(rawValue: errno), path: path) }
        return UInt64(max(0, info.st_size))
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(Failure) {
        do { _ = try fd.writeAll(toAbsoluteOffset: Int64(offset), bytes) } catch {
            throw Failure(operation: "write", errno: error as! Errno, path: path)
        }
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: UInt64) throws(Failure) {
        do {
            _ = try bytes.withUnsafeBytes { try fd.writeAll(toAbsoluteOffset: Int64(offset), $0) }
        } catch { throw Failure(operation: "write", errno: error as! Errno, path: path) }
    }

    /// Reads up to `count` bytes at `offset` (fewer at the end of the file).
    func read(count: Int, at offset: UInt64) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in
                    try fd.read(fromAbsoluteOffset: Int64(offset) + Int64(filled),
                                into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            } catch { throw Failure(operation: "read", errno: error as! Errno, path: path) }
            if n == 0 { break }
            filled += n
        }
        buffer.removeLast(count - filled)
        return buffer
    }

    /// Cuts the file to `size` bytes (`ftruncate`).
    func truncate(to size: UInt64) throws(Failure) {
        while ftruncate(fd.rawValue, off_t(size)) != 0 {
            if errno != EINTR { throw Failure(operation: "ftruncate", errno: Errno(rawValue: errno), path: path) }
        }
    }

    /// Flushes the file's data and metadata to the disk (`fsync`).
    func sync() throws(Failure) {
        while fsync(fd.rawValue) != 0 {
            if errno != EINTR { throw Failure(operation: "fsync", errno: Errno(rawValue: errno), path: path) }
        }
    }

    /// Starts writing `count` bytes from `offset` back to the disk without waiting for them
    /// (Linux's `sync_file_range(SYNC_FILE_RANGE_WRITE)`; nothing elsewhere), so that the final
    /// ``sync()`` finds little left to write: the build's last step no longer waits for the whole
    /// file to reach the disk. Only a hint: a failure is left to ``sync()`` to report.
    func startWriteback(from offset: UInt64, count: UInt64) {
        _ = dg_start_writeback(fd.rawValue, Int64(offset), Int64(count))
    }

    /// Closes the file.
    func close() throws(Failure) {
        guard !closed else { return }
        closed = true
        do { try fd.close() } catch { throw Failure(operation: "close", errno: error as! Errno, path: path) }
    }

    /// Atomically replaces `destination` by `source` (`rename`).
    static func rename(_ source: String, to destination: String) throws(Failure) {
        guard Glibc.rename(source, destination) == 0 else {
            throw Failure(operation: "rename", errno: Errno(rawValue: errno), path: destination)
        }
    }

    /// Removes a file; a missing file is fine.
    static func remove(_ path: String) throws(Failure) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw Failure(operation: "unlink", errno: Errno(rawValue: errno), path: path)
        }
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Syncs the directory holding `path`, so that a rename in it survives a power loss.
    static func syncDirectory(of path: String) throws(Failure) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw Failure(operation: "open directory", errno: Errno(rawValue: errno), path: directory) }
        defer { Glibc.close(fd) }
        while fsync(fd) != 0 {
            if errno == EINVAL { return }  // file systems that cannot sync directories
            if errno != EINTR { throw Failure(operation: "fsync directory", errno: Errno(rawValue: errno), path: directory) }
        }
    }
}

/// An exclusive `flock` on a lock file, held until ``unlock()`` or release.
///
/// The kernel drops the lock when its process dies, so a lock file left by a killed build never
/// blocks anyone. Releasing removes the file while still holding the lock, then unlocks: whoever
/// opened the old file meanwhile and then takes its lock finds that it is no longer the file at
/// `path` (another device or inode, or none) and starts again on the file now there, so two
/// holders never coexist and a finished build leaves no lock file behind.
final class FileLock {
    private var fd: Int32
    private let path: String

    /// Takes the lock on `path` (creating the file) without waiting.
    /// - Returns: `nil` when another open file description holds it.
    /// - Throws: the `Errno` of `open`, `flock` or `stat`.
    init?(path: String) throws(WritableFile.Failure) {
        self.path = path
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw WritableFile.Failure(operation: "open lock file", errno: Errno(rawValue: errno), path: path) }
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                if code == EINTR { continue }
                close(fd)
                if code == EWOULDBLOCK { return nil }
                throw WritableFile.Failure(operation: "flock", errno: Errno(rawValue: code), path: path)
            }
            let current: Bool
            do { current = try Self.isFile(fd, at: path) } catch {
                close(fd)
                throw error
            }
            if current {
                self.fd = fd
                return
            }
            // The previous holder removed the file as it released it: take the lock again on the
            // file now at `path`.
            close(fd)
        }
    }

    /// Whether the open file `fd` is the file at `path` (same device and inode), false when
    /// `path` no longer exists.
    /// - Throws: the `Errno` of `fstat` or `stat`.
    static func isFile(_ fd: Int32, at path: String) throws(WritableFile.Failure) -> Bool {
        var held = stat(), current = stat()
        guard fstat(fd, &held) == 0 else {
            throw WritableFile.Failure(operation: "fstat lock file", errno: Errno(rawValue: errno), path: path)
        }
        guard stat(path, &current) == 0 else {
            if errno == ENOENT { return false }
            throw WritableFile.Failure(operation: "stat lock file", errno: Errno(rawValue: errno), path: path)
        }
        return held.st_dev == current.st_dev && held.st_ino == current.st_ino
    }

    /// Removes the lock file, then releases the lock.
    func unlock() {
        guard fd >= 0 else { return }
        unlink(path)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { unlock() }
}
