import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import DataGenerator

/// The behaviour of the seed library's `test_encoders.py`, `test_factories.py` and
/// `test_integration.py`, ported.
@Suite struct SeedEncoderTests {
    static func firstLineNumber(_ contents: ResourceContents) throws -> NDArray {
        let line = try contents.text().split(separator: "\n").first ?? ""
        guard let number = Int64(line.split(separator: "_").last ?? "") else {
            throw EncodingError.malformedData(row: contents.row, id: contents.id, location: contents.location,
                                              reason: "no number in '\(line)'")
        }
        return NDArray(scalar: number)
    }

    let encoder = FileDataEncoder(directory: Fixtures.seedResources, idMapper: IDMapper(suffix: ".txt"),
                                  identity: "first-line-number@1", output: ArraySpec(.int64, []),
                                  transform: SeedEncoderTests.firstLineNumber)
    /// The same encoder with paths confined to the data directory (`--confine-to-data-dir`).
    let confined = FileDataEncoder(directory: Fixtures.seedResources, idMapper: IDMapper(suffix: ".txt"),
                                   identity: "first-line-number@1", output: ArraySpec(.int64, []),
                                   paths: .confinedToDataDirectory, transform: SeedEncoderTests.firstLineNumber)
    let records = try! Inventory(records: [["id": "id1"], ["id": "id2"], ["id": "id3"]])

    @Test func fileEncoderResolvesPathsUnderTheDataDirectory() throws {
        #expect(try encoder.location(of: records[0]) == Fixtures.seedResources + "/id1.txt")
        #expect(try encoder.location(of: records[1]) == Fixtures.seedResources + "/id2.txt")
        #expect(try encoder.location(of: records[2]) == Fixtures.seedResources + "/id3.txt")
    }

    @Test func fileEncoderTransformsTheFileContents() throws {
        #expect(try encoder.encode(records[0]).scalars(as: Int64.self) == [1])
        #expect(try encoder.encode(records[1]).scalars(as: Int64.self) == [2])
        #expect(try encoder.encode(records[2]).scalars(as: Int64.self) == [3])
    }

    @Test func fileEncoderReportsFileSizes() throws {
        for row in 0..<3 { #expect(try encoder.byteSize(of: records[row]) == 7) }
    }

    @Test func enrichmentAddsPathAndSize() throws {
        let enriched = try records.enriched(by: encoder)
        #expect(try enriched.column("size") == ["7", "7", "7"])
        #expect(try enriched.column("path") == ["id1", "id2", "id3"].map { Fixtures.seedResources + "/\($0).txt" })
    }

    @Test func enrichmentFailsNamingTheMissingFile() throws {
        let inventory = try Inventory(records: [["id": "id1"], ["id": "nope"]])
        #expect(throws: EncodingError.fileNotFound(row: 1, id: "nope", path: Fixtures.seedResources + "/nope.txt")) {
            try inventory.enriched(by: encoder)
        }
    }

    @Test func missingFileNamesTheIdAndPath() throws {
        let inventory = try Inventory(records: [["id": "ghost"]])
        let error = #expect(throws: EncodingError.self) { try encoder.encode(inventory[0]) }
        #expect(error?.description.contains("ghost") == true)
        #expect(error?.description.contains(Fixtures.seedResources + "/ghost.txt") == true)
    }

    @Test func idsLeavingTheDataDirectoryAreRefusedWhenConfined() throws {
        for id in ["../seed/id1", "/etc/passwd", "a/../../x", "sub/../../id1"] {
            let inventory = try Inventory(records: [["id": id]])
            let error = #expect(throws: EncodingError.self, "id \(id)") { try confined.encode(inventory[0]) }
            #expect(error?.description.contains("outside the data directory") == true, "id \(id)")
        }
        let inside = try Inventory(records: [["id": "./id1"]])
        #expect(try confined.encode(inside[0]).scalars(as: Int64.self) == [1])
    }

