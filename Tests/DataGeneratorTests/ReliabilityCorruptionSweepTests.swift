import Testing
@testable import DataGenerator

/// Random single-byte damage and truncation of a built cache, read as a training job reads it
/// (open, then every row of every column, without `verify`).
@Suite("Reliability: corruption sweep")
struct ReliabilityCorruptionSweepTests {
    /// What reading a damaged copy gave.
    enum Outcome: Equatable {
        /// A ``CacheError`` when opening.
        case errorAtOpen
        /// A ``CacheError`` while reading rows or ids.
        case errorWhileReading
        /// The same data as the intact file, and `verify` names the damaged byte as unused.
        case unusedByte
    }

    /// Opens and reads a damaged copy, comparing with the intact snapshot; records an issue for a
    /// non-typed error, for different data without an error, and for an unnoticed unused byte.
    static func read(_ path: String, expecting intact: ReliabilityFixtures.Snapshot, offset: Int,
                     sourceLocation: SourceLocation = #_sourceLocation) -> Outcome? {
        do {
            _ = try CacheFile(path: path)
        } catch {
            return .errorAtOpen
        }
        let snapshot: ReliabilityFixtures.Snapshot
        do {
            snapshot = try ReliabilityFixtures.Snapshot(path: path)
        } catch {
            return .errorWhileReading
        }
        guard snapshot == intact else {
            Issue.record("byte \(offset): the reader served different data without an error", sourceLocation: sourceLocation)
            return nil
        }
        do {
            _ = try CacheFile(path: path).verify()
            Issue.record("byte \(offset): changed, yet neither reading nor verify noticed", sourceLocation: sourceLocation)
            return nil
        } catch {
            return .unusedByte
        }
    }

    @Test("1,000 random single-byte flips: each gives a CacheError or identical data with verify naming the unused byte")
    func randomByteFlipsNeverServeWrongData() throws {
        try CacheFixtures.withDirectory { directory in
            let good = try FileIO.readAll(try ReliabilityFixtures.buildCache(in: directory))
            let intact = try ReliabilityFixtures.Snapshot(path: directory + "/sweep.dgcache")
            #expect(intact.rowCount == 40 && intact.columns.count == 5)
            let path = directory + "/flipped.dgcache"
            var random = SplitMix64(seed: 0x5EED_F11B)
            var outcomes = [Outcome: Int]()
            for _ in 0..<1000 {
                let offset = random.next(below: good.count)
                var bytes = good
                bytes[offset] ^= UInt8(1 + random.next(below: 255))
                try FileIO.write(bytes, to: path)
                if let outcome = Self.read(path, expecting: intact, offset: offset) { outcomes[outcome, default: 0] += 1 }
            }
            #expect(outcomes.values.reduce(0, +) == 1000)
            #expect(outcomes[.errorWhileReading, default: 0] > 0, "some flips must land in units, caught when read")
            print("corruption sweep: \(good.count)-byte cache, 1000 flips: \(outcomes[.errorAtOpen, default: 0]) CacheError at open, \(outcomes[.errorWhileReading, default: 0]) while reading, \(outcomes[.unusedByte, default: 0]) unused bytes (identical data; verify reports them)")
        }
    }

    @Test("200 random truncations: each gives truncated (notACache when the magic is cut), naming the file")
    func randomTruncationsAreRefusedAtOpen() throws {
        try CacheFixtures.withDirectory { directory in
            let good = try FileIO.readAll(try ReliabilityFixtures.buildCache(in: directory))
            let path = directory + "/cut.dgcache"
            var random = SplitMix64(seed: 0x7E1C_A7E5)
            var lengths = (0..<200).map { _ in random.next(below: good.count) }
            lengths[0] = 0
            lengths[1] = good.count - 1
            for length in lengths {
                try FileIO.write(Array(good[..<length]), to: path)
                let error = CacheFixtures.cacheError { _ = try CacheFile(path: path) }
                if length >= 8 {
                    #expect(error == .truncated(path: path), "length \(length)")
                } else {
                    #expect(error == .notACache(path: path) || error == .truncated(path: path), "length \(length)")
                }
                #expect(error?.description.contains(path) == true)
            }
        }
    }
}
