import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and file metadata through swift-system's `FileDescriptor` (typed `Errno`,
/// `EINTR` retried), without Foundation.
enum FileIO {
    /// The bytes of the file at `path`.
    /// - Throws: the `Errno` of the failing `open`, `fstat` or `read`.
    static func readAll(_ path: String) throws(Errno) -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly) } catch { throw error as! Errno }
        defer { try? fd.close() }
        let status = try status(of: fd)
        if status.isDirectory { throw Errno.isDirectory }
        return try readAll(fd, expectedSize: status.size)
    }

    /// Opens the file at `path` for reading, following symlinks: the open does not block (a FIFO
    /// waiting for a writer) and takes no controlling terminal; blocking reads are restored after.
    /// - Throws: the `Errno` of the failing `open`.
    static func open(_ path: String) throws(Errno) -> FileDescriptor {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.nonBlocking, FileDescriptor.OpenOptions(rawValue: O_NOCTTY)])
        } catch { throw error as! Errno }
        let flags = fcntl(fd.rawValue, F_GETFL)
        if flags >= 0 { _ = fcntl(fd.rawValue, F_SETFL, flags & ~O_NONBLOCK) }
        return fd
    }

    /// Opens the file at `path` for reading, then asks `accept` about the canonical path of the
    /// file actually opened (read back from `/proc/self/fd`, or `realpath(3)` of `path` where
    /// there is no `/proc`), so that a symlink swapped in between a check and the open cannot
    /// lead elsewhere. The open does not block (a FIFO waiting for a writer) and takes no
    /// controlling terminal; blocking reads are restored once `accept` agreed. Returns nil (and
    /// closes the file) when `accept` refuses, or when neither path can be read back.
    /// - Throws: the `Errno` of the failing `open`.
    static func open(_ path: String, ifOpened accept: (String) -> Bool) throws(Errno) -> FileDescriptor? {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.nonBlocking, FileDescriptor.OpenOptions(rawValue: O_NOCTTY)])
        } catch { throw error as! Errno }
        let opened = (try? readLink("/proc/self/fd/\(fd.rawValue)")) ?? (try? canonicalPath(path))
        guard let opened, accept(opened) else {
            try? fd.close()
            return nil
        }
        let flags = fcntl(fd.rawValue, F_GETFL)
        if flags >= 0 { _ = fcntl(fd.rawValue, F_SETFL, flags & ~O_NONBLOCK) }
        return fd
    }

    /// Size and kind of an open file (`fstat`): a regular file, a directory, or something else
    /// (FIFO, device, socket).
    static func status(of fd: FileDescriptor) throws(Errno) -> (size: Int, isRegular: Bool, isDirectory: Bool) {
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw Errno(rawValue: errno) }
        return (Int(info.st_size), (info.st_mode & S_IFMT) == S_IFREG, (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// The bytes of an open file, from its current offset to its end. `expectedSize` (the size
    /// from the caller's ``status(of:)``, so the file is not `fstat`ed twice) sizes the buffer; a
    /// file that grew meanwhile is read to its new end all the same.
    /// - Throws: the `Errno` of the failing `read`.
    static func readAll(_ fd: FileDescriptor, expectedSize: Int) throws(Errno) -> [UInt8] {
        var capacity = max(expectedSize, 0) + 1
        var bytes = [UInt8](repeating: 0, count: capacity)
        var filled = 0
        while true {
            if filled == capacity {
                capacity *= 2
                bytes.append(contentsOf: repeatElement(0, count: capacity - bytes.count))
            }
            let n: Int
            do {
                n = try bytes.withUnsafeMutableBytes { raw in
                    try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            } catch { throw error as! Errno }
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        return bytes
    }

    /// The target of the symbolic link at `path` (`readlink(2)`).
    static func readLink(_ path: String) throws(Errno) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw Errno(rawValue: errno) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Size and modification time of the file at `path` (following symlinks).
    static func status(_ path: String) throws(Errno) -> (size: Int, modified: Int64, isDirectory: Bool) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Errno(rawValue: errno) }
        let nanos = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return (Int(info.st_size), nanos, (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// The canonical absolute path of an existing file (symlinks resolved), via `realpath(3)`.
    static func canonicalPath(_ path: String) throws(Errno) -> String {
        guard let resolved = realpath(path, nil) else { throw Errno(rawValue: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Writes `bytes` to a new or truncated file at `path`.
    static func write(_ bytes: [UInt8], to path: String) throws(Errno) {
        do {
            let fd = try FileDescriptor.open(
                FilePath(path), .writeOnly, options: [.create, .truncate],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
            try fd.closeAfter { _ = try fd.writeAll(bytes) }
        } catch {
            throw error as! Errno
        }
    }
}
