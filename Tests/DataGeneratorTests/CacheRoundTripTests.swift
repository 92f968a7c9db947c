import Testing
@testable import DataGenerator

@Suite("Cache round trips")
struct CacheRoundTripTests {
    @Test("every dtype round-trips through small packed rows and wide per-row units, with each codec",
          arguments: CacheCodec.allCases)
    func everyDTypeRoundTrips(codec: CacheCodec) throws {
        try CacheFixtures.withDirectory { directory in
            let small = DType.allCases.map { CacheFixtures.fixedEncoder($0, [3], salt: 1) }
            let wide = DType.allCases.map { CacheFixtures.fixedEncoder($0, [2, 320 / $0.byteWidth], salt: 2) }
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(40), small + wide,
                                                    target: RecordTargetEncoder.oneHot(column: "label"))
            let (cache, report) = try CacheFixtures.build(dataSet, in: directory,
                                                          options: CacheBuildOptions(codec: codec, workers: 2))
            #expect(report.rowCount == 40 && !report.upToDate)
            let expected = try dataSet.data()
            let rows = Array(0..<40)
            for (index, column) in cache.columns.filter({ $0.role == .data }).enumerated() {
                #expect(column.name == "data\(index)" && column.codec == codec)
                #expect(try cache.gather(column: column.name, rows: rows) == expected[index])
            }
            #expect(try cache.gather(column: "target", rows: rows) == dataSet.targets())
            #expect(cache.classes == ["a", "b", "c"])
            #expect(try cache.ids() == (0..<40).map { "r\($0)" })
            _ = try cache.verify()
        }
    }

    @Test("packed units serve rows in any order, with repeats, across unit boundaries")
    func packedGatherInAnyOrder() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(3000), [CacheFixtures.fixedEncoder(.int16, [5])])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory, options: CacheBuildOptions(workers: 2))
            #expect(cache.columns[0].unitCount > 1 && cache.columns[0].unitCount < 3000)
            let rows = [2999, 0, 1, 1, 1500, 3276 % 3000, 7, 2048, 2047, 0]
            let all = try dataSet.data()[0]
            #expect(try cache.gather(column: "data", rows: rows) == NDArray.stack(rows.map { all.row($0) }))
        }
    }

    @Test("variable-length rows round-trip: empty, small packed, over 256 bytes and over 32 KiB",
          arguments: CacheCodec.allCases)
    func variableLengthRoundTrips(codec: CacheCodec) throws {
        try CacheFixtures.withDirectory { directory in
            let lengths: @Sendable (Int) -> Int = { row in [0, 1, 3, 40, 5000, 2, 0, 17][row % 8] }
            let encoder = CacheFixtures.variableEncoder(.float32, trailing: [2], length: lengths)
            let tokens = CacheFixtures.variableEncoder(.uint8, salt: 3) { $0 % 5 }
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(30), [encoder, tokens])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory,
                                                     options: CacheBuildOptions(codec: codec, workers: 2, rowsPerGroup: 8))
            for (name, source) in [("data0", encoder), ("data1", tokens)] {
                let arrays = try cache.arrays(column: name, rows: Array(0..<30))
                for row in 0..<30 {
                    #expect(arrays[row] == (try source.encode(dataSet.inventory[row])), "row \(row) of \(name)")
                }
                let (_, gotLengths) = try cache.gatherVariable(column: name, rows: [7, 4, 4, 0])
                #expect(gotLengths == [7, 4, 4, 0].map { name == "data0" ? lengths($0) : $0 % 5 })
            }
            _ = try cache.verify()
        }
    }

    @Test("a cache of zero rows opens, reads nothing and verifies")
    func zeroRows() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(0), [CacheFixtures.fixedEncoder(.float32, [4])])
            let (cache, report) = try CacheFixtures.build(dataSet, in: directory)
            #expect(report.rowCount == 0 && cache.rowCount == 0)
            #expect(try cache.gather(column: "data", rows: []) == NDArray(zeros: .float32, shape: [0, 4]))
            #expect(try cache.ids() == [])
            #expect(try cache.verify().unitsChecked == 0)
        }
    }

    @Test("a cache of one row round-trips")
    func oneRow() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(1), [CacheFixtures.fixedEncoder(.int64, [7])],
                                                    target: RecordTargetEncoder.label(column: "label"))
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
            #expect(try cache.row(0) == [try dataSet.data()[0].row(0), try dataSet.targets().row(0)])
            #expect(try cache.id(ofRow: 0) == "r0")
        }
    }

    @Test("rows larger than 1 MiB round-trip with each codec", arguments: CacheCodec.allCases)
    func rowsLargerThanOneMiB(codec: CacheCodec) throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(2), [CacheFixtures.fixedEncoder(.float32, [270_000])])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory, options: CacheBuildOptions(codec: codec))
            let expected = try dataSet.data()[0]
            #expect(try cache.gather(column: "data", rows: [1, 0]) == NDArray.stack([expected.row(1), expected.row(0)]))
            #expect(cache.columns[0].rawBytes == 2 * 1_080_000 && cache.columns[0].unitCount == 2)
        }
    }

    @Test("many threads gather from one open cache at once and all get the right rows")
    func concurrentGathers() async throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(500), [CacheFixtures.fixedEncoder(.uint8, [300]),
                                                                                CacheFixtures.fixedEncoder(.float32, [2])])
        let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
        let expected = try dataSet.data()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let rows = (0..<200).map { ($0 * 37 + task * 11) % 500 }
                    let first = try cache.gather(column: "data0", rows: rows)
                    let second = try cache.gather(column: "data1", rows: rows)
                    let wantFirst = try NDArray.stack(rows.map { expected[0].row($0) })
                    let wantSecond = try NDArray.stack(rows.map { expected[1].row($0) })
                    return first == wantFirst && second == wantSecond
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test("a buffer too small, an unknown column and a row out of range are refused by name")
    func readErrorsNameTheCulprit() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(5), [CacheFixtures.fixedEncoder(.float32, [4])])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
            var small = [UInt8](repeating: 0, count: 20)
            let tooSmall = CacheFixtures.cacheError {
                try small.withUnsafeMutableBytes { try cache.gather(column: "data", rows: [0, 1], into: $0) }
            }
            #expect(tooSmall == .bufferTooSmall(column: "data", needed: 32, available: 20))
            #expect(tooSmall?.description.contains("'data'") == true)
            let unknown = CacheFixtures.cacheError { _ = try cache.gather(column: "pixels", rows: [0]) }
            #expect(unknown == .noSuchColumn(name: "pixels", available: ["data"]))
            #expect(unknown?.description.contains("'pixels'") == true)
            let outside = CacheFixtures.cacheError { _ = try cache.gather(column: "data", rows: [5]) }
            #expect(outside == .rowOutOfRange(row: 5, count: 5))
            #expect(outside?.description.contains("row 5") == true)
        }
    }
}
