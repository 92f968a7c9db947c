#if canImport(Glibc)
import Glibc
#endif

/// An error building, opening or reading a cache file.
///
/// Every case names what is at fault: the file, the column, the row or unit, the byte offset, or
/// the record (row, id, path) whose encoding failed.
public enum CacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a cache file (its header does not start with the cache magic, or it is empty).
    case notACache(path: String)
    /// The file starts like a cache file but its trailer is missing or invalid (a cut-off copy or
    /// an unfinished build).
    case truncated(path: String)
    /// The file was written in a newer format version than this reader knows.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// The file's structure is inconsistent: an offset, a length or a value breaks the format.
    /// `column` and `row` name the place when there is one.
    case corrupt(path: String, column: String?, row: Int?, reason: String)
    /// Stored bytes do not match their CRC-32: `what` names the region ("metadata", "units table",
    /// "unit 12 (rows 12..<13)"), `column` its column, `offset` its file offset.
    case checksumMismatch(path: String, what: String, column: String?, offset: UInt64)
    /// The cache was built from other inputs than those given: `differences` says what differs
    /// (the inventory's rows, an encoder, the schema).
    case stale(path: String, differences: [String])
    /// Another process holds the build lock of this cache.
    case locked(path: String)
    /// A system call failed on `path`.
    case io(path: String, operation: String, errno: Int32)
    /// A record could not be encoded (policy `fail`); `path` is its file or URL when the encoder
    /// reads one, `line` the CSV line it starts on when the inventory came from a CSV. The partial
    /// build stays resumable, and the message says that the skip policy would leave such records out.
    case recordFailed(row: Int, id: String?, path: String?, reason: String, line: Int? = nil)
    /// A column name that the cache does not have.
    case noSuchColumn(name: String, available: [String])
    /// A row outside `0..<count`.
    case rowOutOfRange(row: Int, count: Int)
    /// A caller-provided buffer too small for the rows asked for.
    case bufferTooSmall(column: String, needed: Int, available: Int)
    /// An operation that needs a fixed-shape column was asked of a variable-length one, or the reverse.
    case wrongColumnKind(column: String, reason: String)
    /// An invalid builder option or data set.
    case invalidOption(String)
    /// The build's output path cannot name a cache file: it is a directory, or its directory
    /// does not exist; `reason` says which.
    case invalidOutput(path: String, reason: String)
    /// A cache set manifest (`.dgset`) that cannot be read: not JSON, a field of the wrong type or
    /// out of bounds, shards whose rows do not add up, a shard path leaving the manifest's folder.
    case invalidSet(path: String, reason: String)
    /// Shard `index` of the cache set `set`, at `path`, failed: `error` says how (missing, replaced
    /// since the manifest was written, corrupt).
    indirect case shard(set: String, index: Int, path: String, error: CacheError)

    public var description: String {
        switch self {
        case let .notACache(path):
            "\(path) is not a DataGenerator cache file"
        case let .truncated(path):
            "\(path) is truncated: it starts like a cache file but has no valid trailer (an unfinished build or a cut-off copy)"
        case let .unsupportedVersion(path, found, supported):
            CacheSet.isManifest(path)
                ? "\(path) has set manifest version \(found) (this reader reads \(supported))"
                : "\(path) has cache format version \(found); this reader supports version \(supported) at most"
        case let .corrupt(path, column, row, reason):
            "\(path) is corrupt\(column.map { " in column '\($0)'" } ?? "")\(row.map { " at row \($0)" } ?? ""): \(reason)"
        case let .checksumMismatch(path, what, column, offset):
            "\(path): checksum mismatch in \(what)\(column.map { " of column '\($0)'" } ?? "") at offset \(offset)"
        case let .stale(path, differences):
            "\(path) is stale: it was built from other inputs (\(differences.joined(separator: "; ")))"
        case let .locked(path):
            "\(path) is being built by another process (its lock file is held)"
        case let .io(path, operation, code):
            "\(operation) \(path): \(String(cString: strerror(code)))"
        case let .recordFailed(row, id, path, reason, line):
            Self.recordFailure(row: row, id: id, path: path, reason: reason, line: line)
        case let .noSuchColumn(name, available):
            "the cache has no column '\(name)' (columns: \(available.joined(separator: ", ")))"
        case let .rowOutOfRange(row, count):
            "row \(row) is outside the cache's rows 0..<\(count)"
        case let .bufferTooSmall(column, needed, available):
            "the buffer for column '\(column)' holds \(available) bytes; \(needed) are needed"
        case let .wrongColumnKind(column, reason):
            "column '\(column)': \(reason)"
        case let .invalidOption(reason):
            reason
        case let .invalidOutput(path, reason):
            "cannot write the cache to \(path): \(reason)"
        case let .invalidSet(path, reason):
            "\(path) is not a valid cache set manifest: \(reason)"
        case let .shard(set, index, path, .stale(_, differences)):
            "\(set): shard \(index) (\(path)): it was replaced since the set was written (\(differences.joined(separator: "; "))); \(Self.shardRemedy)"
        case let .shard(set, index, path, .io(file, operation, code)) where code == ENOENT:
            "\(set): shard \(index) (\(path)): \(CacheError.io(path: file, operation: operation, errno: code)); \(Self.shardRemedy)"
        case let .shard(set, index, path, error):
            "\(set): shard \(index) (\(path)): \(error)"
        }
    }

    /// What to do about a set's shard that is missing or was replaced.
    static let shardRemedy = "restore it, or rebuild it with --shard K/N and rerun `datagen cache set create`"

    /// The message of ``recordFailed(row:id:path:reason:line:)``: the record's name and file, the
    /// reason (without naming the record twice when the reason already starts with its name), and
    /// how to leave such records out.
    static func recordFailure(row: Int, id: String?, path: String?, reason: String, line: Int?) -> String {
        let name = EncodingError.name(row, id, line: line)
        let hint = " (use --on-error skip, in Swift onError: .skip, to leave such records out)"
        if reason.hasPrefix(name + ":") || reason.hasPrefix(name + " (") {
            return reason + hint
        }
        return "\(name)\(path.map { " at \($0)" } ?? ""): \(reason)\(hint)"
    }
}
