#if canImport(Glibc)
import Glibc
#endif

extension CacheSet {
    /// Writes the manifest of a set of `shards` (cache files, in row order) at `path`, and opens it.
    ///
    /// Every shard is verified first, as ``CacheFile/verify()`` (`datagen cache verify`) does,
    /// and must have the first shard's columns and label classes; shards with no rows are fine.
    /// Each shard must lie inside the manifest's folder (or below it): the manifest records its
    /// path relative to that folder, so the folder can be moved or copied as a whole. The
    /// manifest is written atomically (a temporary file, `fsync`, `rename`, `fsync` of the
    /// folder): a reader sees the old manifest or the new one, never a part.
    /// - Parameters:
    ///   - path: the manifest to write, ending in `.dgset`.
    ///   - shards: the shards' paths (absolute, or relative to the working directory).
    /// - Throws: ``CacheError/shard(set:index:path:error:)`` for a shard that cannot be opened
    ///   or verified; ``CacheError/invalidOption(_:)`` naming the first shard whose schema or
    ///   classes differ from the first's, a shard outside the folder or listed twice, or no
    ///   shards; ``CacheError/invalidOutput(path:reason:)`` and ``CacheError/io(path:operation:errno:)``
    ///   when the manifest cannot be written.
    /// - Complexity: O(total size of the shards), for the verification.
    @discardableResult
    public static func create(at path: String, shards: [String]) throws(CacheError) -> CacheSet {
        guard isManifest(path) else { throw .invalidOutput(path: path, reason: "a cache set manifest's name ends in .dgset") }
        guard !shards.isEmpty else { throw .invalidOption("a cache set needs at least one shard") }
        let folder = Self.folder(of: path)
        let canonicalFolder: String
        do { canonicalFolder = try FileIO.canonicalPath(folder.isEmpty ? "." : folder) } catch {
            throw .invalidOutput(path: path, reason: "its folder \(folder.isEmpty ? "." : folder) does not exist")
        }
        var entries = [SetManifest.Shard]()
        var first: (path: String, schema: [SetColumn], classes: [String]?)?
        var seen = [String: Int]()
        for (index, shardPath) in shards.enumerated() {
            func failed(_ error: CacheError) -> CacheError { .shard(set: path, index: index, path: shardPath, error: error) }
            let relative = try relativePath(of: shardPath, inside: canonicalFolder, manifest: path, index: index)
            if let earlier = seen[relative] {
                throw .invalidOption("shard \(index) (\(shardPath)) is shard \(earlier) again: a set lists each file once")
            }
            seen[relative] = index
            let file: CacheFile
            do {
                file = try CacheFile(path: shardPath)
                _ = try file.verify()
            } catch { throw failed(error) }
            let schema = file.columns.map(SetColumn.init)
            if let first {
                // Classes first: a label encoder's identity holds its classes, so they differ too.
                guard file.classes == first.classes else {
                    throw .invalidOption("shard \(index) (\(shardPath)) has other label classes than shard 0 (\(first.path)): \(Self.describe(file.classes)) against \(Self.describe(first.classes)); build every shard with --shard K/N from the same inventory so that the classes are fitted once")
                }
                guard schema == first.schema else {
                    throw .invalidOption("shard \(index) (\(shardPath)) has other columns than shard 0 (\(first.path)): \(Self.describe(schema)) against \(Self.describe(first.schema))")
                }
            } else {
                first = (shardPath, schema, file.classes)
            }
            entries.append(SetManifest.Shard(path: relative, rows: file.rowCount, fingerprint: file.fingerprint.value,
                                              bytes: Int(file.fileSize)))
        }
        let manifest = SetManifest(schema: first!.schema, classes: first!.classes, shards: entries)
        try write(manifest.encoded(), to: path)
        return CacheSet(path: path, manifest: manifest)
    }

    /// The path of a shard relative to the manifest's (canonical) folder: the canonical path of
    /// the shard's folder (symlinks resolved) and the shard's own name, which stays as given
    /// (a symlinked shard is recorded under its link's name).
    private static func relativePath(of shard: String, inside folder: String, manifest: String,
                                     index: Int) throws(CacheError) -> String {
        let shardFolder = Self.folder(of: shard)
        let name = shard.lastIndex(of: "/").map { String(shard[shard.index(after: $0)...]) } ?? shard
        let canonical: String
        do { canonical = try FileIO.canonicalPath(shardFolder.isEmpty ? "." : shardFolder) } catch {
            throw .shard(set: manifest, index: index, path: shard, error: .io(path: shard, operation: "open", errno: error.rawValue))
        }
        let prefix = folder == "/" ? "/" : folder + "/"
        let full = (canonical == "/" ? "/" : canonical + "/") + name
        guard full.hasPrefix(prefix), full.count > prefix.count else {
            throw .invalidOption("shard \(index) (\(shard)) does not lie inside the manifest's folder \(folder): a set's shards lie in its manifest's folder or below it")
        }
        let relative = String(full.dropFirst(prefix.count))
        if let problem = SetManifest.pathProblem(relative) {
            throw .invalidOption("shard \(index) (\(shard)): \(problem)")
        }
        return relative
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, synced, renamed over it,
    /// then the folder synced.
    static func write(_ bytes: [UInt8], to path: String) throws(CacheError) {
        let temporary = path + ".partial-\(getpid())"
        do {
            let file = try WritableFile(path: temporary)
            try file.truncate(to: 0)
            try file.write(bytes, at: 0)
            try file.sync()
            try file.close()
            try WritableFile.rename(temporary, to: path)
            try WritableFile.syncDirectory(of: path)
        } catch {
            try? WritableFile.remove(temporary)
            throw .io(path: error.path ?? path, operation: error.operation, errno: error.errno.rawValue)
        }
    }

    private static func describe(_ schema: [SetColumn]) -> String {
        "[" + schema.map { column in
            "\(column.name) \(column.role) \(column.dtype)\(column.variableLength ? "[*]+" : "")\(column.shape) \(column.encoder)"
        }.joined(separator: ", ") + "]"
    }

    private static func describe(_ classes: [String]?) -> String {
        classes.map { "[" + $0.joined(separator: ", ") + "]" } ?? "none"
    }
}
