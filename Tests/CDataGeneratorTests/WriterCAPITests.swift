import Testing
@testable import CDataGenerator
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The C API's writer (`dg_writer_*` of datagen.h), called as a C caller would: the groups it is
/// given become the same bytes the Swift builder writes, and a write interrupted by
/// `dg_writer_abort` resumes after the groups already written.
@Suite("C API writer")
struct WriterCAPITests {
    /// 45 records: a fixed float32[3] column, a variable-length uint8 column (row % 7 bytes, row
    /// 12 failing), labels a, b, c; built by the Swift builder in groups of 8, skipping row 12.
    struct Fixture {
        let dataSet: GeneratorDataSet
        let plans: [ColumnPlan]
        let options = CacheBuildOptions(workers: 0, onError: .skip, rowsPerGroup: 8)

        init() throws {
            let count = 45
            let inventory = try Inventory(columns: [("id", (0..<count).map { "rec\($0)" }),
                                                    ("label", (0..<count).map { ["a", "b", "c"][$0 % 3] })])
            let fixed = ClosureEncoder(identity: "fixed3@1", output: ArraySpec(.float32, [3])) { record in
                try NDArray(dtype: .float32, shape: [3], bytes: (0..<3).flatMap { index in
                    withUnsafeBytes(of: Float(record.row * 3 + index).bitPattern.littleEndian, Array.init)
                })
            }
            let variable = ClosureEncoder(identity: "bytes@1", output: .variableLength(.uint8)) { record in
                if record.row == 12 {
                    throw EncodingError.malformedData(row: record.row, id: record.id, location: nil, reason: "row 12 is bad")
                }
                return try NDArray(dtype: .uint8, shape: [record.row % 7],
                                   bytes: (0..<(record.row % 7)).map { UInt8(truncatingIfNeeded: record.row * 31 + $0) })
            }
            var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: [fixed, variable],
                                           targetEncoder: RecordTargetEncoder.label(column: "label"))
            try dataSet.fitEncoders()
            self.dataSet = dataSet
            plans = try ColumnPlan.columns(of: dataSet, dataNames: nil, targetName: "target", codec: .lz4, codecs: [:])
        }

        /// The schema document the C caller gives.
        var schemaJSON: String {
            let columns = plans.map { plan in
                "{\"name\": \(json(plan.name)), \"role\": \"\(plan.role)\", \"dtype\": \"\(plan.spec.dtype)\", "
                    + "\"shape\": [\(plan.spec.shape.map(String.init).joined(separator: ", "))], "
                    + "\"variable_length\": \(plan.spec.isVariableLength), \"encoder\": \(json(plan.encoderIdentity))}"
            }
            return "{\"columns\": [\(columns.joined(separator: ", "))], \"records\": \(dataSet.size), "
                + "\"rows_per_group\": 8, \"codec\": \"lz4\", \"on_error\": \"skip\"}"
        }

        var rowsDigest: String { CacheFingerprint.rowsDigest(dataSet.inventory) }

