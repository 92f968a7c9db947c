import SystemPackage
/// Reads each record's file, named by its id column, under a data directory, and hands the
/// contents to a transform: the seed library's `FileDataEncoder`.
///
/// The id goes through an ``IDMapper`` (say, adding `.txt`) and is resolved under
/// ``directory``. An id that leaves the directory (`../x`, `/etc/passwd`, or a symlink pointing
/// outside) is refused; a missing or unreadable file is an error naming the id and the path.
///
/// ```swift
/// let encoder = FileDataEncoder(directory: "mnist", idMapper: IDMapper(suffix: ".txt"),
///                               identity: "savetxt-784@1", output: ArraySpec(.float32, [784])) {
///     try TextArrayDecoder(dtype: .float32, shape: [784], scale: 1 / 255).decode($0.bytes)
/// }
/// ```
public struct FileDataEncoder: DataEncoder, ResourceLocating {
    /// The directory that every record's file must lie in.
    public let directory: String
    /// The column holding each record's id.
    public let idColumn: String
    /// The id → file name mapping.
    public let idMapper: IDMapper
    /// Whether symlinks may point outside ``directory`` (default: refused).
    public let allowsSymlinksOutside: Bool
    public let outputSpec: ArraySpec
    private let transformIdentity: String
    private let transform: @Sendable (ResourceContents) throws -> NDArray

    /// - Parameters:
    ///   - directory: the data directory.
    ///   - idColumn: the column naming each record's file (default `"id"`).
    ///   - idMapper: id → file name (default: unchanged).
    ///   - identity: a stable name of what `transform` computes.
    ///   - output: the spec of `transform`'s result.
    ///   - allowsSymlinksOutside: follow symlinks that leave `directory` (default `false`).
    ///   - transform: turns a file's contents into the record's array.
    public init(directory: String, idColumn: String = "id", idMapper: IDMapper = .identity,
                identity: String, output: ArraySpec, allowsSymlinksOutside: Bool = false,
                transform: @escaping @Sendable (ResourceContents) throws -> NDArray) {
        self.directory = directory
        self.idColumn = idColumn
        self.idMapper = idMapper
        self.transformIdentity = identity
        self.outputSpec = output
        self.allowsSymlinksOutside = allowsSymlinksOutside
        self.transform = transform
    }

    public var identity: String {
        "file(id=\(idColumn.debugDescription),\(idMapper.identity))|\(transformIdentity)"
    }

    /// The path of `record`'s file: the directory joined with the mapped id.
    /// - Throws: ``EncodingError/missingColumn(column:row:available:)`` and
    ///   ``EncodingError/outsideDataDirectory(row:id:path:directory:)`` when the mapped id is
    ///   absolute or climbs out with `..`.
    public func location(of record: Record) throws(EncodingError) -> String {
        guard let id = record[idColumn] else {
            throw .missingColumn(column: idColumn, row: record.row, available: record.inventory.columnNames)
        }
        let name = idMapper(id)
        let path = PathContainment.join(directory, name)
        guard PathContainment.isRelativeAndContained(name), !name.utf8.contains(0) else {
            throw .outsideDataDirectory(row: record.row, id: id, path: path, directory: directory)
        }
        return path
    }

    /// The size in bytes of `record`'s file.
    public func byteSize(of record: Record) throws(EncodingError) -> Int {
        try withOpenFile(of: record) { (_, _, _, size) in size }
    }

    /// Reads `record`'s file and transforms it.
    public func encode(_ record: Record) throws -> NDArray {
        try transform(try contents(of: record))
    }

    /// The bytes of `record`'s file, untransformed.
    /// - Throws: ``EncodingError/fileNotFound(row:id:path:)``, ``EncodingError/unreadable(row:id:path:reason:)``
    ///   or ``EncodingError/outsideDataDirectory(row:id:path:directory:)``, naming the id and the path.
    public func contents(of record: Record) throws(EncodingError) -> ResourceContents {
        try withOpenFile(of: record) { (fd, id, path, size) throws(EncodingError) in
            do throws(Errno) {
                return ResourceContents(row: record.row, id: id, location: path,
                                        bytes: try FileIO.readAll(fd, expectedSize: size))
            } catch {
                throw .unreadable(row: record.row, id: id, path: path, reason: error.description)
            }
        }
    }

    /// Opens `record`'s file and runs `body` on it (with the id, the path and the file's size).
    /// Unless symlinks may leave the directory, the
    /// containment check is made on the file actually opened (its path read back from the open
    /// descriptor), so a symlink swapped in after a check cannot lead outside; a directory that
    /// cannot be resolved refuses every file. Only regular files are read.
    private func withOpenFile<R>(of record: Record,
                                 _ body: (FileDescriptor, String, String, Int) throws(EncodingError) -> R) throws(EncodingError) -> R {
        let path = try location(of: record)
        let id = record[idColumn] ?? ""
        var root: String? = nil
        if !allowsSymlinksOutside {
            do throws(Errno) { root = try FileIO.canonicalPath(directory.isEmpty ? "." : directory) } catch {
                throw .unreadable(row: record.row, id: id, path: path,
                                  reason: "the data directory \(directory) cannot be resolved: \(error.description)")
            }
        }
        let opened: FileDescriptor?
        do {
            opened = try FileIO.open(path) { real in root.map { PathContainment.isInside(real, root: $0) } ?? true }
        } catch {
            throw error == .noSuchFileOrDirectory
                ? .fileNotFound(row: record.row, id: id, path: path)
                : .unreadable(row: record.row, id: id, path: path, reason: error.description)
        }
        guard let fd = opened else { throw .outsideDataDirectory(row: record.row, id: id, path: path, directory: directory) }
        defer { try? fd.close() }
        let status: (size: Int, isRegular: Bool, isDirectory: Bool)
        do throws(Errno) { status = try FileIO.status(of: fd) } catch {
            throw .unreadable(row: record.row, id: id, path: path, reason: error.description)
        }
        guard status.isRegular else {
            throw .unreadable(row: record.row, id: id, path: path,
                              reason: status.isDirectory ? "it is a directory" : "it is not a regular file")
        }
        return try body(fd, id, path, status.size)
    }
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
