import SystemPackage
/// Reads each record's file, named by its id column, under a data directory, and hands the
/// contents to a transform: the seed library's `FileDataEncoder`.
///
/// The id goes through an ``IDMapper`` (say, adding `.txt`) and resolves as every tool resolves a
/// path: an absolute one is read as it is, a relative one against ``directory`` (`..` included),
/// and symlinks are followed. For inventories from untrusted sources,
/// ``PathPolicy/confinedToDataDirectory`` refuses any id that leaves the directory (`../x`,
/// `/etc/passwd`, or a symlink pointing outside, checked on the file actually opened). A missing
/// or unreadable file is an error naming the record, the id and the path.
///
/// ```swift
/// let encoder = FileDataEncoder(directory: "mnist", idMapper: IDMapper(suffix: ".txt"),
///                               identity: "savetxt-784@1", output: ArraySpec(.float32, [784])) {
///     try TextArrayDecoder(dtype: .float32, shape: [784], scale: 1 / 255).decode($0.bytes)
/// }
/// ```
public struct FileDataEncoder: DataEncoder, ResourceLocating {
    /// The directory that relative ids resolve against (and, when ``paths`` confines them, that
    /// every record's file must lie in).
    public let directory: String
    /// The column holding each record's id.
    public let idColumn: String
    /// The id → file name mapping.
    public let idMapper: IDMapper
    /// How ids resolve: as given (the default) or confined to ``directory``.
    public let paths: PathPolicy
    /// Under ``PathPolicy/confinedToDataDirectory``, whether symlinks may point outside
    /// ``directory`` (default: refused). Paths given as they are follow every symlink.
    public let allowsSymlinksOutside: Bool
    public let outputSpec: ArraySpec
    /// What its transform returns: the arrays (default), or JPEG files decoding to images of
    /// ``outputSpec`` (set to ``CacheColumnEncoding/jpeg`` with ``JPEGImageStore/encode(_:)``).
    public var columnEncoding: CacheColumnEncoding = .plain
    private let transformIdentity: String
    private let transform: @Sendable (ResourceContents) throws -> NDArray

    /// - Parameters:
    ///   - directory: the data directory.
    ///   - idColumn: the column naming each record's file (default `"id"`).
    ///   - idMapper: id → file name (default: unchanged).
    ///   - identity: a stable name of what `transform` computes.
    ///   - output: the spec of `transform`'s result.
    ///   - paths: ``PathPolicy/asGiven`` (default) or ``PathPolicy/confinedToDataDirectory`` for
    ///     untrusted inventories.
    ///   - allowsSymlinksOutside: when confined, follow symlinks that leave `directory` (default `false`).
    ///   - transform: turns a file's contents into the record's array.
    public init(directory: String, idColumn: String = "id", idMapper: IDMapper = .identity,
                identity: String, output: ArraySpec, paths: PathPolicy = .asGiven,
                allowsSymlinksOutside: Bool = false,
                transform: @escaping @Sendable (ResourceContents) throws -> NDArray) {
        self.directory = directory
        self.idColumn = idColumn
        self.idMapper = idMapper
        self.transformIdentity = identity
        self.outputSpec = output
        self.paths = paths
        self.allowsSymlinksOutside = allowsSymlinksOutside
        self.transform = transform
    }

    public var identity: String {
        "file(id=\(idColumn.debugDescription),\(idMapper.identity))|\(transformIdentity)"
    }

    /// The path of `record`'s file: the mapped id when it is absolute (and paths are given as
    /// they are), else the directory joined with it.
    /// - Throws: ``EncodingError/missingColumn(column:row:available:line:)``;
    ///   ``EncodingError/unreadable(row:id:path:reason:line:)`` for an id holding a NUL byte; when
    ///   confined, ``EncodingError/outsideDataDirectory(row:id:path:directory:line:)`` for a mapped
    ///   id that is absolute or climbs out with `..`.
    public func location(of record: Record) throws(EncodingError) -> String {
        guard let id = record[idColumn] else {
            throw .missingColumn(column: idColumn, row: record.row, available: record.inventory.columnNames,
                                 line: record.line)
        }
        let name = idMapper(id)
        switch paths {
        case .asGiven:
            let path = name.hasPrefix("/") ? name : PathContainment.join(directory, name)
            guard !name.utf8.contains(0) else {
                throw .unreadable(row: record.row, id: id, path: path, reason: "the path holds a NUL byte", line: record.line)
            }
            return path
        case .confinedToDataDirectory:
            let path = PathContainment.join(directory, name)
            guard PathContainment.isRelativeAndContained(name), !name.utf8.contains(0) else {
                throw .outsideDataDirectory(row: record.row, id: id, path: path, directory: directory, line: record.line)
            }
            return path
        }
    }

