import SystemPackage

/// The first pass: encodes every record of a data set once into a cache file.
///
/// Row groups are encoded and compressed on worker threads and written strictly in order, so the
/// file's bytes never depend on the number of threads, and memory stays bounded (a few groups in
/// flight) whatever the data set's size.
///
/// The build writes `OUTPUT.partial` and renames it over `OUTPUT` only once it is complete and
/// synced, so a published cache is never modified in place. An exclusive `flock` on
/// `OUTPUT.lock` keeps two builders of the same cache apart (the second fails at once with
/// ``CacheError/locked(path:)``; the kernel drops a dead process's lock); the builder removes the
/// lock file as it releases the lock, so only a killed build leaves one. After each row group a
/// record goes to `OUTPUT.partial.journal`: rerun with the same inputs and options, an interrupted
/// build continues after its last complete group and gives the same bytes as an uninterrupted one.
///
/// ```swift
/// var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder,
///                                targetEncoder: RecordTargetEncoder.label())
/// try dataSet.fitEncoders()
/// let report = try CacheBuilder(dataSet: dataSet, output: "train.dgcache").build()
/// ```
public struct CacheBuilder: Sendable {
    /// The data set to cache; its encoders must be fitted.
    public let dataSet: GeneratorDataSet
    /// The cache file's path.
    public let output: String
    /// The build's options.
    public let options: CacheBuildOptions

    /// A builder of `output` from `dataSet`.
    public init(dataSet: GeneratorDataSet, output: String, options: CacheBuildOptions = CacheBuildOptions()) {
        self.dataSet = dataSet
        self.output = output
        self.options = options
    }

    /// Path of the side file the build writes before renaming it over ``output``.
    public var partialPath: String { output + ".partial" }
    /// Path of the resume journal.
    public var journalPath: String { output + ".partial.journal" }
    /// Path of the lock file.
    public var lockPath: String { output + ".lock" }

    /// Builds the cache (or resumes an interrupted build, or does nothing when ``output`` already
    /// holds a cache of the same inputs and options, unless ``CacheBuildOptions/force``).
    /// - Throws: ``CacheError/recordFailed(row:id:path:reason:line:)`` for a bad record under the
    ///   `fail` policy, ``CacheError/locked(path:)``, ``CacheError/io(path:operation:errno:)``,
    ///   ``CacheError/invalidOption(_:)``, ``CacheError/invalidOutput(path:reason:)`` (before
    ///   any record is encoded).
    /// - Complexity: O(records); memory O(units) for the index plus a few row groups.
    public func build() throws(CacheError) -> CacheBuildReport {
        let clock = ContinuousClock()
        let start = clock.now
        let plans = try ColumnPlan.columns(of: dataSet, dataNames: options.dataColumnNames,
                                           targetName: options.targetColumnName, codec: options.codec,
                                           codecs: options.columnCodecs)
        let fingerprint = CacheFingerprint(inventory: dataSet.inventory, columns: plans)
        try Self.checkOutput(output)
        let lock: FileLock
        do {
            guard let taken = try FileLock(path: lockPath) else { throw CacheError.locked(path: output) }
            lock = taken
        } catch let error as CacheError { throw error } catch { throw Self.ioError(error, lockPath) }
        defer { lock.unlock() }

        if !options.force, let existing = try? CacheFile(path: output), matches(existing, plans, fingerprint) {
            return CacheBuildReport(path: output, upToDate: true, rowCount: existing.rowCount,
                                    skipped: existing.skipped, statistics: existing.statistics,
                                    fingerprint: fingerprint, resumedRecords: 0,
                                    elapsedSeconds: Self.seconds(start.duration(to: clock.now)))
        }
        do {
            return try run(plans: plans, fingerprint: fingerprint, clock: clock, start: start)
        } catch let error as CacheError {
            throw error
        } catch let error as WritableFile.Failure {
            throw CacheError.io(path: error.path ?? partialPath, operation: error.operation, errno: error.errno.rawValue)
        } catch {
            throw CacheError.invalidOption("the build failed: \(error)")
        }
    }

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

    /// Whether an existing cache already is what this build would write.
    private func matches(_ cache: CacheFile, _ plans: [ColumnPlan], _ fingerprint: CacheFingerprint) -> Bool {
        cache.fingerprint == fingerprint
            && cache.columns.map(\.name) == plans.map(\.name)
            && cache.columns.map(\.codec) == plans.map(\.codec)
            && (cache.skipped.isEmpty || options.onError == .skip)
            && (try? cache.changedSources(in: dataSet).isEmpty) == true
    }