    @Test func symlinksLeavingTheDataDirectoryAreRefusedWhenConfined() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        _ = symlink(Fixtures.seedResources + "/id1.txt", directory + "/link.txt")
        let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                      identity: "first-line-number@1", output: ArraySpec(.int64, []),
                                      paths: .confinedToDataDirectory, transform: SeedEncoderTests.firstLineNumber)
        let inventory = try Inventory(records: [["id": "link"]])
        let error = #expect(throws: EncodingError.self) { try encoder.encode(inventory[0]) }
        #expect(error?.description.contains("outside the data directory") == true)
        let permissive = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                         identity: "first-line-number@1", output: ArraySpec(.int64, []),
                                         paths: .confinedToDataDirectory, allowsSymlinksOutside: true,
                                         transform: SeedEncoderTests.firstLineNumber)
        #expect(try permissive.encode(inventory[0]).scalars(as: Int64.self) == [1])
    }

    @Test func transformErrorsNameTheRecord() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        try Fixtures.write("no number here", to: directory + "/bad.txt")
        let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                      identity: "first-line-number@1", output: ArraySpec(.int64, []),
                                      transform: SeedEncoderTests.firstLineNumber)
        let dataSet = GeneratorDataSet(inventory: try Inventory(records: [["id": "bad"]]), dataEncoder: encoder)
        let error = #expect(throws: EncodingError.self) { try dataSet.data() }
        #expect(error?.description.contains("id 'bad'") == true)
        #expect(error?.description.contains("bad.txt") == true)
    }

    @Test func wrongOutputShapeIsAnErrorNamingTheRecord() throws {
        let liar = ClosureEncoder(identity: "liar@1", output: ArraySpec(.float32, [3])) { record in
            record.row == 2 ? NDArray([1, 2] as [Float]) : NDArray([1, 2, 3] as [Float])
        }
        let dataSet = GeneratorDataSet(inventory: try Fixtures.seedInventory(), dataEncoder: liar)
        #expect(throws: EncodingError.unexpectedOutput(encoder: "liar@1", row: 2, id: "id_2",
                                                      expected: ArraySpec(.float32, [3]), found: ArraySpec(.float32, [2]))) {
            try dataSet.data()
        }
        let wrongType = ClosureEncoder(identity: "wrong-type@1", output: ArraySpec(.float32, [3])) { _ in
            NDArray([1, 2, 3] as [Double])
        }
        let error = #expect(throws: EncodingError.self) {
            try GeneratorDataSet(inventory: try Fixtures.seedInventory(), dataEncoder: wrongType).data()
        }
        #expect(error?.description.contains("row 0 (id 'id_0')") == true)
    }

    @Test func foreignEncoderErrorsAreWrappedWithTheRecord() throws {
        struct Boom: Error {}
        let failing = ClosureEncoder(identity: "boom@1", output: ArraySpec(.float32, [])) { record in
            if record.row == 4 { throw Boom() }
            return NDArray(scalar: Float(1))
        }
        let dataSet = GeneratorDataSet(inventory: try Fixtures.seedInventory(), dataEncoder: failing)
        let error = #expect(throws: EncodingError.self) { try dataSet.dataBatches(size: 2, epochs: 1).collect() }
        #expect(error?.description.contains("boom@1") == true)
        #expect(error?.description.contains("row 4 (id 'id_4')") == true)
    }

    // MARK: Target encoders (test_encoders.py's TestRecordTargetEncoder)

    let labels = try! Inventory(records: [["target": "one"], ["target": "two"], ["target": "three"]])

    @Test func labelRecordEncoderMapsLabelsToCodes() throws {
        var encoder = RecordTargetEncoder.label()
        try encoder.fit(on: labels)
        let codes = try encoder.encodeBatch(labels.records)
        // Classes sort as one, three, two: the rows one, two, three get codes 0, 2, 1.
        #expect(codes.scalars(as: Int64.self) == [0, 2, 1])
        for (row, label) in ["one", "two", "three"].enumerated() {
            let single = try encoder.transform([labels[row]])
            #expect(try encoder.inverseTransform(single) == .labels([label]))
        }
    }

    @Test func oneHotRecordEncoderGivesAnIdentityMatrix() throws {
        var encoder = RecordTargetEncoder.oneHot()
        try encoder.fit(on: labels)
        let hot = try encoder.encodeBatch(labels.records)
        #expect(hot.shape == [3, 3])
        #expect(Set(hot.doubles()) == [0, 1])
        // classes sorted: one, three, two → rows of one, two, three are e0, e2, e1: |det| = 1
        #expect(hot.intRows == [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
        for (row, label) in ["one", "two", "three"].enumerated() {
            #expect(try encoder.inverseTransform(encoder.transform([labels[row]])) == .labels([label]))
        }
        #expect(encoder.outputSpec == ArraySpec(.float32, [3]))
    }

    @Test func fitTransformFitsAndEncodes() throws {
        var encoder = RecordTargetEncoder.label()
        let values = try encoder.fitTransform(labels)
        guard case let .array(codes) = values else { Issue.record("expected an array"); return }
        #expect(codes.scalars(as: Int64.self) == [0, 2, 1])
        #expect(try encoder.inverseTransform(encoder.transform([labels[1]])) == .labels(["two"]))
    }

    @Test func inverseOfTheCodesGivesTheClasses() throws {
        var encoder = RecordTargetEncoder.label()
        try encoder.fit(on: labels)
        #expect(Set(encoder.classes ?? []) == ["one", "two", "three"])
        #expect(encoder.classes == ["one", "three", "two"])
        #expect(try encoder.inverseTransform(.array(NDArray([0, 1, 2] as [Int64]))) == .labels(encoder.classes!))
    }

    @Test func inverseOfOneHotRowsGivesTheClasses() throws {
        var encoder = RecordTargetEncoder.oneHot()
        try encoder.fit(on: labels)
        let eye = NDArray([1, 0, 0, 0, 1, 0, 0, 0, 1] as [Float], shape: [3, 3])
        #expect(try encoder.inverseTransform(.array(eye)) == .labels(encoder.classes!))
    }

    @Test func numericLabelsSortNumerically() throws {
        var encoder = LabelEncoder()
        try encoder.fit(.labels(["10", "9", "2", "10", "100"]))
        #expect(encoder.classes == ["2", "9", "10", "100"])
        try encoder.fit(.labels(["b", "B", "a", "é"]))
        #expect(encoder.classes == ["B", "a", "b", "é"])
    }

    @Test func unseenLabelNamesTheRowAndColumn() throws {
        var encoder = RecordTargetEncoder.label(column: "target")
        try encoder.fit(on: labels)
        let other = try Inventory(records: [["target": "one"], ["target": "four"]])
        #expect(throws: EncodingError.unseenLabel(label: "four", row: 1, column: "target")) {
            try encoder.encodeBatch(other.records)
        }
    }

    @Test func intToOneHotEncodesIntegerColumns() throws {
        var encoder = RecordTargetEncoder(column: "k", [OneHotEncoder()])
        let inventory = try Inventory(records: [["k": "2"], ["k": "0"], ["k": "1"]])
        try encoder.fit(on: inventory)
        #expect(try encoder.encodeBatch(inventory.records).intRows == [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
        #expect(try encoder.inverseTransform(encoder.transform(inventory.records)) == .array(NDArray([2, 0, 1] as [Int64])))
    }

    @Test func numberTargetsParseOrNameTheBadValue() throws {
        let encoder = RecordTargetEncoder(column: "y", [NumberEncoder(dtype: .float32)])
        let good = try Inventory(records: [["y": "1.5"], ["y": "-2"]])
        #expect(try encoder.encodeBatch(good.records).scalars(as: Float.self) == [1.5, -2])
        let bad = try Inventory(records: [["y": "1.5"], ["y": "n/a"]])
        #expect(throws: EncodingError.notANumber(value: "n/a", row: 1, column: "y")) { try encoder.encodeBatch(bad.records) }
    }

    @Test func identityChainEndingInLabelsCannotServeArrays() throws {
        let encoder = RecordTargetEncoder([IdentityEncoder()])
        #expect(try encoder.transform(labels.records) == .labels(["one", "two", "three"]))
        #expect(throws: EncodingError.self) { try encoder.encodeBatch(labels.records) }
    }

    // MARK: Factories (test_factories.py, test_integration.py)

    @Test func filesFactoryServesDataAndOneHotTargets() throws {
        let dataSet = try GeneratorDataSet.forFiles(
            inventory: Fixtures.seedResources + "/inventory.csv", dataDirectory: Fixtures.seedResources,
            identity: "first-line-number@1", output: ArraySpec(.int64, []),
            targets: [LabelEncoder(), OneHotEncoder()], idMapper: IDMapper(suffix: ".txt"),
            transform: SeedEncoderTests.firstLineNumber)
        let cursor = try dataSet.batches(size: 4, epochs: 1)
        let first = try #require(try cursor.next())
        #expect(first.data.shape == [4])
        #expect(first.targets?.shape == [4, 3])
        #expect(first.data.scalars(as: Int64.self) == [1, 2, 3, 4])
        #expect(first.targets?.intRows == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
        let rest = try cursor.collect()
        #expect(rest.count == 1)
        #expect(rest.map(\.data.shape) == [[4]])
        #expect(rest.map { $0.targets!.shape } == [[4, 3]])
        #expect(try dataSet.inventory.column("size") == ["7", "7", "7", "7", "7", "7", "7", "7", "7", "8"])
    }
}
