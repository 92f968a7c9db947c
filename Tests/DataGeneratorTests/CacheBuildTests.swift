import Synchronization
import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

@Suite("Cache builds")
struct CacheBuildTests {
    static func mixedDataSet(_ count: Int = 100) throws -> GeneratorDataSet {
        try CacheFixtures.dataSet(try CacheFixtures.inventory(count),
                                  [CacheFixtures.fixedEncoder(.float32, [80]),
                                   CacheFixtures.variableEncoder(.int32, length: { $0 % 9 * 10 })],
                                  target: RecordTargetEncoder.label(column: "label"))
    }

    /// Builds `dataSet` into `path` in groups of 10 rows and stops it (as if killed) after
    /// `groups` of them, leaving the partial file and its journal; the stop itself must throw.
    static func interruptedBuild(_ dataSet: GeneratorDataSet, at path: String, afterGroups groups: Int,
                                 workers: Int? = nil) {
        var interrupted = CacheBuildOptions(workers: workers)
        interrupted.rowsPerGroup = 10
        interrupted.interruptAfterGroups = groups
        #expect(throws: (any Error).self) { try CacheBuilder(dataSet: dataSet, output: path, options: interrupted).build() }
    }

    @Test("the same inputs give the same bytes with 0, 1 and 3 worker threads")
    func sameBytesWhateverTheThreads() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.mixedDataSet()
            var files = [[UInt8]]()
            for workers in [0, 1, 3] {
                let name = "w\(workers).dgcache"
                try CacheFixtures.build(dataSet, in: directory, name: name,
                                        options: CacheBuildOptions(workers: workers, rowsPerGroup: 7))
                files.append(try CacheFixtures.bytes(directory + "/" + name))
            }
            #expect(files[0] == files[1] && files[1] == files[2])
        }
    }

    /// Counts the records one encoder encodes (under the identity of the encoder it wraps, so the
    /// cache's fingerprint and bytes are the same).
    final class EncodeCounter: Sendable {
        let count = Atomic<Int>(0)

        func counting(_ encoder: ClosureEncoder) -> ClosureEncoder {
            ClosureEncoder(identity: encoder.identity, output: encoder.outputSpec) { [self] record in
                count.add(1, ordering: .relaxed)
                return try encoder.encode(record)
            }
        }
    }

    @Test("an interrupted build resumes without re-encoding and ends byte-identical to an uninterrupted one")
    func interruptedBuildResumes() throws {
        try CacheFixtures.withDirectory { directory in
            let counter = EncodeCounter()
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(100),
                                                    [counter.counting(CacheFixtures.fixedEncoder(.float32, [80])),
                                                     CacheFixtures.variableEncoder(.int32, length: { $0 % 9 * 10 })],
                                                    target: RecordTargetEncoder.label(column: "label"))
            try CacheFixtures.build(try Self.mixedDataSet(), in: directory, name: "whole.dgcache",
                                    options: CacheBuildOptions(workers: 2, rowsPerGroup: 10))
            let path = directory + "/resumed.dgcache"
            Self.interruptedBuild(dataSet, at: path, afterGroups: 4, workers: 2)
            #expect(WritableFile.exists(path + ".partial") && !WritableFile.exists(path))
            counter.count.store(0, ordering: .relaxed)
            let report = try CacheBuilder(dataSet: dataSet, output: path,
                                          options: CacheBuildOptions(workers: 2, rowsPerGroup: 10)).build()
            #expect(report.resumedRecords == 40)
            // Only the 60 records after the 4 journaled groups were encoded again.
            #expect(counter.count.load(ordering: .relaxed) == 60)
            #expect(try CacheFixtures.bytes(path) == CacheFixtures.bytes(directory + "/whole.dgcache"))
            #expect(!WritableFile.exists(path + ".partial") && !WritableFile.exists(path + ".partial.journal"))
        }
    }

    /// A journal record with a sound CRC whose numbers are out of range: a group index of 2^63,
    /// or a data end of 2^64 − 1 with a unit placed just below it (aligning the next unit's start
    /// would overflow). Each must be refused as a record, so the build starts over and ends
    /// byte-identical to an uninterrupted one, never trapping.
    @Test(arguments: ["index", "data end"])
    func aCraftedJournalRecordIsRefusedNotTrappedOn(field: String) throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.mixedDataSet()
            try CacheFixtures.build(dataSet, in: directory, name: "whole.dgcache",
                                    options: CacheBuildOptions(workers: 1, rowsPerGroup: 10))
            let path = directory + "/crafted.dgcache"
            Self.interruptedBuild(dataSet, at: path, afterGroups: 1, workers: 1)
            // The journal holds its header, then one record: u64 length, u32 CRC, u32 0, payload.
            let journalPath = path + ".partial.journal"
            var journal = try CacheFixtures.bytes(journalPath)
            func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(journal[at + $1]) << (8 * UInt64($1)) } }
            func put(_ value: UInt64, at: Int) { for byte in 0..<8 { journal[at + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte))) } }
            let start = try #require((0..<(journal.count - 16)).first { $0 % 8 == 0 && Int(u64($0)) == journal.count - $0 - 16 })
            let payload = start + 16
            #expect(u64(payload) == 0 && u64(payload + 8) == 0 && u64(payload + 16) == 10)  // group 0, rows 0..<10
            if field == "index" {
                put(1 << 63, at: payload)
            } else {
                // index, start, end, data end, skipped count, column count, raw bytes, unit count, unit 0.
                #expect(u64(payload + 32) == 0)
                put(UInt64.max, at: payload + 24)
                put(UInt64.max - 15, at: payload + 64)
                put(13, at: payload + 72)
            }
            let crc = CRC32.checksum(Array(journal[payload...]))
            for byte in 0..<4 { journal[start + 8 + byte] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(byte))) }
            let file = try WritableFile(path: journalPath)
            try file.write(journal, at: 0)
            try file.close()
            let report = try CacheBuilder(dataSet: dataSet, output: path, options: CacheBuildOptions(workers: 1, rowsPerGroup: 10)).build()
            #expect(report.resumedRecords == 0)
            #expect(try CacheFixtures.bytes(path) == CacheFixtures.bytes(directory + "/whole.dgcache"))
        }
    }

    @Test("a partial file cut inside a journaled group is resumed from the last intact group")
    func resumeAfterTornWrite() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.mixedDataSet()
            try CacheFixtures.build(dataSet, in: directory, name: "whole.dgcache",
                                    options: CacheBuildOptions(rowsPerGroup: 10))
            let path = directory + "/torn.dgcache"
            Self.interruptedBuild(dataSet, at: path, afterGroups: 5, workers: 1)
            let partial = try WritableFile(path: path + ".partial")
            try partial.truncate(to: try partial.size() - 3)
            let report = try CacheBuilder(dataSet: dataSet, output: path, options: CacheBuildOptions(rowsPerGroup: 10)).build()
            #expect(report.resumedRecords == 40)
            #expect(try CacheFixtures.bytes(path) == CacheFixtures.bytes(directory + "/whole.dgcache"))
        }
    }

    @Test("a journal of other inputs is ignored: the build starts over")
    func journalOfOtherInputsStartsOver() throws {
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/c.dgcache"
            Self.interruptedBuild(try Self.mixedDataSet(), at: path, afterGroups: 3)
            let other = try Self.mixedDataSet(90)
            let report = try CacheBuilder(dataSet: other, output: path, options: CacheBuildOptions(rowsPerGroup: 10)).build()
            #expect(report.resumedRecords == 0 && report.rowCount == 90)
            #expect(try CacheFile(path: path, for: other).rowCount == 90)
        }
    }

    @Test("under the fail policy a bad record stops the build naming its row, id and path; fixed, the rerun resumes")
    func failPolicyNamesTheRecordAndResumes() throws {
        try CacheFixtures.withDirectory { directory in
            let files = directory + "/files"
            _ = files.withCString { mkdir($0, 0o755) }
            let inventory = try CacheFixtures.inventory(30)
            for row in 0..<30 where row != 23 { try Fixtures.write("\(row) \(row * 2)", to: "\(files)/r\(row).txt") }
            let encoder = FileDataEncoder(directory: files, idMapper: IDMapper(suffix: ".txt"), identity: "pair@1",
                                          output: ArraySpec(.int32, [2])) { contents in
                NDArray(String(decoding: contents.bytes, as: UTF8.self).split(separator: " ").map { Int32($0)! })
            }
            let dataSet = try CacheFixtures.dataSet(inventory, [encoder])
            let path = directory + "/files.dgcache"
            let options = CacheBuildOptions(workers: 2, rowsPerGroup: 4)
            let error = CacheFixtures.cacheError { _ = try CacheBuilder(dataSet: dataSet, output: path, options: options).build() }
            guard case let .recordFailed(row, id, failedPath, _, _) = error else {
                Issue.record("expected recordFailed, got \(String(describing: error))")
                return
            }
            #expect(row == 23 && id == "r23" && failedPath == "\(files)/r23.txt")
            #expect(error!.description.contains("row 23") && error!.description.contains("'r23'")
                    && error!.description.contains("r23.txt"))
            try Fixtures.write("23 46", to: "\(files)/r23.txt")
            let report = try CacheBuilder(dataSet: dataSet, output: path, options: options).build()
            #expect(report.resumedRecords == 20)
            try CacheFixtures.build(dataSet, in: directory, name: "whole.dgcache", options: options)
            #expect(try CacheFixtures.bytes(path) == CacheFixtures.bytes(directory + "/whole.dgcache"))
        }
    }

    @Test("under the skip policy bad records are left out and listed with their causes")
    func skipPolicyListsSkippedRecords() throws {
        try CacheFixtures.withDirectory { directory in
            let inner = CacheFixtures.fixedEncoder(.float32, [3])
            let flaky = ClosureEncoder(identity: "flaky@1", output: inner.outputSpec) { record in
                if record.row % 7 == 3 { throw EncodingError.malformedData(row: record.row, id: record.id, location: nil, reason: "bad pixel") }
                return try inner.encode(record)
            }
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(25), [flaky],
                                                    target: RecordTargetEncoder.label(column: "label"))
            let (cache, report) = try CacheFixtures.build(dataSet, in: directory,
                                                          options: CacheBuildOptions(onError: .skip, rowsPerGroup: 4))
            let bad = [3, 10, 17, 24]
            #expect(report.skipped.map(\.row) == bad && cache.skipped.map(\.row) == bad)
            #expect(cache.skipped.map(\.id) == bad.map { "r\($0)" })
            #expect(cache.skipped.allSatisfy { $0.reason.contains("bad pixel") })
            // The listing names the record once, though the encoder's error names it too.
            #expect(cache.skipped.first?.description == "row 3 (id 'r3'): bad pixel")
            #expect(SkippedRecord(row: 5, id: "x", reason: "no such file").description == "row 5 (id 'x'): no such file")
            let kept = (0..<25).filter { !bad.contains($0) }
            #expect(cache.rowCount == kept.count && cache.statistics.recordsSkipped == 4)
            #expect(try cache.ids() == kept.map { "r\($0)" })
            #expect(try cache.gather(column: "data", rows: Array(0..<kept.count))
                    == NDArray.stack(kept.map { try inner.encode(dataSet.inventory[$0]) }))
            #expect(try cache.gather(column: "target", rows: Array(0..<kept.count))
                    == dataSet.targetEncoder!.encodeBatch(kept.map { dataSet.inventory[$0] }))
        }
    }

    @Test("building onto a matching cache is a no-op that says so; force or another codec rebuilds")
    func upToDateBuildIsANoOp() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.mixedDataSet(20)
            let path = directory + "/c.dgcache"
            #expect(try !CacheBuilder(dataSet: dataSet, output: path).build().upToDate)
            #expect(try CacheBuilder(dataSet: dataSet, output: path).build().upToDate)
            #expect(try !CacheBuilder(dataSet: dataSet, output: path, options: CacheBuildOptions(force: true)).build().upToDate)
            #expect(try !CacheBuilder(dataSet: dataSet, output: path, options: CacheBuildOptions(codec: .lz4hc)).build().upToDate)
            #expect(try CacheFile(path: path).columns.allSatisfy { $0.codec == .lz4hc })
        }
    }

    @Test("a second builder of the same cache fails at once with locked; a released lock does not block")
    func concurrentBuildersAreKeptApart() throws {
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/c.dgcache"
            let held = try #require(try FileLock(path: path + ".lock"))
            let error = CacheFixtures.cacheError { _ = try CacheBuilder(dataSet: try Self.mixedDataSet(10), output: path).build() }
            #expect(error == .locked(path: path))
            #expect(error?.description.contains(path) == true)
            held.unlock()
            #expect(try CacheBuilder(dataSet: try Self.mixedDataSet(10), output: path).build().rowCount == 10)
        }
    }

    @Test("progress reaches every record, with rates, and the statistics add up")
    func progressAndStatistics() throws {
        try CacheFixtures.withDirectory { directory in
            final class Log: @unchecked Sendable {
                let lock = ConditionLock()
                var events = [BuildProgress]()
            }
            let log = Log()
            let options = CacheBuildOptions(rowsPerGroup: 16, progress: { event in log.lock.withLock { log.events.append(event) } })
            let (cache, report) = try CacheFixtures.build(try Self.mixedDataSet(50), in: directory, options: options)
            let events = log.lock.withLock { log.events }
            #expect(events.map(\.recordsDone) == [16, 32, 48, 50])
            #expect(events.allSatisfy { $0.recordsTotal == 50 && $0.bytesOut > 0 })
            #expect(events.last?.fraction == 1)
            // The rates are consistent with the counts and the elapsed time they report (checked
            // against each other, never against the clock), time never runs backwards, bytes in
            // grow to the cache's total, and the last estimate of the time left is zero.
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.elapsedSeconds <= $1.elapsedSeconds && $0.bytesIn < $1.bytesIn })
            for event in events where event.elapsedSeconds > 0 {
                #expect(abs(event.recordsPerSecond * event.elapsedSeconds - Double(event.recordsDone)) < 1e-6 * Double(event.recordsDone) + 1e-9)
                #expect(abs(event.bytesPerSecond * event.elapsedSeconds - Double(event.bytesIn)) < 1e-6 * Double(event.bytesIn) + 1e-9)
                #expect(event.etaSeconds.map { abs($0 * event.recordsPerSecond - Double(50 - event.recordsDone)) < 1e-6 * 50 } == true)
            }
            #expect(events.last.map { $0.elapsedSeconds == 0 || $0.etaSeconds == 0 } == true)
            #expect(events.last?.bytesIn == cache.statistics.bytesIn)
            #expect(report.statistics == cache.statistics)
            #expect(cache.statistics.bytesIn == cache.columns.reduce(0) { $0 + $1.rawBytes })
            #expect(cache.statistics.recordsIn == 50 && cache.statistics.compressionRatio > 1)
        }
    }

    @Test("unknown codec column names and mismatched column names are refused by name")
    func optionErrorsNameTheCulprit() throws {
        let dataSet = try Self.mixedDataSet(5)
        let codec = CacheFixtures.cacheError {
            _ = try CacheBuilder(dataSet: dataSet, output: "/nonexistent/c", options: CacheBuildOptions(columnCodecs: ["pixels": .none])).build()
        }
        #expect(codec?.description.contains("'pixels'") == true)
        let names = CacheFixtures.cacheError {
            _ = try CacheBuilder(dataSet: dataSet, output: "/nonexistent/c", options: CacheBuildOptions(dataColumnNames: ["x"])).build()
        }
        #expect(names?.description.contains("1 data column names given for 2 data encoders") == true)
    }

    @Test("a build into a missing directory is refused naming the file and its directory, before any file is opened")
    func missingDirectoryIsRefused() throws {
        let error = CacheFixtures.cacheError {
            _ = try CacheBuilder(dataSet: try Self.mixedDataSet(3), output: "/nonexistent-datagen-dir/c.dgcache").build()
        }
        #expect(error == .invalidOutput(path: "/nonexistent-datagen-dir/c.dgcache", reason: "its directory /nonexistent-datagen-dir does not exist"))
        #expect(error?.description == "cannot write the cache to /nonexistent-datagen-dir/c.dgcache: its directory /nonexistent-datagen-dir does not exist")
    }

    @Test("an output that is a directory, or whose directory is a file, is refused before any record is encoded")
    func directoryOutputIsRefusedBeforeEncoding() throws {
        try CacheFixtures.withDirectory { directory in
            let encoded = Atomic(0)
            let counting = ClosureEncoder(identity: "counting@1", output: ArraySpec(.uint8, [1])) { _ in
                encoded.add(1, ordering: .relaxed)
                return NDArray([UInt8(0)])
            }
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(5), [counting])
            for output in [directory, directory + "/"] {
                let error = CacheFixtures.cacheError { _ = try CacheBuilder(dataSet: dataSet, output: output).build() }
                #expect(error == .invalidOutput(path: output, reason: "it is a directory; name the cache file to write, e.g. \(directory)/train.dgcache"))
            }
            try FileIO.write([1], to: directory + "/plain")
            let underFile = CacheFixtures.cacheError { _ = try CacheBuilder(dataSet: dataSet, output: directory + "/plain/c.dgcache").build() }
            #expect(underFile == .invalidOutput(path: directory + "/plain/c.dgcache", reason: "\(directory)/plain is not a directory"))
            #expect(encoded.load(ordering: .relaxed) == 0)
            for sideFile in [directory + ".lock", directory + ".partial", directory + "/.lock", directory + "/.partial"] {
                #expect(!WritableFile.exists(sideFile))
            }
            #expect(throws: Never.self) { try CacheBuilder.checkOutput(directory + "/c.dgcache") }
            #expect(throws: Never.self) { try CacheBuilder.checkOutput("c.dgcache") }
        }
    }

    @Test("a finished, an up-to-date and a failed build leave no lock file; a killed build's stale one blocks no one")
    func buildsLeaveNoLockFile() throws {
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/c.dgcache"
            let dataSet = try Self.mixedDataSet(20)
            #expect(try !CacheBuilder(dataSet: dataSet, output: path).build().upToDate)
            #expect(!WritableFile.exists(path + ".lock"))
            #expect(try CacheBuilder(dataSet: dataSet, output: path).build().upToDate)
            #expect(!WritableFile.exists(path + ".lock"))
            Self.interruptedBuild(dataSet, at: directory + "/d.dgcache", afterGroups: 1)
            #expect(WritableFile.exists(directory + "/d.dgcache.partial") && !WritableFile.exists(directory + "/d.dgcache.lock"))
            // What a killed build leaves: a lock file nobody holds.
            try FileIO.write([], to: directory + "/e.dgcache.lock")
            #expect(try CacheBuilder(dataSet: dataSet, output: directory + "/e.dgcache").build().rowCount == 20)
            #expect(!WritableFile.exists(directory + "/e.dgcache.lock"))
        }
    }

    @Test("a lock whose file was removed by its releasing holder is no longer the lock at the path")
    func aRemovedLockFileIsNotTheLock() throws {
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/c.dgcache.lock"
            let first = try #require(try FileLock(path: path))
            // A second builder that opened the file just before the first released it.
            let late = open(path, O_RDWR)
            defer { close(late) }
            #expect(try FileLock(path: path) == nil)
            #expect(try FileLock.isFile(late, at: path))
            first.unlock()
            #expect(!WritableFile.exists(path))
            #expect(flock(late, LOCK_EX | LOCK_NB) == 0)  // it gets the old file's lock…
            #expect(try !FileLock.isFile(late, at: path))  // …which FileLock sees is not the one at path
            let next = try #require(try FileLock(path: path))
            #expect(try FileLock(path: path) == nil)
            next.unlock()
        }
    }
}