    /// Rows per group: up to 1024, fewer for wide rows (about 16 MiB of fixed-size data a group).
    static func groupRows(_ plans: [ColumnPlan]) -> Int {
        let rowBytes = plans.reduce(0) { $0 + ($1.spec.isVariableLength ? 0 : $1.rowBytes) }
        return max(1, min(1024, (16 << 20) / max(1, rowBytes)))
    }

    /// Names the build in the journal: what changes the bytes written.
    private func buildKey(_ plans: [ColumnPlan], _ fingerprint: CacheFingerprint, groupRows: Int) -> String {
        var hasher = SHA256Hasher()
        hasher.update(field: "datagen-build-v\(CacheFormat.version)")
        hasher.update(field: fingerprint.value)
        for plan in plans {
            hasher.update(field: plan.name)
            hasher.update(field: plan.codec.rawValue)
        }
        hasher.update(field: options.onError.rawValue)
        hasher.update(UInt64(groupRows))
        return hasher.hexDigest()
    }

    private func run(plans: [ColumnPlan], fingerprint: CacheFingerprint, clock: ContinuousClock,
                     start: ContinuousClock.Instant) throws -> CacheBuildReport {
        let total = dataSet.size
        let groupRows = max(1, options.rowsPerGroup ?? Self.groupRows(plans))
        let key = buildKey(plans, fingerprint, groupRows: groupRows)
        let partial = try WritableFile(path: partialPath)
        let (journal, records) = try CacheJournal.open(path: journalPath, key: key)
        var state = CacheBuildState(columnCount: plans.count)
        let encoder = CacheGroupEncoder(dataSet: dataSet, columns: plans, policy: options.onError)
        var journalEnd = UInt64(CacheJournal.header(key: key).count)
        let partialSize = try partial.size()
        for (summary, end) in records {
            guard state.accepts(summary, plans: plans, groupRows: groupRows, total: total,
                                stamped: encoder.sourceLocator != nil),
                  summary.dataEnd <= partialSize, try unitsIntact(summary, in: partial) else { break }
            state.apply(summary)
            journalEnd = end
        }
        try journal.truncate(to: journalEnd)
        if state.groupsDone == 0 {
            try partial.truncate(to: 0)
            try partial.write(CacheFormat.header(), at: 0)
        } else {
            try partial.truncate(to: state.dataEnd)
        }
        let resumedRecords = state.rowsDone

        let groupCount = (total + groupRows - 1) / groupRows
        let firstGroup = state.groupsDone
        let workers = max(0, options.workers ?? processorCount)
        let prefetcher = OrderedPrefetcher<EncodedGroup>(count: groupCount - firstGroup, workers: workers,
                                                         depth: workers + 2) { item in
            let index = firstGroup + item
            return try encoder.encode(group: index, rows: (index * groupRows)..<min(total, (index + 1) * groupRows))
        }
        defer { prefetcher.stop() }
        var groupsThisRun = 0
        while let group = try prefetcher.next() {
            let summary = try write(group, to: partial, at: state.dataEnd)
            state.apply(summary)
            try journal.append(summary)
            groupsThisRun += 1
            report(state, total: total, resumed: resumedRecords, clock: clock, start: start)
            if let limit = options.interruptAfterGroups, groupsThisRun >= limit, state.groupsDone < groupCount {
                throw BuildInterrupted()
            }
        }

        let ids = try dataSet.inventory.idColumn.map { column in
            let skippedRows = Set(state.skipped.map(\.row))
            return try dataSet.inventory.column(column).enumerated().filter { !skippedRows.contains($0.offset) }.map(\.element)
        }
        let classes = (dataSet.targetEncoder as? RecordTargetEncoder)?.classes
        let sourceColumn = dataSet.dataEncoders.firstIndex { $0 is any ResourceLocating }.map { plans[$0].name }
        let index = try CacheIndexWriter(state: state, plans: plans, ids: ids, classes: classes,
                                         fingerprint: fingerprint, recordsIn: total, sourceColumn: sourceColumn).make()
        let indexOffset = CacheFormat.aligned(state.dataEnd)
        let trailer = CacheFormat.trailer(CacheFormat.Trailer(
            indexOffset: indexOffset, indexLength: UInt64(index.bytes.count),
            metadataLength: UInt64(index.metadataLength), metadataCRC: index.metadataCRC,
            version: CacheFormat.version))
        var tail = [UInt8](repeating: 0, count: Int(indexOffset - state.dataEnd))
        tail.append(contentsOf: index.bytes)
        tail.append(contentsOf: trailer)
        try partial.write(tail, at: state.dataEnd)
        try partial.truncate(to: state.dataEnd + UInt64(tail.count))
        try partial.sync()
        try partial.close()
        try WritableFile.rename(partialPath, to: output)
        try WritableFile.syncDirectory(of: output)
        try journal.close()
        try WritableFile.remove(journalPath)

        let statistics = CacheStatistics(
            recordsIn: total, recordsWritten: state.rowCount, recordsSkipped: state.skipped.count,
            bytesIn: state.columns.reduce(0) { $0 + $1.rawBytes }, bytesOut: state.columns.reduce(0) { $0 + $1.storedBytes })
        return CacheBuildReport(path: output, upToDate: false, rowCount: state.rowCount, skipped: state.skipped,
                                statistics: statistics, fingerprint: fingerprint, resumedRecords: resumedRecords,
                                elapsedSeconds: Self.seconds(start.duration(to: clock.now)))
    }

