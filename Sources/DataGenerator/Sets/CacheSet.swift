import Synchronization
import SystemPackage

/// An open cache set: the shards a manifest (`NAME.dgset`) lists, read as one cache whose rows
/// are the shards' rows one shard after another (global row numbers).
///
/// Opening reads and checks the manifest only, so it takes memory and time in O(shards), never
/// O(rows). Each shard is opened the first time one of its rows (or its file) is asked for, and
/// checked then against its manifest entry: its size, fingerprint, rows, schema and classes. A
/// shard that is missing, was replaced since the manifest was written, or is corrupt gives
/// ``CacheError/shard(set:index:path:error:)`` naming it. Many threads may read one set at once.
///
/// ```swift
/// let set = try CacheSet(path: "train/train.dgset")
/// let served = try CachedDataSet(set: set)   // the same batches as one file of the same rows
/// ```
public final class CacheSet: Sendable {
    /// The manifest's path.
    public let path: String
    /// The manifest.
    public let manifest: SetManifest
    /// The folder shard paths are relative to (`""` for the working directory).
    let folder: String
    /// The first global row of each shard, then the total: `shards + 1` entries.
    let starts: [Int]
    /// The shards opened so far.
    private let files: LazyReferences<CacheFile>

    /// Opens the manifest at `path`; no shard is opened.
    /// - Throws: ``CacheError/io(path:operation:errno:)`` when it cannot be read,
    ///   ``CacheError/invalidSet(path:reason:)``, ``CacheError/unsupportedVersion(path:found:supported:)``.
    /// - Complexity: O(manifest size).
    public convenience init(path: String) throws(CacheError) {
        let bytes: [UInt8]
        do {
            // Refused before reading: a huge file (a cache named .dgset, say) is not a manifest.
            let size = try FileIO.status(path).size
            guard size <= SetManifest.maxBytes else {
                throw CacheError.invalidSet(path: path, reason: "it holds \(size) bytes, more than a manifest's \(SetManifest.maxBytes)")
            }
            bytes = try FileIO.readAll(path)
        } catch let error as Errno {
            throw .io(path: path, operation: "read", errno: error.rawValue)
        } catch {
            throw error as! CacheError
        }
        self.init(path: path, manifest: try SetManifest.parse(bytes, path: path))
    }

    /// The set of an already read manifest at `path`.
    init(path: String, manifest: SetManifest) {
        self.path = path
        self.manifest = manifest
        folder = Self.folder(of: path)
        var starts = [0]
        starts.reserveCapacity(manifest.shards.count + 1)
        for shard in manifest.shards { starts.append(starts.last! + shard.rows) }
        self.starts = starts
        files = LazyReferences(count: manifest.shards.count)
    }

    /// Whether `path` names a cache set manifest (it ends in `.dgset`) rather than a cache file.
    public static func isManifest(_ path: String) -> Bool { path.hasSuffix(".dgset") }

    /// The total number of rows.
    public var rowCount: Int { manifest.rows }
    /// The number of shards.
    public var shardCount: Int { manifest.shards.count }
    /// The set's fingerprint (it keys checkpoints as a cache's fingerprint value does).
    public var fingerprint: String { manifest.fingerprint }
    /// The label classes every shard has, when the target has some.
    public var classes: [String]? { manifest.classes }
    /// The columns every shard has.
    public var schema: [SetColumn] { manifest.schema }
    /// The global rows of shard `index`.
    public func rows(ofShard index: Int) -> Range<Int> { starts[index]..<starts[index + 1] }

    /// The path of shard `index` (the manifest's folder joined with its relative path).
    public func shardPath(_ index: Int) -> String {
        folder.isEmpty ? manifest.shards[index].path : folder + "/" + manifest.shards[index].path
    }

    /// Whether shard `index` has been opened.
    public func isOpen(shard index: Int) -> Bool { files.load(index) != nil }

    /// Shard `index`, opened and checked against its manifest entry on first use.
    /// - Throws: ``CacheError/shard(set:index:path:error:)`` wrapping the cache's own error
    ///   (``CacheError/io(path:operation:errno:)`` for a missing file, a corruption error), or
    ///   ``CacheError/stale(path:differences:)`` when it differs from its entry (replaced).
    public func shard(_ index: Int) throws(CacheError) -> CacheFile {
        if let file = files.load(index) { return file }
        let path = shardPath(index)
        let file: CacheFile
        do { file = try CacheFile(path: path) } catch { throw .shard(set: self.path, index: index, path: path, error: error) }
        let differences = differences(of: file, from: manifest.shards[index])
        guard differences.isEmpty else {
            throw .shard(set: self.path, index: index, path: path, error: .stale(path: path, differences: differences))
        }
        return files.store(index, file)
    }

