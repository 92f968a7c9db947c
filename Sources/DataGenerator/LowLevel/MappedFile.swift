import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped read-only into memory: the cache reader's view of the file.
///
/// `@unchecked Sendable`: the mapping is read-only (`PROT_READ`, `MAP_PRIVATE`) and lives until
/// this object is released, so any number of threads may read it at once. Every access goes
/// through ``bytes(at:count:)``, which checks the range against the file size first.
/// The builder never modifies a published cache in place (it renames a new file over it), so a
/// mapping never sees its file shrink (which would raise SIGBUS).
final class MappedFile: @unchecked Sendable {
    /// The file's path (for errors).
    let path: String
    /// The file's size in bytes.
    let size: UInt64
    private let base: UnsafeRawPointer?

    /// Maps the file at `path`.
    /// - Throws: the `Errno` of `open`, `fstat` or `mmap`.
    init(path: String) throws(Errno) {
        self.path = path
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly) } catch { throw error as! Errno }
        defer { try? fd.close() }
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw Errno(rawValue: errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw Errno.isDirectory }
        size = UInt64(max(0, info.st_size))
        if size == 0 {
            base = nil  // mmap of length 0 fails with EINVAL
            return
        }
        let mapped = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE, fd.rawValue, 0)
        guard let mapped, mapped != MAP_FAILED else { throw Errno(rawValue: errno) }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), Int(size)) }
    }

    /// Whether `count` bytes at `offset` lie inside the file (overflow-safe).
    func contains(offset: UInt64, count: UInt64) -> Bool {
        offset <= size && count <= size - offset
    }

    /// The `count` bytes at `offset`, or `nil` when the range leaves the file.
    /// The buffer is valid while this object lives.
    func bytes(at offset: UInt64, count: UInt64) -> UnsafeRawBufferPointer? {
        guard contains(offset: offset, count: count) else { return nil }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + Int(offset), count: Int(count))
    }

    /// Tells the kernel the given range is no longer needed (`madvise(MADV_DONTNEED)`): its pages
    /// leave this process's resident set (they stay in the page cache).
    func release(offset: UInt64, count: UInt64) {
        guard let base, contains(offset: offset, count: count), count > 0 else { return }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let end = offset + count
        madvise(UnsafeMutableRawPointer(mutating: base + Int(start)), Int(end - start), MADV_DONTNEED)
    }

    /// Asks the kernel to read ahead the given range (`madvise(MADV_WILLNEED)`).
    func prefetch(offset: UInt64, count: UInt64) {
        guard let base, contains(offset: offset, count: count), count > 0 else { return }
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        madvise(UnsafeMutableRawPointer(mutating: base + Int(start)), Int(offset + count - start), MADV_WILLNEED)
    }
}
