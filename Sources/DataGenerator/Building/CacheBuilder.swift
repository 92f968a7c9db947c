import SystemPackage

/// The first pass: encodes every record of a data set once into a cache file, the Swift driver of
/// a ``CacheWriter`` (data set → row groups → writer).
///
/// Row groups are encoded and compressed on worker threads and handed to the writer strictly in
/// order, so the file's bytes never depend on the number of threads, and memory stays bounded (a
/// few groups in flight: twice the workers plus four) whatever the data set's size.
///
/// The writer writes `OUTPUT.partial` and renames it over `OUTPUT` only once it is complete and
/// synced, so a published cache is never modified in place. An exclusive `flock` on
/// `OUTPUT.lock` keeps two builders of the same cache apart (the second fails at once with
/// ``CacheError/locked(path:)``; the kernel drops a dead process's lock); the lock file is removed
/// as the lock is released, so only a killed build leaves one. After each row group a
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

    /// Path of the side file the build writes before renaming it over ``output`` (the writer's).
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
        let encoder = CacheGroupEncoder(dataSet: dataSet, columns: plans, policy: options.onError)
        let sourceColumn = dataSet.dataEncoders.firstIndex { $0 is any ResourceLocating }.map { plans[$0].name }
        let schema = CacheWriterSchema(columns: plans, fingerprint: fingerprint, recordCount: dataSet.size,
                                       rowsPerGroup: max(1, options.rowsPerGroup ?? CacheWriterSchema.defaultRowsPerGroup(plans)),
                                       onError: options.onError, sourceColumn: sourceColumn)
        let writer = try CacheWriter(output: output, schema: schema)
        defer { writer.abort() }

        if !options.force, let existing = try? CacheFile(path: output), matches(existing, plans, fingerprint) {
            return CacheBuildReport(path: output, upToDate: true, rowCount: existing.rowCount,
                                    skipped: existing.skipped, statistics: existing.statistics,
                                    fingerprint: fingerprint, resumedRecords: 0,
                                    elapsedSeconds: Self.seconds(start.duration(to: clock.now)))
        }
        do {
            return try run(writer, encoder: encoder, clock: clock, start: start)
        } catch let error as CacheError {
            throw error
        } catch {
            throw CacheError.invalidOption("the build failed: \(error)")
        }
    }

    /// Refuses an output path that cannot name a cache file (``CacheWriter/checkOutput(_:)``),
    /// before anything is read or written.
    /// - Throws: ``CacheError/invalidOutput(path:reason:)`` naming the path and what is wrong.
    public static func checkOutput(_ path: String) throws(CacheError) {
        try CacheWriter.checkOutput(path)
    }

    /// Whether an existing cache already is what this build would write.
    private func matches(_ cache: CacheFile, _ plans: [ColumnPlan], _ fingerprint: CacheFingerprint) -> Bool {
        cache.fingerprint == fingerprint
            && cache.columns.map(\.name) == plans.map(\.name)
            && cache.columns.map(\.codec) == plans.map(\.codec)
            && (cache.skipped.isEmpty || options.onError == .skip)
            && (try? cache.changedSources(in: dataSet).isEmpty) == true
    }

    /// Encodes the groups the writer does not hold yet on worker threads and appends them in order.
    private func run(_ writer: CacheWriter, encoder: CacheGroupEncoder, clock: ContinuousClock,
                     start: ContinuousClock.Instant) throws -> CacheBuildReport {
        let schema = writer.schema
        let firstGroup = try writer.start()
        let workers = max(0, options.workers ?? processorCount)
        // The consumer encodes a group itself while its next one is not ready; a window of only
        // `workers + 2` groups then filled up behind it and parked the workers (2.5-3.8 s of
        // waiting in a 4,000-image build on 2 workers), which twice as many groups never do.
        let prefetcher = OrderedPrefetcher<EncodedGroup>(count: schema.groupCount - firstGroup, workers: workers,
                                                         depth: 2 * (workers + 2)) { item in
            let index = firstGroup + item
            return try encoder.encode(group: index, rows: schema.rows(ofGroup: index))
        }
        defer { prefetcher.stop() }
        var groupsThisRun = 0
        while let group = try prefetcher.next() {
            try writer.append(group)
            groupsThisRun += 1
            report(writer, clock: clock, start: start)
            if let limit = options.interruptAfterGroups, groupsThisRun >= limit, writer.groupsDone < schema.groupCount {
                throw BuildInterrupted()
            }
        }

        let ids = try dataSet.inventory.idColumn.map { try dataSet.inventory.column($0) }
        let statistics = try writer.finish(ids: ids, classes: (dataSet.targetEncoder as? RecordTargetEncoder)?.classes)
        return CacheBuildReport(path: output, upToDate: false, rowCount: writer.rowCount, skipped: writer.skipped,
                                statistics: statistics, fingerprint: schema.fingerprint,
                                resumedRecords: writer.resumedRecords,
                                elapsedSeconds: Self.seconds(start.duration(to: clock.now)))
    }

    private func report(_ writer: CacheWriter, clock: ContinuousClock, start: ContinuousClock.Instant) {
        guard let progress = options.progress else { return }
        let total = writer.schema.recordCount
        let elapsed = Self.seconds(start.duration(to: clock.now))
        let done = writer.recordsDone - writer.resumedRecords
        let bytesIn = writer.bytesIn
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        progress(BuildProgress(
            recordsDone: writer.recordsDone, recordsTotal: total, recordsSkipped: writer.skipped.count,
            bytesIn: bytesIn, bytesOut: writer.bytesOut, elapsedSeconds: elapsed,
            recordsPerSecond: rate, bytesPerSecond: elapsed > 0 ? Double(bytesIn) / elapsed : 0,
            etaSeconds: rate > 0 ? Double(total - writer.recordsDone) / rate : nil))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Thrown by the test hook ``CacheBuildOptions/interruptAfterGroups`` to stop a build as a kill would.
struct BuildInterrupted: Error {}