    /// What differs between an opened shard and its entry, in words.
    private func differences(of file: CacheFile, from entry: SetManifest.Shard) -> [String] {
        var found = [String]()
        if file.fileSize != UInt64(entry.bytes) { found.append("its size is \(file.fileSize) bytes, the manifest recorded \(entry.bytes)") }
        if file.fingerprint.value != entry.fingerprint {
            found.append("its fingerprint is \(file.fingerprint.value), the manifest recorded \(entry.fingerprint)")
        }
        if file.rowCount != entry.rows { found.append("it has \(file.rowCount) rows, the manifest recorded \(entry.rows)") }
        let columns = file.columns.map(SetColumn.init)
        if columns != manifest.schema {
            if columns.count != manifest.schema.count {
                found.append("it has \(columns.count) columns, the set's schema \(manifest.schema.count)")
            } else if let (own, set) = zip(columns, manifest.schema).first(where: { $0.0 != $0.1 }) {
                found.append("its column '\(own.name)' differs from the set's column '\(set.name)' (\(own) against \(set))")
            }
        }
        if file.classes != manifest.classes { found.append("its label classes differ from the set's") }
        return found
    }

    /// The shard holding global `row` (in range): the last shard starting at or before it.
    @inline(__always)
    func shardIndex(ofRow row: Int) -> Int {
        var low = 0, high = starts.count - 1  // starts[low] <= row < starts[high]
        while high - low > 1 {
            let middle = (low + high) >> 1
            if starts[middle] <= row { low = middle } else { high = middle }
        }
        return low
    }

    /// The shard holding global `row` and the row's number in it.
    /// - Throws: ``CacheError/rowOutOfRange(row:count:)``.
    public func locate(row: Int) throws(CacheError) -> (shard: Int, row: Int) {
        guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
        let shard = shardIndex(ofRow: row)
        return (shard, row - starts[shard])
    }

