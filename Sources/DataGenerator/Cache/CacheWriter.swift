import SystemPackage

/// Writes a cache file from ordered row groups of encoded columns: the one writer under every
/// builder (the Swift ``CacheBuilder``, the C API's `dg_writer_*`).
///
/// The writer takes an exclusive `flock` on `OUTPUT.lock` when created (a second writer of the
/// same cache fails at once with ``CacheError/locked(path:)``; the kernel drops a dead process's
/// lock) and holds it until ``finish(ids:classes:)``, ``abort()`` or its release; it removes the
/// lock file as it releases the lock, so only a killed writer leaves one. ``start()``
/// opens `OUTPUT.partial` and its journal `OUTPUT.partial.journal` and says how many groups an
/// interrupted earlier run of the same build already wrote: the caller continues with the next
/// one. Each ``append(_:)`` writes a group's units at 8-byte boundaries and journals it; ``finish(ids:classes:)``
/// writes the index and metadata, syncs the file and renames it over `OUTPUT`, so a published
/// cache is never modified in place. ``abort()`` leaves the partial file and its journal for a
/// resume.
///
/// ```swift
/// let writer = try CacheWriter(output: "train.dgcache", schema: schema)
/// for index in try writer.start()..<schema.groupCount { try writer.append(group(index)) }
/// try writer.finish(ids: ids, classes: classes)
/// ```
public final class CacheWriter {
    /// The cache file's path.
    public let output: String
    /// The columns, fingerprint and group shape.
    public let schema: CacheWriterSchema
    private var lock: FileLock?
    private var partial: WritableFile?
    private var journal: CacheJournal?
    private var state: CacheBuildState
    private var resumed = (groups: 0, rows: 0)

    /// Path of the side file written before it is renamed over ``output``.
    public var partialPath: String { output + ".partial" }
    /// Path of the resume journal.
    public var journalPath: String { output + ".partial.journal" }
    /// Path of the lock file.
    public var lockPath: String { output + ".lock" }

    /// A writer of `output`, holding its lock.
    /// - Throws: ``CacheError/invalidOutput(path:reason:)`` for a path that cannot name a cache
    ///   file, ``CacheError/locked(path:)`` when another writer holds it,
    ///   ``CacheError/invalidOption(_:)`` for an inconsistent schema, ``CacheError/io(path:operation:errno:)``.
    public init(output: String, schema: CacheWriterSchema) throws(CacheError) {
        try schema.validate()
        try Self.checkOutput(output)
        self.output = output
        self.schema = schema
        state = CacheBuildState(columnCount: schema.columns.count)
        do {
            guard let taken = try FileLock(path: output + ".lock") else { throw CacheError.locked(path: output) }
            lock = taken
        } catch let error as CacheError { throw error } catch { throw Self.ioError(error, output + ".lock") }
    }

    deinit { lock?.unlock() }

