import Testing
@testable import DataGenerator

/// Errors name records as `row R (line L)`: R counts records from 0, L is the 1-based line of the
/// CSV where the record starts (the header is line 1). Inventories not read from a CSV name the
/// row and the id.
@Suite("Record naming")
struct RecordNamingTests {
    /// Four records; the second spans lines 3–4 (a quoted line break), a blank line precedes the
    /// fourth: rows start on lines 2, 3, 5 and 7.
    static let csv = "id,target\na,x\n\"b\nb\",y\nc,x\n\nd,y\n"

    @Test("each record keeps the CSV line it starts on, through selecting, sorting and shuffling")
    func recordsKeepTheirLines() throws {
        let inventory = try Inventory(csvText: Self.csv, source: "inv.csv")
        #expect(inventory.records.map(\.line) == [2, 3, 5, 7])
        #expect(inventory.source == "inv.csv")
        #expect(try inventory.selecting(rows: [3, 1]).records.map(\.line) == [7, 3])
        let shuffled = inventory.shuffled(seed: 7)
        #expect(shuffled.records.map { $0.line! } == shuffled.records.map { ["a": 2, "b\nb": 3, "c": 5, "d": 7][$0.id!]! })
        #expect(try inventory.sorted(by: ["id"], ascending: false).records.map(\.line) == [7, 5, 3, 2])
        #expect(inventory.line(ofRow: 4) == nil)
        #expect(try Inventory(records: [["id": "a"]])[0].line == nil)
    }

    @Test("a record's name has the row, the line and the id")
    func namesHaveRowLineAndID() throws {
        let inventory = try Inventory(csvText: Self.csv)
        #expect(inventory[2].displayName == "row 2 (line 5), id 'c'")
        #expect(try Inventory(records: [["id": "a"]])[0].displayName == "row 0 (id 'a')")
        #expect(try Inventory(records: [["v": "a"]])[0].displayName == "row 0")
    }