    /// Calls `body` for each run of consecutive `rows` (global, checked) in one shard, with the
    /// shard, the run's rows in that shard, and the position of the run's first row in `rows`.
    func forEachRun(_ rows: UnsafeBufferPointer<Int>,
                    _ body: (_ shard: Int, _ local: UnsafeBufferPointer<Int>, _ position: Int) throws(CacheError) -> Void) throws(CacheError) {
        guard !rows.isEmpty else { return }
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: rows.count) { (local) throws(CacheError) in
            var start = 0
            while start < rows.count {
                let first = rows[start]
                guard first >= 0 && first < rowCount else { throw .rowOutOfRange(row: first, count: rowCount) }
                let shard = shardIndex(ofRow: first)
                let low = starts[shard], high = starts[shard + 1]
                var end = start
                while end < rows.count, rows[end] >= low, rows[end] < high {
                    local[end] = rows[end] - low
                    end += 1
                }
                do throws(CacheError) {
                    try body(shard, UnsafeBufferPointer(rebasing: local[start..<end]), start)
                } catch {
                    throw reading(shard: shard, failed: error)
                }
                start = end
            }
        }
    }

    /// `error`, raised while reading shard `index`, naming the set and the shard
    /// (``CacheError/shard(set:index:path:error:)``, of the same kind for the C API) when it is
    /// about the shard's file: a corruption, a checksum mismatch, an I/O error. Other errors (and
    /// one already naming its shard) are returned as they are.
    func reading(shard index: Int, failed error: CacheError) -> CacheError {
        switch error {
        case .corrupt, .checksumMismatch, .io: .shard(set: path, index: index, path: shardPath(index), error: error)
        default: error
        }
    }

    /// ``forEachRun(_:_:)`` over any collection of rows.
    func forEachRun(_ rows: some Collection<Int>,
                    _ body: (_ shard: Int, _ local: UnsafeBufferPointer<Int>, _ position: Int) throws(CacheError) -> Void) throws(CacheError) {
        let copied = Array(rows)
        try copied.withUnsafeBufferPointer { (pointer) throws(CacheError) in try forEachRun(pointer, body) }
    }

    /// Whether the rows have ids (those of the first shard, whose schema every shard shares).
    /// - Throws: the errors of ``shard(_:)`` for the first shard.
    public func hasIDs() throws(CacheError) -> Bool { try shard(0).hasIDs }

    /// The id of global `row`, or `nil` when the rows have no ids.
    /// - Throws: ``CacheError/rowOutOfRange(row:count:)`` and the errors of ``shard(_:)``.
    public func id(ofRow row: Int) throws(CacheError) -> String? {
        let (shard, local) = try locate(row: row)
        do throws(CacheError) { return try self.shard(shard).id(ofRow: local) } catch { throw reading(shard: shard, failed: error) }
    }

    /// Copies global `rows` of a fixed-shape column into `buffer`, as ``CacheFile/gather(column:rows:into:)``.
    public func gather(column name: String, rows: some Collection<Int>,
                       into buffer: UnsafeMutableRawBufferPointer) throws(CacheError) {
        guard let column = manifest.schema.first(where: { $0.name == name }) else {
            throw .noSuchColumn(name: name, available: manifest.schema.map(\.name))
        }
        guard !column.variableLength else {
            throw .wrongColumnKind(column: name, reason: "it is variable-length: use arrays(column:rows:)")
        }
        let rowBytes = column.shape.reduce(1, *) * column.dtype.byteWidth
        let needed = rows.count * rowBytes
        guard buffer.count >= needed else { throw .bufferTooSmall(column: name, needed: needed, available: buffer.count) }
        try forEachRun(rows) { (shard, local, position) throws(CacheError) in
            let start = position * rowBytes
            try self.shard(shard).gather(column: name, rows: local,
                                         into: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + local.count * rowBytes)]))
        }
    }

    /// Global `rows` of a fixed-shape column as one array of shape `[rows] + shape`.
    public func gather(column name: String, rows: some Collection<Int>) throws(CacheError) -> NDArray {
        guard let column = manifest.schema.first(where: { $0.name == name }) else {
            throw .noSuchColumn(name: name, available: manifest.schema.map(\.name))
        }
        return try NDArray(dtype: column.dtype, shape: [rows.count] + column.shape) { (buffer) throws(CacheError) in
            try gather(column: name, rows: rows, into: buffer)
        }
    }

    /// Global `rows` of a variable-length column, as ``CacheFile/gatherVariable(column:rows:)``.
    public func gatherVariable(column name: String, rows: some Collection<Int>) throws(CacheError) -> (bytes: [UInt8], lengths: [Int]) {
        var bytes = [UInt8](), lengths = [Int]()
        try forEachRun(rows) { (shard, local, _) throws(CacheError) in
            let part = try self.shard(shard).gatherVariable(column: name, rows: local)
            if lengths.isEmpty {
                (bytes, lengths) = part  // one shard, the usual case: no copy
            } else {
                bytes += part.bytes
                lengths += part.lengths
            }
        }
        return (bytes, lengths)
    }

    /// Each of global `rows` of any column as its own array, as ``CacheFile/arrays(column:rows:)``.
    public func arrays(column name: String, rows: some Collection<Int>) throws(CacheError) -> [NDArray] {
        var arrays = [NDArray]()
        arrays.reserveCapacity(rows.count)
        try forEachRun(rows) { (shard, local, _) throws(CacheError) in
            arrays += try self.shard(shard).arrays(column: name, rows: local)
        }
        return arrays
    }

    /// Every column of global `row`, as ``CacheFile/row(_:)``.
    public func row(_ row: Int) throws(CacheError) -> [NDArray] {
        let (shard, local) = try locate(row: row)
        do throws(CacheError) { return try self.shard(shard).row(local) } catch { throw reading(shard: shard, failed: error) }
    }

    /// Opens and checks every shard against the manifest, then verifies each fully, as
    /// ``CacheFile/verify()``.
    /// - Returns: what was checked, over every shard.
    /// - Throws: the first problem, as ``CacheError/shard(set:index:path:error:)`` naming the shard.
    /// - Complexity: O(total size of the shards).
    public func verify() throws(CacheError) -> CacheVerification {
        var units = 0
        var stored: UInt64 = 0, raw: UInt64 = 0
        for index in 0..<shardCount {
            let file = try shard(index)
            do {
                let result = try file.verify()
                units += result.unitsChecked
                stored += result.storedBytes
                raw += result.rawBytes
            } catch {
                throw .shard(set: path, index: index, path: shardPath(index), error: error)
            }
        }
        return CacheVerification(unitsChecked: units, storedBytes: stored, rawBytes: raw)
    }

    /// The set's columns, every shard opened: each column's units and bytes added up over the
    /// shards, its codec the first shard's (shards may differ in codec).
    /// - Throws: the errors of ``shard(_:)``.
    /// - Complexity: O(shards × columns).
    public func columns() throws(CacheError) -> [CacheColumn] {
        var shards = [CacheFile]()
        for index in 0..<shardCount { shards.append(try shard(index)) }
        return shards[0].columns.indices.map { index in
            let first = shards[0].columns[index]
            return CacheColumn(name: first.name, role: first.role, spec: first.spec, codec: first.codec,
                               encoderIdentity: first.encoderIdentity,
                               unitCount: shards.reduce(0) { $0 + $1.columns[index].unitCount },
                               rawBytes: shards.reduce(0) { $0 + $1.columns[index].rawBytes },
                               storedBytes: shards.reduce(0) { $0 + $1.columns[index].storedBytes },
                               encoding: first.encoding)
        }
    }

    /// The folder of `path` (`""` when it has none, `/` for a file at the root).
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// A fixed number of references set at most once each, atomically: a set's shards opened so far
/// (one word per slot).
///
/// `@unchecked Sendable`: the slots are `AtomicLazyReference`s in a fixed allocation owned by this
/// object, only touched through their atomic operations.
final class LazyReferences<Instance: AnyObject & Sendable>: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<AtomicLazyReference<Instance>>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        for index in 0..<count { (pointer + index).initialize(to: AtomicLazyReference()) }
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }

    /// The reference in slot `index`, if set.
    func load(_ index: Int) -> Instance? { pointer[index].load() }

    /// Sets slot `index` to `value` unless it is set already; returns what the slot holds.
    func store(_ index: Int, _ value: Instance) -> Instance { pointer[index].storeIfNil(value) }
}
