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
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw Errno(rawValue: errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw Errno.isDirectory }
        var capacity = max(Int(info.st_size), 0) + 1
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