    @Test("a file encoder's errors name the record's line")
    func fileErrorsNameTheLine() throws {
        try CacheFixtures.withDirectory { directory in
            try Fixtures.write("1 2 3\n", to: directory + "/a")
            let inventory = try Inventory(csvText: Self.csv)
            let encoder = PathsAsGivenTests.encoder(directory)
            #expect(throws: EncodingError.fileNotFound(row: 2, id: "c", path: directory + "/c", line: 5)) {
                try encoder.encode(inventory[2])
            }
            let error = #expect(throws: EncodingError.self) { try encoder.encode(inventory[2]) }
            #expect(error?.description == "row 2 (line 5), id 'c': file not found: \(directory)/c")
            try Fixtures.write("1 2\n", to: directory + "/d")
            let malformed = #expect(throws: EncodingError.self) { try encoder.encode(inventory[3]) }
            #expect(malformed?.line == 7 && malformed?.description.hasPrefix("row 3 (line 7), id 'd'") == true,
                    "\(String(describing: malformed))")
        }
    }

    @Test("a data set fills in the line for encoders that do not give it")
    func dataSetsFillInTheLine() throws {
        let inventory = try Inventory(csvText: Self.csv)
        let failing = ClosureEncoder(identity: "fails-on-c@1", output: ArraySpec(.int32, [])) { record in
            if record.id == "c" { throw EncodingError.malformedData(row: record.row, id: record.id, location: nil, reason: "bad") }
            if record.id == "d" { throw ForeignError() }
            return NDArray(scalar: Int32(record.row))
        }
        let dataSet = GeneratorDataSet(inventory: try inventory.selecting(rows: [0, 2]), dataEncoder: failing)
        let error = #expect(throws: EncodingError.self) { try dataSet.data() }
        #expect(error == .malformedData(row: 1, id: "c", location: nil, reason: "bad", line: 5))
        #expect(error?.description == "row 1 (line 5), id 'c': bad")
        let foreign = #expect(throws: EncodingError.self) {
            try GeneratorDataSet(inventory: try inventory.selecting(rows: [3]), dataEncoder: failing).data()
        }
        #expect(foreign?.description.contains("failed on row 0 (line 7), id 'd'") == true, "\(String(describing: foreign))")
    }

    @Test("a failed cache build names the record once, with its line, and says how to skip it")
    func recordFailuresNameTheLineAndTheSkipPolicy() throws {
        try CacheFixtures.withDirectory { directory in
            try Fixtures.write("1 2 3\n", to: directory + "/a")
            try Fixtures.write("1 2 3\n", to: directory + "/b\nb")
            let inventory = try Inventory(csvText: Self.csv)
            var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: PathsAsGivenTests.encoder(directory),
                                           targetEncoder: RecordTargetEncoder.label())
            try dataSet.fitEncoders()
            let error = CacheFixtures.cacheError {
                _ = try CacheBuilder(dataSet: dataSet, output: directory + "/out.dgcache", options: CacheBuildOptions(workers: 1)).build()
            }
            guard case let .recordFailed(row, id, path, _, line)? = error else {
                Issue.record("expected recordFailed, got \(String(describing: error))")
                return
            }
            #expect(row == 2 && id == "c" && path == directory + "/c" && line == 5)
            let message = error!.description
            #expect(message.hasPrefix("row 2 (line 5), id 'c': file not found: \(directory)/c"), "\(message)")
            #expect(message.components(separatedBy: "row 2").count == 2, "named once: \(message)")
            #expect(message.hasSuffix("(use --on-error skip, in Swift onError: .skip, to leave such records out)"), "\(message)")
        }
    }

    @Test("a record failure whose reason does not name the record is prefixed with its name and file")
    func otherReasonsArePrefixed() {
        let error = CacheError.recordFailed(row: 4, id: "x", path: "/p/x", reason: "bad pixel", line: 6)
        #expect(error.description == "row 4 (line 6), id 'x' at /p/x: bad pixel (use --on-error skip, in Swift onError: .skip, to leave such records out)")
    }

    @Test("an empty label is an error naming the record and its line, not a class \"\"")
    func emptyLabelsAreErrors() throws {
        let inventory = try Inventory(csvText: "id,target\na,x\n\"b\nb\",\nc,y\n")
        var labels = RecordTargetEncoder.label()
        let error = #expect(throws: EncodingError.self) { try labels.fit(on: inventory) }
        #expect(error == .emptyLabel(row: 1, id: "b\nb", column: "target", line: 3))
        #expect(error?.description.hasPrefix("row 1 (line 3), id 'b\nb': the label in column 'target' is empty") == true)
        var oneHot = RecordTargetEncoder.oneHot()
        #expect(throws: EncodingError.emptyLabel(row: 1, id: "b\nb", column: "target", line: 3)) { try oneHot.fit(on: inventory) }
        var fitted = RecordTargetEncoder.label()
        try fitted.fit(on: try inventory.selecting(rows: [0, 2]))
        #expect(throws: EncodingError.emptyLabel(row: 1, id: "b\nb", column: "target", line: 3)) {
            try fitted.encodeBatch(inventory.records)
        }
        let measured = try Inventory(csvText: "id,target\na,1.5\n\"b\nb\",\nc,2\n")
        var numbers = RecordTargetEncoder(column: "target", [NumberEncoder(dtype: .float32)])
        #expect(throws: EncodingError.notANumber(value: "", row: 1, column: "target", line: 3)) { try numbers.fit(on: measured) }
    }

    @Test("an unseen label names its line")
    func unseenLabelsNameTheLine() throws {
        let inventory = try Inventory(csvText: Self.csv)
        var labels = RecordTargetEncoder.label()
        try labels.fit(on: try inventory.selecting(rows: [0]))
        #expect(throws: EncodingError.unseenLabel(label: "y", row: 1, column: "target", line: 3)) {
            try labels.encodeBatch(inventory.records)
        }
    }

    @Test("a header-only inventory's error says it holds no records and names the file")
    func noRecordsNamesTheSource() throws {
        let inventory = try Inventory(csvText: "id,target\n", source: "empty.csv")
        #expect(inventory.isEmpty)
        #expect(InventoryError.noRecords(source: "empty.csv").description.hasPrefix("empty.csv holds no records"))
    }
}

/// An error that is not an ``EncodingError``.
private struct ForeignError: Error, CustomStringConvertible {
    var description: String { "foreign" }
}
