import Testing
@testable import DataGenerator

/// Building an inventory from records and columns, looking values up, ordering, splitting and
/// enriching it.
@Suite("Inventory")
struct InventoryTests {
    /// `n` records `id_0…` with targets cycling over `labels`.
    private func inventory(_ n: Int, labels: [String] = ["a", "b", "c"]) throws -> Inventory {
        try Inventory(columns: [("id", (0..<n).map { "id_\($0)" }), ("target", (0..<n).map { labels[$0 % labels.count] })])
    }

    // MARK: - Construction and lookup

    @Test func recordsBecomeColumnsInFirstAppearanceOrder() throws {
        let inventory = try Inventory(records: [["target": "x", "id": "1"], ["id": "2", "target": "y", "extra": "e"]],
                                      columns: ["id", "target"])
        #expect(inventory.columnNames == ["id", "target"])
        #expect(try inventory.column("target") == ["x", "y"])
        #expect(inventory.count == 2)
        #expect(inventory[1].id == "2")
        #expect(inventory[1].values == ["id": "2", "target": "y"])
        let inferred = try Inventory(records: [["target": "x", "id": "1"]])
        #expect(inferred.columnNames == ["id", "target"])
    }

    @Test func aRecordMissingAColumnNamesColumnAndRow() {
        let error = #expect(throws: InventoryError.self) {
            try Inventory(records: [["id": "1", "target": "x"], ["id": "2"]], columns: ["id", "target"])
        }
        #expect(error == .missingValue(column: "target", row: 1))
        #expect(error?.description == "row 1 has no value for column 'target'")
    }

    @Test func aDictionaryOfColumnsIsOrderedByName() throws {
        let inventory = try Inventory(dictionary: ["target": ["x", "y"], "id": ["1", "2"], "size": ["3", "4"]])
        #expect(inventory.columnNames == ["id", "size", "target"])
        #expect(inventory.idColumn == "id")
        #expect(try inventory.column("size") == ["3", "4"])
    }

    @Test func columnsOfDifferentLengthsNameTheColumn() {
        let error = #expect(throws: InventoryError.self) {
            try Inventory(dictionary: ["id": ["1", "2"], "target": ["x"]])
        }
        #expect(error?.description.contains("column 'target' has 1 values, expected 2") == true)
    }

    @Test func aMissingColumnErrorNamesItAndListsTheAvailableOnes() throws {
        let inventory = try inventory(3)
        let error = #expect(throws: InventoryError.self) { try inventory.column("label") }
        #expect(error?.description == "no column 'label' (columns: id, target)")
        #expect(inventory[0]["label"] == nil)
        #expect(throws: InventoryError.missingColumn("label", available: ["id", "target"])) {
            try inventory[0].value("label")
        }
    }

    @Test func countAndLookupFollowTheRows() throws {
        let inventory = try inventory(7)
        #expect(inventory.count == 7)
        #expect(!inventory.isEmpty)
        #expect(inventory.records.map(\.row) == Array(0..<7))
        #expect(try inventory.column("target")[4] == "b")
        #expect(inventory[4]["id"] == "id_4")
        #expect(try Inventory(columns: []).count == 0)
    }

    @Test func duplicateIdsNameBothRows() {
        let error = #expect(throws: InventoryError.self) {
            try Inventory(columns: [("id", ["a", "b", "a"]), ("target", ["1", "2", "3"])])
        }
        #expect(error == .duplicateID(id: "a", column: "id", firstRow: 0, secondRow: 2))
        #expect(error?.description.contains("'a'") == true)
        #expect(error?.description.contains("rows 0 and 2") == true)
    }

    @Test func theFirstRepeatedIdIsFoundAmongManyWithAndWithoutTheFallback() {
        var ids = (0..<5_000).map { "record-\($0)-with-a-longer-name" } + ["", "a", "ab", "é", "a\u{0}"]
        #expect(DuplicateFinder.firstDuplicate(in: ids) == nil)
        #expect(DuplicateFinder.firstDuplicate(in: ids, maxProbes: 0) == nil)
        ids += ["record-4321-with-a-longer-name", "a"]
        for maxProbes in [0, 64] {
            let found = DuplicateFinder.firstDuplicate(in: ids, maxProbes: maxProbes)
            #expect(found?.first == 4321, "maxProbes \(maxProbes)")
            #expect(found?.second == 5_005, "maxProbes \(maxProbes)")
        }
        #expect(DuplicateFinder.firstDuplicate(in: ["x"]) == nil)
        #expect(DuplicateFinder.firstDuplicate(in: ["", ""])?.second == 1)
    }

    @Test func anExplicitIdColumnMustExist() throws {
        let named = try Inventory(columns: [("name", ["p", "q"])], idColumn: "name")
        #expect(named[1].id == "q")
        let error = #expect(throws: InventoryError.self) { try Inventory(columns: [("name", ["p"])], idColumn: "id") }
        #expect(error?.description.contains("no column 'id'") == true)
        let unchecked = try Inventory(columns: [("id", ["a", "a"])], idColumn: .none)
        #expect(unchecked.count == 2)
    }

    // MARK: - Ordering

    @Test func numericColumnsSortAsNumbers() throws {
        let inventory = try Inventory(columns: [("id", ["a", "b", "c", "d"]), ("n", ["10", "9", "100", "-1.5"])])
        #expect(try inventory.sorted(by: ["n"]).column("id") == ["d", "b", "a", "c"])
        #expect(try inventory.sorted(by: ["n"], ascending: false).column("id") == ["c", "a", "b", "d"])
    }

    @Test func textColumnsSortByCodePoints() throws {
        let inventory = try Inventory(columns: [("id", ["1", "2", "3", "4"]), ("s", ["b", "B", "a10", "a9"])])
        #expect(try inventory.sorted(by: ["s"]).column("s") == ["B", "a10", "a9", "b"])
    }

    @Test func sortingIsStableAndUsesLaterColumnsForTies() throws {
        let inventory = try Inventory(columns: [("id", ["r0", "r1", "r2", "r3", "r4"]),
                                                ("g", ["y", "x", "y", "x", "y"]),
                                                ("n", ["2", "5", "1", "5", "2"])])
        #expect(try inventory.sorted(by: ["g"]).column("id") == ["r1", "r3", "r0", "r2", "r4"])
        #expect(try inventory.sorted(by: ["g", "n"]).column("id") == ["r1", "r3", "r2", "r0", "r4"])
        let error = #expect(throws: InventoryError.self) { try inventory.sorted(by: ["nope"]) }
        #expect(error?.description.contains("'nope'") == true)
    }

    @Test func shufflingWithASeedIsAReproduciblePermutation() throws {
        let inventory = try inventory(50)
        let first = inventory.shuffled(seed: 7)
        #expect(first == inventory.shuffled(seed: 7))
        #expect(first != inventory)
        #expect(try first.column("id") != inventory.shuffled(seed: 8).column("id"))
        #expect(try first.column("id").sorted() == inventory.column("id").sorted())
        // Rows move whole: each id keeps its target.
        for record in first.records {
            let number = Int(record["id"]!.dropFirst(3))!
            #expect(record["target"] == ["a", "b", "c"][number % 3])
        }
    }

    // MARK: - Splitting

    @Test func splitSizesRoundHalfToEven() throws {
        let parts = try inventory(10).split(validation: 0.25, test: 0.35, seed: 1)
        #expect(parts.validation.count == 2)  // 2.5 → 2
        #expect(parts.test.count == 4)  // 3.5 → 4
        #expect(parts.training.count == 4)
        let seedLike = try inventory(10).split(validation: 0.2, test: 0.3, seed: 3)
        #expect([seedLike.training.count, seedLike.validation.count, seedLike.test.count] == [5, 2, 3])
    }

    @Test func splitPartsAreDisjointCompleteAndInInventoryOrder() throws {
        let inventory = try inventory(40)
        let parts = try inventory.split(validation: 0.2, test: 0.1, seed: 9)
        let ids = try parts.training.column("id") + parts.validation.column("id") + parts.test.column("id")
        #expect(Set(ids).count == 40)
        #expect(try Set(ids) == Set(inventory.column("id")))
        for part in [parts.training, parts.validation, parts.test] {
            let positions = try part.column("id").map { Int($0.dropFirst(3))! }
            #expect(positions == positions.sorted())
        }
    }

    @Test func splitsAreSeeded() throws {
        let inventory = try inventory(30)
        let one = try inventory.split(validation: 0.3, seed: 5)
        let again = try inventory.split(validation: 0.3, seed: 5)
        let other = try inventory.split(validation: 0.3, seed: 6)
        #expect(one.validation == again.validation)
        #expect(one.training == again.training)
        #expect(one.validation != other.validation)
    }

    @Test func stratifiedSplitsKeepEachValuesProportion() throws {
        let labels = (0..<100).map { $0 < 60 ? "common" : "rare" }
        let inventory = try Inventory(columns: [("id", (0..<100).map { "r\($0)" }), ("target", labels)])
        let parts = try inventory.split(validation: 0.2, test: 0.1, seed: 11, stratifiedBy: "target")
        func tally(_ part: Inventory) throws -> [String: Int] {
            try part.column("target").reduce(into: [:]) { $0[$1, default: 0] += 1 }
        }
        #expect(try tally(parts.validation) == ["common": 12, "rare": 8])
        #expect(try tally(parts.test) == ["common": 6, "rare": 4])
        #expect(try tally(parts.training) == ["common": 42, "rare": 28])
        let error = #expect(throws: InventoryError.self) {
            try inventory.split(validation: 0.2, stratifiedBy: "class")
        }
        #expect(error?.description.contains("'class'") == true)
    }

    @Test func invalidRatiosAreRejectedNamingTheRatio() throws {
        let inventory = try inventory(10)
        let negative = #expect(throws: InventoryError.self) { try inventory.split(validation: -0.1) }
        #expect(negative?.description.contains("validation ratio -0.1") == true)
        let large = #expect(throws: InventoryError.self) { try inventory.split(validation: 0.1, test: 1.5) }
        #expect(large?.description.contains("test ratio 1.5") == true)
        let sum = #expect(throws: InventoryError.self) { try inventory.split(validation: 0.6, test: 0.5) }
        #expect(sum?.description.contains("exceed 1") == true)
    }

    // MARK: - Enrichment

    @Test func enrichmentAddsEachRecordsPathAndSize() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        try Fixtures.write("abc", to: directory + "/r1.txt")
        try Fixtures.write("hello, world", to: directory + "/r2.txt")
        let inventory = try Inventory(columns: [("id", ["r1", "r2"]), ("target", ["x", "y"])])
        let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                      identity: "bytes@1", output: ArraySpec(.uint8, [-1])) { NDArray($0.bytes) }
        let enriched = try inventory.enriched(by: encoder)
        #expect(enriched.columnNames == ["id", "target", "path", "size"])
        #expect(try enriched.column("path") == [directory + "/r1.txt", directory + "/r2.txt"])
        #expect(try enriched.column("size") == ["3", "12"])
        let sizeOnly = try inventory.enriched(by: encoder, pathColumn: nil, sizeColumn: "bytes")
        #expect(sizeOnly.columnNames == ["id", "target", "bytes"])
    }

    @Test func enrichingAMissingFileNamesIdAndPath() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        try Fixtures.write("abc", to: directory + "/r1.txt")
        let inventory = try Inventory(columns: [("id", ["r1", "ghost"])])
        let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                      identity: "bytes@1", output: ArraySpec(.uint8, [-1])) { NDArray($0.bytes) }
        let error = #expect(throws: EncodingError.self) { try inventory.enriched(by: encoder) }
        #expect(error?.description.contains("ghost") == true)
        #expect(error?.description.contains(directory + "/ghost.txt") == true)
    }
}