    /// Appends a group's units (each at an 8-byte boundary) and describes what was written.
    private func write(_ group: EncodedGroup, to file: WritableFile, at dataEnd: UInt64) throws(WritableFile.Failure) -> GroupSummary {
        var buffer = [UInt8]()
        var end = dataEnd
        var columns = [GroupSummary.Column]()
        for part in group.columns {
            var column = GroupSummary.Column(units: [], unitRowCounts: [], rowLengths: part.rowLengths,
                                             rawBytes: part.rawBytes)
            for unit in part.units {
                let offset = CacheFormat.aligned(end)
                buffer.append(contentsOf: repeatElement(0, count: Int(offset - end)))
                buffer.append(contentsOf: unit.stored)
                end = offset + UInt64(unit.stored.count)
                column.units.append(UnitEntry(offset: offset, length: UInt64(unit.stored.count), crc: unit.crc,
                                              flags: unit.flags))
                column.unitRowCounts.append(unit.rowCount)
            }
            columns.append(column)
        }
        try file.write(buffer, at: dataEnd)
        return GroupSummary(index: group.index, rows: group.rows, skipped: group.skipped, dataEnd: end,
                            columns: columns, sources: group.sources)
    }

    /// Whether the partial file still holds a journaled group's units (their CRCs match).
    private func unitsIntact(_ summary: GroupSummary, in file: WritableFile) throws(WritableFile.Failure) -> Bool {
        for column in summary.columns {
            for unit in column.units {
                guard unit.length <= UInt64(Int32.max) else { return false }
                let bytes = try file.read(count: Int(unit.length), at: unit.offset)
                guard bytes.count == Int(unit.length), CRC32.checksum(bytes) == unit.crc else { return false }
            }
        }
        return true
    }

    private func report(_ state: CacheBuildState, total: Int, resumed: Int, clock: ContinuousClock,
                        start: ContinuousClock.Instant) {
        guard let progress = options.progress else { return }
        let elapsed = Self.seconds(start.duration(to: clock.now))
        let done = state.rowsDone - resumed
        let bytesIn = state.columns.reduce(0) { $0 + $1.rawBytes }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        progress(BuildProgress(
            recordsDone: state.rowsDone, recordsTotal: total, recordsSkipped: state.skipped.count,
            bytesIn: bytesIn, bytesOut: state.columns.reduce(0) { $0 + $1.storedBytes }, elapsedSeconds: elapsed,
            recordsPerSecond: rate, bytesPerSecond: elapsed > 0 ? Double(bytesIn) / elapsed : 0,
            etaSeconds: rate > 0 ? Double(total - state.rowsDone) / rate : nil))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private static func ioError(_ error: any Error, _ path: String) -> CacheError {
        if let failure = error as? WritableFile.Failure {
            return .io(path: failure.path ?? path, operation: failure.operation, errno: failure.errno.rawValue)
        }
        return .invalidOption("\(path): \(error)")
    }
}

/// Thrown by the test hook ``CacheBuildOptions/interruptAfterGroups`` to stop a build as a kill would.
struct BuildInterrupted: Error {}