        /// Group `index` as a C caller holds it: each column's kept rows' bytes, the variable
        /// column's lengths, and the skipped records as JSON (their reasons as the builder wrote them).
        func group(_ index: Int, skipped: [SkippedRecord]) throws -> (columns: [[UInt8]], lengths: [[Int64]?], skippedJSON: String?) {
            let rows = (index * 8)..<min(dataSet.size, (index + 1) * 8)
            let skippedHere = skipped.filter { rows.contains($0.row) }
            let records = rows.filter { row in !skippedHere.contains { $0.row == row } }.map { dataSet.inventory[$0] }
            var columns = [[UInt8]](repeating: [], count: 3)
            var lengths = [[Int64]?](repeating: nil, count: 3)
            lengths[1] = []
            for record in records {
                for position in 0..<2 {
                    let array = try (dataSet.dataEncoders[position] as! ClosureEncoder).encode(record)
                    array.withUnsafeBytes { columns[position].append(contentsOf: $0) }
                    if position == 1 { lengths[1]!.append(Int64(array.shape[0])) }
                }
            }
            try dataSet.targetEncoder!.encodeBatch(records).withUnsafeBytes { columns[2].append(contentsOf: $0) }
            let skippedJSON = skippedHere.isEmpty ? nil : "[" + skippedHere.map {
                "{\"row\": \($0.row), \"id\": \(json($0.id ?? "")), \"reason\": \(json($0.reason))}"
            }.joined(separator: ", ") + "]"
            return (columns, lengths, skippedJSON)
        }
    }

    /// Calls `dg_writer_put_group` with Swift arrays.
    static func put(_ writer: OpaquePointer?, _ index: Int, _ group: (columns: [[UInt8]], lengths: [[Int64]?], skippedJSON: String?)) -> Int32 {
        let buffers = group.columns.map { column -> UnsafeMutableRawPointer in
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, column.count), alignment: 8)
            column.withUnsafeBytes { bytes in if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) } }
            return pointer
        }
        let lengthPointers = group.lengths.map { lengths -> UnsafeMutablePointer<Int64>? in
            guard let lengths else { return nil }
            let pointer = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, lengths.count))
            pointer.initialize(from: lengths, count: lengths.count)
            return pointer
        }
        defer {
            buffers.forEach { $0.deallocate() }
            lengthPointers.forEach { $0?.deallocate() }
        }
        let constBuffers = buffers.map { UnsafeRawPointer($0) as UnsafeRawPointer? }
        let constLengths = lengthPointers.map { $0.map { UnsafePointer<Int64>($0) } }
        let sizes = group.columns.map { Int64($0.count) }
        return constBuffers.withUnsafeBufferPointer { buffers in
            constLengths.withUnsafeBufferPointer { lengths in
                sizes.withUnsafeBufferPointer { sizes in
                    if let json = group.skippedJSON {
                        return dg_writer_put_group(writer, Int64(index), buffers.baseAddress, sizes.baseAddress,
                                                   lengths.baseAddress, json)
                    }
                    return dg_writer_put_group(writer, Int64(index), buffers.baseAddress, sizes.baseAddress,
                                               lengths.baseAddress, nil)
                }
            }
        }
    }

    /// Calls `dg_writer_finish` with the inventory's ids and `classes`.
    static func finish(_ writer: OpaquePointer?, ids: [String], classes: [String]) -> Int32 {
        let bytes = ids.flatMap { Array($0.utf8) }.map { CChar(bitPattern: $0) }
        let lengths = ids.map { Int64($0.utf8.count) }
        let classesJSON = "[" + classes.map(json).joined(separator: ", ") + "]"
        return dg_writer_finish(writer, bytes, lengths, classesJSON)
    }

    static func lastError() -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        _ = dg_last_error(&buffer, 1024)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func withDirectory<R>(_ body: (String) throws -> R) throws -> R {
        var template = Array("/tmp/datagen-writer-capi-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CacheError.invalidOption("mkdtemp failed") }
        let directory = String(cString: made)
        defer { _ = system("rm -rf '\(directory)'") }
        return try body(directory)
    }

    @Test("groups put through the C API, aborted after two and resumed, give the Swift builder's bytes")
    func anAbortedWriteResumesToTheSwiftBuildersBytes() throws {
        try Self.withDirectory { directory in
            let fixture = try Fixture()
            let reference = directory + "/builder.dgcache"
            _ = try CacheBuilder(dataSet: fixture.dataSet, output: reference, options: fixture.options).build()
            let built = try CacheFile(path: reference)
            #expect(built.skipped.map(\.row) == [12])
            let ids = (0..<fixture.dataSet.size).map { "rec\($0)" }
            let classes = try #require(built.classes)

            let path = directory + "/capi.dgcache"
            var writer: OpaquePointer?
            var done: Int64 = -1
            #expect(dg_writer_open(path, fixture.schemaJSON, fixture.rowsDigest, &writer, &done) == 0, "\(Self.lastError())")
            #expect(done == 0)
            for index in 0..<2 {
                #expect(Self.put(writer, index, try fixture.group(index, skipped: built.skipped)) == 0, "\(Self.lastError())")
            }
            dg_writer_abort(writer)
            #expect(!WritableFile.exists(path) && WritableFile.exists(path + ".partial.journal"))

            #expect(dg_writer_open(path, fixture.schemaJSON, fixture.rowsDigest, &writer, &done) == 0, "\(Self.lastError())")
            #expect(done == 2)
            for index in Int(done)..<6 {
                #expect(Self.put(writer, index, try fixture.group(index, skipped: built.skipped)) == 0, "\(Self.lastError())")
            }
            #expect(Self.finish(writer, ids: ids, classes: classes) == 0, "\(Self.lastError())")
            #expect(try FileIO.readAll(path) == FileIO.readAll(reference))
            #expect(!WritableFile.exists(path + ".partial") && !WritableFile.exists(path + ".partial.journal"))
        }
    }

    @Test("a group out of order or whose buffers do not fit the schema is refused with an argument error, and nothing is written")
    func groupsThatDoNotFitAreRefused() throws {
        try Self.withDirectory { directory in
            let fixture = try Fixture()
            let path = directory + "/capi.dgcache"
            var writer: OpaquePointer?
            var done: Int64 = -1
            #expect(dg_writer_open(path, fixture.schemaJSON, fixture.rowsDigest, &writer, &done) == 0, "\(Self.lastError())")
            defer { dg_writer_abort(writer) }
            #expect(Self.put(writer, 2, try fixture.group(2, skipped: [])) == Status.argument)
            #expect(Self.lastError().contains("group 2 given where group 0"))
            var short = try fixture.group(0, skipped: [])
            short.columns[0].removeLast(4)
            #expect(Self.put(writer, 0, short) == Status.argument)
            #expect(Self.lastError().contains("column 'data0'"))
            var wrongLengths = try fixture.group(0, skipped: [])
            wrongLengths.lengths[1]![0] += 1
            #expect(Self.put(writer, 0, wrongLengths) == Status.argument)
            #expect(Self.lastError().contains("column 'data1'"))
            #expect(Self.put(writer, 0, try fixture.group(0, skipped: [])) == 0, "\(Self.lastError())")
        }
    }

    @Test("a group whose rows are all skipped needs no buffers nor lengths, and gives a valid cache listing them")
    func aGroupOfSkippedRowsNeedsNoBuffers() throws {
        try Self.withDirectory { directory in
            let path = directory + "/skipped.dgcache"
            let schema = "{\"columns\": [{\"name\": \"tokens\", \"dtype\": \"int32\", \"shape\": [], "
                + "\"variable_length\": true, \"encoder\": \"tok@1\"}], \"records\": 2, \"on_error\": \"skip\"}"
            var writer: OpaquePointer?
            var done: Int64 = -1
            #expect(dg_writer_open(path, schema, "digest", &writer, &done) == 0, "\(Self.lastError())")
            let buffers: [UnsafeRawPointer?] = [nil]
            let sizes: [Int64] = [0]
            let skipped = "[{\"row\": 0, \"id\": null, \"reason\": \"empty\"}, {\"row\": 1, \"reason\": \"empty too\"}]"
            #expect(dg_writer_put_group(writer, 0, buffers, sizes, nil, skipped) == 0, "\(Self.lastError())")
            #expect(dg_writer_finish(writer, nil, nil, nil) == 0, "\(Self.lastError())")
            let cache = try CacheFile(path: path)
            #expect(cache.rowCount == 0)
            #expect(cache.skipped == [SkippedRecord(row: 0, id: nil, reason: "empty"), SkippedRecord(row: 1, id: nil, reason: "empty too")])
            #expect(cache.fingerprint == CacheFingerprint(rowsDigest: "digest", columns: [
                ColumnPlan(name: "tokens", role: .data, spec: .variableLength(.int32), codec: .lz4, encoderIdentity: "tok@1")]))
        }
    }

    @Test("a second writer of the same cache is refused while the first holds its lock, and a bad schema names its fault")
    func aSecondWriterAndABadSchemaAreRefused() throws {
        try Self.withDirectory { directory in
            let fixture = try Fixture()
            let path = directory + "/capi.dgcache"
            var first: OpaquePointer?
            var second: OpaquePointer?
            var done: Int64 = -1
            #expect(dg_writer_open(path, fixture.schemaJSON, fixture.rowsDigest, &first, &done) == 0, "\(Self.lastError())")
            #expect(dg_writer_open(path, fixture.schemaJSON, fixture.rowsDigest, &second, &done) == Status.cache)
            #expect(Self.lastError().contains("lock") || Self.lastError().contains("another"), "\(Self.lastError())")
            dg_writer_abort(first)
            let badDType = fixture.schemaJSON.replacingFirst("\"float32\"", with: "\"float33\"")
            #expect(dg_writer_open(path, badDType, fixture.rowsDigest, &second, &done) == Status.argument)
            #expect(Self.lastError().contains("unknown dtype 'float33'"))
            #expect(dg_writer_finish(nil, nil, nil, nil) == Status.argument)
        }
    }
}

/// `text` as a JSON string literal.
func json(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            if scalar.value < 0x20 {
                out += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

extension String {
    /// The string with zeros put before it up to `width` characters.
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }

    /// The string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return self[..<range.lowerBound] + replacement + self[range.upperBound...]
    }
}