    /// Refuses an output path that cannot name a cache file, before anything is read or written:
    /// an existing directory (or a path ending in `/`), or a path whose directory does not exist
    /// or is not a directory. Other faults (permissions, say) surface when the build opens its files.
    /// - Throws: ``CacheError/invalidOutput(path:reason:)`` naming the path and what is wrong.
    public static func checkOutput(_ path: String) throws(CacheError) {
        guard !path.isEmpty else { throw .invalidOutput(path: path, reason: "the path is empty") }
        if path.hasSuffix("/") || (try? FileIO.status(path).isDirectory) == true {
            let example = (path.hasSuffix("/") ? path : path + "/") + "train.dgcache"
            throw .invalidOutput(path: path, reason: "it is a directory; name the cache file to write, e.g. \(example)")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        do {
            guard try FileIO.status(directory).isDirectory else {
                throw CacheError.invalidOutput(path: path, reason: "\(directory) is not a directory")
            }
        } catch let error as CacheError {
            throw error
        } catch let error as Errno where error == .noSuchFileOrDirectory || error == .notDirectory {
            throw .invalidOutput(path: path, reason: "its directory \(directory) does not exist")
        } catch {
            return
        }
    }

    /// Opens the partial file and the journal, keeps the groups an interrupted earlier run of the
    /// same build wrote intact (their units' CRCs are checked), and cuts off the rest.
    /// - Returns: the number of groups already written: the index of the next group to append.
    public func start() throws(CacheError) -> Int {
        guard lock != nil, partial == nil else { throw .invalidOption("the writer of \(output) is already started or closed") }
        return try io { () throws(WritableFile.Failure) -> Int in
            let key = schema.buildKey
            let file = try WritableFile(path: partialPath)
            let (journal, records) = try CacheJournal.open(path: journalPath, key: key)
            var journalEnd = UInt64(CacheJournal.header(key: key).count)
            let partialSize = try file.size()
            for (summary, end) in records {
                guard state.accepts(summary, plans: schema.columns, groupRows: schema.rowsPerGroup,
                                    total: schema.recordCount, stamped: schema.sourceColumn != nil),
                      summary.dataEnd <= partialSize, try Self.unitsIntact(summary, in: file) else { break }
                state.apply(summary)
                journalEnd = end
            }
            try journal.truncate(to: journalEnd)
            if state.groupsDone == 0 {
                try file.truncate(to: 0)
                try file.write(CacheFormat.header(version: CacheFormat.version(for: schema.columns)), at: 0)
            } else {
                try file.truncate(to: state.dataEnd)
            }
            partial = file
            self.journal = journal
            resumed = (state.groupsDone, state.rowsDone)
            return state.groupsDone
        }
    }

    /// Groups written so far, including those of an interrupted earlier run.
    public var groupsDone: Int { state.groupsDone }
    /// Records handled so far (written or skipped), including those of an earlier run.
    public var recordsDone: Int { state.rowsDone }
    /// Records taken over from an interrupted earlier run.
    public var resumedRecords: Int { resumed.rows }
    /// Rows written so far.
    public var rowCount: Int { state.rowCount }
    /// Records skipped so far, with their causes.
    public var skipped: [SkippedRecord] { state.skipped }
    /// Uncompressed bytes of the rows written so far.
    public var bytesIn: UInt64 { state.columns.reduce(0) { $0 + $1.rawBytes } }
    /// Stored bytes of the units written so far.
    public var bytesOut: UInt64 { state.columns.reduce(0) { $0 + $1.storedBytes } }

    /// Appends the next row group (its index must be ``groupsDone``) and journals it.
    /// - Throws: ``CacheError/invalidOption(_:)`` for a group out of order or that does not fit
    ///   the schema (nothing is written), ``CacheError/io(path:operation:errno:)``.
    public func append(_ group: EncodedGroup) throws(CacheError) {
        guard let partial, let journal else { throw .invalidOption("the writer of \(output) is not started, or closed") }
        let expected = schema.rows(ofGroup: state.groupsDone)
        guard group.index == state.groupsDone, group.rows == expected else {
            throw .invalidOption("group \(group.index) (rows \(group.rows)) given where group \(state.groupsDone) (rows \(expected)) comes next")
        }
        guard zip(group.skipped, group.skipped.dropFirst()).allSatisfy({ $0.row < $1.row }) else {
            throw .invalidOption("group \(group.index): the skipped records' rows are not in ascending order, or repeat")
        }
        let summary = Self.layOut(group, at: state.dataEnd)
        guard state.accepts(summary, plans: schema.columns, groupRows: schema.rowsPerGroup, total: schema.recordCount,
                            stamped: schema.sourceColumn != nil) else {
            throw .invalidOption("group \(group.index) (rows \(group.rows)) does not fit the schema: its skipped rows, units, row lengths or source stamps disagree with its columns")
        }
        try io { () throws(WritableFile.Failure) in
            try Self.write(group, laidOut: summary, from: state.dataEnd, to: partial)
            partial.startWriteback(from: state.dataEnd, count: summary.dataEnd - state.dataEnd)
            state.apply(summary)
            try journal.append(summary)
        }
    }

    /// Writes the index (`ids`, one per input record or `nil`, of which those of skipped records
    /// are left out; the target's `classes`) and the metadata, syncs the file, renames it over
    /// ``output``, removes the journal and releases the lock.
    /// - Returns: the records and bytes in and out.
    /// - Throws: ``CacheError/invalidOption(_:)`` when groups are missing or the ids do not
    ///   match the records, ``CacheError/io(path:operation:errno:)``.
    @discardableResult
    public func finish(ids: [String]?, classes: [String]?) throws(CacheError) -> CacheStatistics {
        guard let partial, let journal else { throw .invalidOption("the writer of \(output) is not started, or closed") }
        guard state.groupsDone == schema.groupCount else {
            throw .invalidOption("\(state.groupsDone) of \(schema.groupCount) row groups are written: the cache cannot be finished")
        }
        let keptIDs = try ids.map { ids throws(CacheError) -> [String] in
            guard ids.count == schema.recordCount else {
                throw .invalidOption("\(ids.count) ids given for \(schema.recordCount) records")
            }
            let skippedRows = Set(state.skipped.map(\.row))
            return ids.enumerated().filter { !skippedRows.contains($0.offset) }.map(\.element)
        }
        let index = try CacheIndexWriter(state: state, plans: schema.columns, ids: keptIDs, classes: classes,
                                         fingerprint: schema.fingerprint, recordsIn: schema.recordCount,
                                         sourceColumn: schema.sourceColumn).make()
        try io { () throws(WritableFile.Failure) in
            let indexOffset = CacheFormat.aligned(state.dataEnd)
            let trailer = CacheFormat.trailer(CacheFormat.Trailer(
                indexOffset: indexOffset, indexLength: UInt64(index.bytes.count),
                metadataLength: UInt64(index.metadataLength), metadataCRC: index.metadataCRC,
                version: CacheFormat.version(for: schema.columns)))
            var tail = [UInt8](repeating: 0, count: Int(indexOffset - state.dataEnd))
            tail.append(contentsOf: index.bytes)
            tail.append(contentsOf: trailer)
            try partial.write(tail, at: state.dataEnd)
            try partial.truncate(to: state.dataEnd + UInt64(tail.count))
            try partial.sync()
            try partial.close()
            self.partial = nil
            try WritableFile.rename(partialPath, to: output)
            try WritableFile.syncDirectory(of: output)
            try journal.close()
            self.journal = nil
            try WritableFile.remove(journalPath)
        }
        lock?.unlock()
        lock = nil
        return CacheStatistics(recordsIn: schema.recordCount, recordsWritten: state.rowCount,
                               recordsSkipped: state.skipped.count, bytesIn: bytesIn, bytesOut: bytesOut)
    }

    /// Stops writing: closes the partial file and the journal, which stay for a resume, and
    /// releases the lock. Nothing is published.
    public func abort() {
        try? partial?.close()
        partial = nil
        try? journal?.close()
        journal = nil
        lock?.unlock()
        lock = nil
    }

    /// A group's journal record: where each unit goes (each at an 8-byte boundary after `dataEnd`).
    private static func layOut(_ group: EncodedGroup, at dataEnd: UInt64) -> GroupSummary {
        var end = dataEnd
        var columns = [GroupSummary.Column]()
        for part in group.columns {
            var column = GroupSummary.Column(units: [], unitRowCounts: [], rowLengths: part.rowLengths,
                                             rawBytes: part.rawBytes, rowShapes: part.rowShapes)
            for unit in part.units {
                let offset = CacheFormat.aligned(end)
                end = offset + UInt64(unit.stored.count)
                column.units.append(UnitEntry(offset: offset, length: UInt64(unit.stored.count), crc: unit.crc,
                                              flags: unit.flags))
                column.unitRowCounts.append(unit.rowCount)
            }
            columns.append(column)
        }
        return GroupSummary(index: group.index, rows: group.rows, skipped: group.skipped, dataEnd: end,
                            columns: columns, sources: group.sources)
    }

    /// Writes a group's units where `summary` lays them out, the zero padding before each unit
    /// included. Small units are gathered into one write; a unit of ``directWriteBytes`` or more
    /// is written from its own buffer, never copied first.
    private static func write(_ group: EncodedGroup, laidOut summary: GroupSummary, from dataEnd: UInt64,
                              to file: WritableFile) throws(WritableFile.Failure) {
        var staged = [UInt8]()
        var stagedAt = dataEnd
        var end = dataEnd
        for (part, column) in zip(group.columns, summary.columns) {
            for (unit, entry) in zip(part.units, column.units) {
                staged.append(contentsOf: repeatElement(0, count: Int(entry.offset - end)))
                end = entry.offset + entry.length
                if unit.stored.count >= directWriteBytes {
                    if !staged.isEmpty { try file.write(staged, at: stagedAt) }
                    try file.write(unit.stored, at: entry.offset)
                    staged.removeAll(keepingCapacity: true)
                    stagedAt = end
                } else {
                    staged.append(contentsOf: unit.stored)
                }
            }
        }
        if !staged.isEmpty { try file.write(staged, at: stagedAt) }
    }

    /// The size from which a unit is written by its own `pwrite` rather than gathered.
    static let directWriteBytes = 64 << 10

    /// Whether the partial file still holds a journaled group's units (their CRCs match).
    private static func unitsIntact(_ summary: GroupSummary, in file: WritableFile) throws(WritableFile.Failure) -> Bool {
        for column in summary.columns {
            for unit in column.units {
                guard unit.length <= UInt64(Int32.max) else { return false }
                let bytes = try file.read(count: Int(unit.length), at: unit.offset)
                guard bytes.count == Int(unit.length), CRC32.checksum(bytes) == unit.crc else { return false }
            }
        }
        return true
    }

    /// Runs file operations, turning their failures into ``CacheError/io(path:operation:errno:)``.
    private func io<T>(_ body: () throws(WritableFile.Failure) -> T) throws(CacheError) -> T {
        do { return try body() } catch { throw Self.ioError(error, partialPath) }
    }

    private static func ioError(_ error: any Error, _ path: String) -> CacheError {
        if let failure = error as? WritableFile.Failure {
            return .io(path: failure.path ?? path, operation: failure.operation, errno: failure.errno.rawValue)
        }
        return .invalidOption("\(path): \(error)")
    }
}