    /// The size in bytes of `record`'s file.
    public func byteSize(of record: Record) throws(EncodingError) -> Int {
        try withOpenFile(of: record) { (_, _, _, size) in size }
    }

    /// Reads `record`'s file and transforms it.
    public func encode(_ record: Record) throws -> NDArray {
        let contents = try contents(of: record)
        do {
            return try transform(contents)
        } catch let error as EncodingError {
            throw error.withLine(from: record.inventory)
        }
    }

    /// The bytes of `record`'s file, untransformed.
    /// - Throws: ``EncodingError/fileNotFound(row:id:path:line:)``, ``EncodingError/unreadable(row:id:path:reason:line:)``
    ///   or ``EncodingError/outsideDataDirectory(row:id:path:directory:line:)``, naming the id and the path.
    public func contents(of record: Record) throws(EncodingError) -> ResourceContents {
        try withOpenFile(of: record) { (fd, id, path, size) throws(EncodingError) in
            do throws(Errno) {
                return ResourceContents(row: record.row, id: id, location: path,
                                        bytes: try FileIO.readAll(fd, expectedSize: size))
            } catch {
                throw .unreadable(row: record.row, id: id, path: path, reason: error.description, line: record.line)
            }
        }
    }

    /// Opens `record`'s file and runs `body` on it (with the id, the path and the file's size).
    /// When paths are confined and symlinks may not leave the directory, the
    /// containment check is made on the file actually opened (its path read back from the open
    /// descriptor), so a symlink swapped in after a check cannot lead outside; a directory that
    /// cannot be resolved refuses every file. Only regular files are read.
    private func withOpenFile<R>(of record: Record,
                                 _ body: (FileDescriptor, String, String, Int) throws(EncodingError) -> R) throws(EncodingError) -> R {
        let path = try location(of: record)
        let id = record[idColumn] ?? ""
        var root: String? = nil
        let line = record.line
        if paths == .confinedToDataDirectory && !allowsSymlinksOutside {
            do throws(Errno) { root = try FileIO.canonicalPath(directory.isEmpty ? "." : directory) } catch {
                throw .unreadable(row: record.row, id: id, path: path,
                                  reason: "the data directory \(directory) cannot be resolved: \(error.description)", line: line)
            }
        }
        let opened: FileDescriptor?
        do {
            if let root {
                opened = try FileIO.open(path) { real in PathContainment.isInside(real, root: root) }
            } else {
                opened = try FileIO.open(path)
            }
        } catch {
            throw error == .noSuchFileOrDirectory
                ? .fileNotFound(row: record.row, id: id, path: path, line: line)
                : .unreadable(row: record.row, id: id, path: path, reason: error.description, line: line)
        }
        guard let fd = opened else {
            throw .outsideDataDirectory(row: record.row, id: id, path: path, directory: directory, line: line)
        }
        defer { try? fd.close() }
        let status: (size: Int, isRegular: Bool, isDirectory: Bool)
        do throws(Errno) { status = try FileIO.status(of: fd) } catch {
            throw .unreadable(row: record.row, id: id, path: path, reason: error.description, line: line)
        }
        guard status.isRegular else {
            throw .unreadable(row: record.row, id: id, path: path,
                              reason: status.isDirectory ? "it is a directory" : "it is not a regular file", line: line)
        }
        return try body(fd, id, path, status.size)
    }
}

/// How a ``FileDataEncoder`` resolves the paths that ids name.
public enum PathPolicy: Sendable, Equatable {
    /// As every tool does: an absolute path is read as it is, a relative one against the data
    /// directory (`..` included), symlinks are followed. For inventories you trust.
    case asGiven
    /// Every file must lie inside the data directory: absolute ids, ids climbing out with `..`
    /// and symlinks leading outside are refused (checked on the file actually opened). For
    /// inventories from untrusted sources; the CLI's `--confine-to-data-dir`.
    case confinedToDataDirectory
}

/// Something that can say where a record's resource lives and how large it is: what
/// ``Inventory/enriched(by:pathColumn:sizeColumn:)`` needs.
public protocol ResourceLocating: Sendable {
    /// The record's file path or URL.
    func location(of record: Record) throws(EncodingError) -> String
    /// The record's resource size in bytes.
    func byteSize(of record: Record) throws(EncodingError) -> Int
}

/// Lexical path checks for keeping ids inside a data directory.
enum PathContainment {
    /// `directory/name`, without doubling the separator.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Whether `name` is relative and never climbs above its starting directory.
    static func isRelativeAndContained(_ name: String) -> Bool {
        if name.isEmpty || name.hasPrefix("/") { return false }
        var depth = 0
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                depth -= 1
                if depth < 0 { return false }
            default: depth += 1
            }
        }
        return depth > 0
    }

    /// Whether the canonical `path` lies inside the canonical directory `root`.
    static func isInside(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
