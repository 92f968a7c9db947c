import Testing
@testable import DataGenerator

/// The behaviour of the seed library's `test_data_set.py`, ported.
@Suite struct SeedDataSetTests {
    let inventory: Inventory
    let dataSet: GeneratorDataSet

    init() throws {
        inventory = try Fixtures.seedInventory()
        dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: Fixtures.seedDataEncoder(),
                                   targetEncoder: Fixtures.seedTargetEncoder())
    }

    @Test func inventoryHoldsTheRecordsInOrder() throws {
        #expect(dataSet.inventory.count == 10)
        #expect(dataSet.inventory[0]["id"] == "id_0")
        #expect(dataSet.inventory[0]["target"] == "cat_0")
        #expect(dataSet.inventory[1]["target"] == "cat_1")
        #expect(dataSet.inventory[2]["target"] == "cat_2")
        #expect(dataSet.inventory[3]["target"] == "cat_0")
        #expect(dataSet.inventory[9]["id"] == "id_9")
        #expect(dataSet.inventory[9]["target"] == "cat_0")
        let encoder = Fixtures.seedDataEncoder()
        #expect(try encoder.encode(inventory[0]).scalars(as: Int64.self) == [1, 0, 0])
        #expect(try encoder.encode(inventory[1]).scalars(as: Int64.self) == [0, 1, 0])
        #expect(try encoder.encode(inventory[2]).scalars(as: Int64.self) == [0, 0, 1])
        #expect(try encoder.encode(inventory[3]).scalars(as: Int64.self) == [1, 0, 0])
        #expect(try Fixtures.seedTargetEncoder().encodeBatch(inventory.records).scalars(as: Int64.self)
                == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    }

    @Test func sizeCountsTheRecords() {
        #expect(dataSet.size == 10)
    }

    @Test func splitGivesFiveTwoAndThree() throws {
        let (training, validation, test) = try dataSet.split(validation: 0.2, test: 0.3)
        #expect(training.size + validation.size + test.size == dataSet.size)
        #expect(training.size == 5)
        #expect(validation.size == 2)
        #expect(test.size == 3)
        let all = Set(try training.inventory.column("id") + validation.inventory.column("id") + test.inventory.column("id"))
        #expect(all.count == 10)
    }

    @Test func dataIsTheWholeEncodedColumn() throws {
        let data = try dataSet.data()
        #expect(data.count == 1)
        #expect(data[0].shape == [10, 3])
        #expect(data[0].intRows == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0],
                                    [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    }

    @Test func targetsAreTheWholeEncodedTargetColumn() throws {
        let targets = try dataSet.targets()
        #expect(targets.shape == [10])
        #expect(targets.scalars(as: Int64.self) == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    }

    static let firstTwoBatches: [[[Int]]] = [
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]],
        [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]],
    ]

    @Test func dataBatchesOfFourTruncateToTwo() throws {
        let batches = try dataSet.dataBatches(size: 4, epochs: 1).collect()
        #expect(batches.count == 2)
        #expect(batches.map { $0[0].shape } == [[4, 3], [4, 3]])
        #expect(batches.map { $0[0].intRows } == Self.firstTwoBatches)
    }

    @Test func aRecordEncoderTypeServesTheSameBatches() throws {
        struct RecordDataEncoder: DataEncoder {
            let identity = "record-class@1"
            let outputSpec = ArraySpec(.int64, [3])
            func encode(_ record: Record) throws -> NDArray { try Fixtures.seedDataEncoder().encode(record) }
        }
        let dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: RecordDataEncoder(),
                                       targetEncoder: Fixtures.seedTargetEncoder())
        let batches = try dataSet.dataBatches(size: 4, epochs: 1).collect()
        #expect(batches.map { $0[0].intRows } == Self.firstTwoBatches)
    }

    @Test func aBatchEncoderServesTheSameBatches() throws {
        struct BatchEncoder: BatchDataEncoder {
            let identity = "batch-class@1"
            let outputSpec = ArraySpec(.int64, [3])
            func encodeBatch(_ records: [Record]) throws -> NDArray {
                try NDArray.stack(records.map { try Fixtures.seedDataEncoder().encode($0) })
            }
        }
        let dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: BatchEncoder(),
                                       targetEncoder: Fixtures.seedTargetEncoder())
        let batches = try dataSet.dataBatches(size: 4, epochs: 1).collect()
        #expect(batches.map { $0[0].shape } == [[4, 3], [4, 3]])
        #expect(batches.map { $0[0].intRows } == Self.firstTwoBatches)
    }

    @Test func finalizeBatchPadsTruncatedRecords() throws {
        struct TruncateAndPad: DataEncoder {
            let identity = "truncate-and-pad@1"
            let outputSpec = ArraySpec.variableLength(.int64)
            func encode(_ record: Record) throws -> NDArray {
                let full = try Fixtures.seedDataEncoder().encode(record).scalars(as: Int64.self)
                return NDArray(Array(full[...full.firstIndex(of: 1)!]))
            }
            func finalizeBatch(_ arrays: [NDArray], records: [Record]) throws -> NDArray {
                try NDArray.stack(arrays.map { array in
                    NDArray(array.scalars(as: Int64.self) + Array(repeating: 0, count: 3 - array.count))
                })
            }
        }
        let dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: TruncateAndPad(),
                                       targetEncoder: Fixtures.seedTargetEncoder())
        let batches = try dataSet.dataBatches(size: 4, epochs: 1).collect()
        #expect(batches.map { $0[0].shape } == [[4, 3], [4, 3]])
        #expect(batches.map { $0[0].intRows } == Self.firstTwoBatches)
    }

    @Test func variableLengthRecordsArePaddedByDefault() throws {
        let encoder = ClosureEncoder(identity: "prefix@1", output: .variableLength(.int64)) { record in
            let full = try Fixtures.seedDataEncoder().encode(record).scalars(as: Int64.self)
            return NDArray(Array(full[...full.firstIndex(of: 1)!]))
        }
        let dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder)
        let batches = try dataSet.dataBatches(size: 4, epochs: 1).collect()
        #expect(batches[0][0].intRows == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    }

    @Test func dataBatchesWithoutTruncateKeepThePartialBatch() throws {
        let batches = try dataSet.dataBatches(size: 4, epochs: 1, truncate: false).collect()
        #expect(batches.count == 3)
        #expect(batches.map { $0[0].shape } == [[4, 3], [4, 3], [2, 3]])
        #expect(Array(batches.prefix(2)).map { $0[0].intRows } == Self.firstTwoBatches)
        #expect(batches[2][0].intRows == [[0, 0, 1], [1, 0, 0]])
    }

    @Test func targetBatchesOfFour() throws {
        let cursor = try dataSet.targetBatches(size: 4, epochs: 1)
        let first = try #require(try cursor.next())
        #expect(first.shape == [4])
        let rest = try cursor.collect()
        #expect(rest.count == 1)
        #expect(rest.map(\.shape) == [[4]])
        #expect(rest[0].scalars(as: Int64.self) == [1, 2, 0, 1])
    }

    @Test func batchesPairDataWithTargets() throws {
        let cursor = try dataSet.batches(size: 4, epochs: 1)
        let first = try #require(try cursor.next())
        #expect(first.data.shape == [4, 3])
        #expect(first.targets?.shape == [4])
        let rest = try cursor.collect()
        #expect(rest.count == 1)
        #expect(Set(rest.map(\.data.shape)) == [[4, 3]])
        // Each row's data comes with its own target: the target of the record each batch row
        // names, encoded on its own (targets() runs the encoder over the inventory, unbatched).
        let paired = [first] + rest
        let allTargets = try dataSet.targets().scalars(as: Int64.self)
        let allData = try dataSet.data()[0].intRows
        for batch in paired {
            #expect(batch.targets?.scalars(as: Int64.self) == batch.rows.map { allTargets[$0] })
            #expect(batch.data.intRows == batch.rows.map { allData[$0] })
        }
        #expect(paired.map(\.data.intRows) == Self.firstTwoBatches)
        #expect(paired.flatMap(\.rows) == Array(0..<8))
    }

    @Test func fiveEpochsOfTwoBatchesGiveTen() throws {
        let batches = try dataSet.batches(size: 5, epochs: 5).collect()
        #expect(batches.count == 10)
        #expect(Set(batches.map(\.data.shape)) == [[5, 3]])
        #expect(batches.map(\.epoch) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    }

    @Test func fiveEpochsWithoutTruncateGiveFifteen() throws {
        let batches = try dataSet.batches(size: 4, epochs: 5, truncate: false).collect()
        #expect(batches.count == 15)
        #expect(Set(batches.map(\.data.shape)) == [[4, 3], [2, 3]])
    }

    @Test func endlessEpochsKeepServing() throws {
        let batches = try dataSet.batches(size: 4).collect(limit: 7)
        #expect(batches.count == 7)
        #expect(batches.last?.epoch == 3)
    }

    @Test func multipleEncodersGiveOneInputEach() throws {
        let encoders: [any DataEncoding] = (1...3).map { n in
            ClosureEncoder(identity: "pair-\(n)@1", output: ArraySpec(.int64, [2])) { record in
                NDArray([Int64(n), Int64(String(record["target"]!.last!))!])
            }
        }
        let dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: encoders,
                                       targetEncoder: Fixtures.seedTargetEncoder())
        for batch in try dataSet.dataBatches(size: 3, epochs: 1).collect() {
            #expect(batch.count == 3)
            #expect(batch[0].intRows == [[1, 0], [1, 1], [1, 2]])
            #expect(batch[1].intRows == [[2, 0], [2, 1], [2, 2]])
            #expect(batch[2].intRows == [[3, 0], [3, 1], [3, 2]])
        }
    }

    @Test func sortByTargetGroupsTheCategories() throws {
        var dataSet = dataSet
        try dataSet.sort(by: ["target"])
        let targets = try dataSet.inventory.column("target")
        #expect(targets == ["cat_0", "cat_0", "cat_0", "cat_0", "cat_1", "cat_1", "cat_1", "cat_2", "cat_2", "cat_2"])
        let ids = try dataSet.inventory.column("id")
        #expect(ids[0..<4].sorted() == ["id_0", "id_3", "id_6", "id_9"])
        #expect(ids[4..<7].sorted() == ["id_1", "id_4", "id_7"])
        #expect(ids[7...].sorted() == ["id_2", "id_5", "id_8"])
    }

    @Test func sortIsNumericForNumberColumns() throws {
        let inventory = try Inventory(columns: [("id", ["a", "b", "c"]), ("size", ["10", "9", "100"])])
        #expect(try inventory.sorted(by: ["size"]).column("id") == ["b", "a", "c"])
        #expect(try inventory.sorted(by: ["size"], ascending: false).column("id") == ["c", "a", "b"])
    }

    @Test func shuffleReordersButKeepsPairs() throws {
        var dataSet = GeneratorDataSet(inventory: try Fixtures.seedInventory(size: 25, targets: 25),
                                       dataEncoder: Fixtures.seedDataEncoder(targets: 25))
        let before = try dataSet.inventory.column("id")
        dataSet.shuffle(seed: 42)
        let after = try dataSet.inventory.column("id")
        #expect(before != after)
        #expect(before.sorted() == after.sorted())
        for record in dataSet.inventory.records {
            #expect(record["id"]!.split(separator: "_").last == record["target"]!.split(separator: "_").last)
        }
        var again = GeneratorDataSet(inventory: try Fixtures.seedInventory(size: 25, targets: 25),
                                     dataEncoder: Fixtures.seedDataEncoder(targets: 25))
        again.shuffle(seed: 42)
        #expect(try again.inventory.column("id") == after)
    }

    @Test func batchSizeLargerThanTheDataSetIsRejected() throws {
        #expect(throws: DataSetError.batchSizeTooLarge(batchSize: 100, size: 10)) { try dataSet.batches(size: 100) }
        #expect(throws: DataSetError.batchSizeTooLarge(batchSize: 100, size: 10)) { try dataSet.dataBatches(size: 100) }
        #expect(throws: DataSetError.batchSizeTooLarge(batchSize: 100, size: 10)) { try dataSet.targetBatches(size: 100) }
        #expect(try dataSet.batches(size: 100, epochs: 1, truncate: false).collect().map(\.data.shape) == [[10, 3]])
    }
}
