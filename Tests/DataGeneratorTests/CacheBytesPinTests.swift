import Testing
@testable import DataGenerator

/// The bytes ``CacheBuilder`` writes, pinned by SHA-256: recorded before the builder was split
/// into ``CacheWriter`` and its drivers (issue 17), for many row groups, skipped records and a
/// build resumed after an interruption.
@Suite("Cache bytes pinned")
struct CacheBytesPinTests {
    static func sha256(_ path: String) throws -> String {
        var hasher = SHA256Hasher()
        hasher.update(try FileIO.readAll(path))
        return hasher.hexDigest()
    }

    /// Expects `actual` to be the pinned SHA-256, naming it when it is not.
    static func expectPinned(_ actual: String, _ pinned: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual == pinned, "the bytes' SHA-256 is \(actual)", sourceLocation: sourceLocation)
    }

    /// Fixed float32 rows, variable-length int32 rows (some empty), labels; rows whose number
    /// ends in 7 fail in the variable column.
    static func dataSet() throws -> GeneratorDataSet {
        let variable = CacheFixtures.variableEncoder(.int32, length: { $0 % 9 * 10 })
        let failing = ClosureEncoder(identity: "failing-variable@1", output: .variableLength(.int32)) { record in
            if record.row % 10 == 7 { throw EncodingError.malformedData(row: record.row, id: record.id, location: nil, reason: "row ends in 7") }
            return try variable.encode(record)
        }
        return try CacheFixtures.dataSet(try CacheFixtures.inventory(95),
                                         [CacheFixtures.fixedEncoder(.float32, [80]), failing],
                                         target: RecordTargetEncoder.label(column: "label"))
    }

    @Test("many row groups with skipped records build to the pinned bytes, resumed or not")
    func groupsSkippedAndResumedBuildToThePinnedBytes() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.dataSet()
            let pinned = "bbc6d0ab7bfaf63b75acd5135f3cdfed326d411848b44107cc33b342b5491220"
            let options = CacheBuildOptions(workers: 2, onError: .skip, rowsPerGroup: 10)
            let whole = directory + "/whole.dgcache"
            _ = try CacheBuilder(dataSet: dataSet, output: whole, options: options).build()
            Self.expectPinned(try Self.sha256(whole), pinned)

            let resumed = directory + "/resumed.dgcache"
            var interrupted = options
            interrupted.interruptAfterGroups = 4
            #expect(throws: (any Error).self) { try CacheBuilder(dataSet: dataSet, output: resumed, options: interrupted).build() }
            let report = try CacheBuilder(dataSet: dataSet, output: resumed, options: options).build()
            #expect(report.resumedRecords == 40)
            Self.expectPinned(try Self.sha256(resumed), pinned)

            let none = directory + "/none.dgcache"
            _ = try CacheBuilder(dataSet: dataSet, output: none,
                             options: CacheBuildOptions(codec: .none, columnCodecs: ["target": .lz4hc], workers: 0,
                                                        onError: .skip, rowsPerGroup: 7)).build()
            Self.expectPinned(try Self.sha256(none), "6fa1f32dd1784be01de0e82f0a459dab93cb16c34f98d445cff1c238d165aabd")
        }
    }
}
