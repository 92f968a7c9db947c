import Testing
@testable import CDataGenerator
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// `dg_iterator_set_transform` and `dg_iterator_columns_json`: a transformed image column served
/// through the C API equals the Swift library's, by copy, in ring mode and after a seek.
@Suite("C API transforms")
struct TransformCAPITests {
    static let spec = "random-resized-crop(8),flip,normalize(imagenet),chw"

    /// 23 images of 9–21 × 10–27 × 3 pixels with labels.
    static func cache(in directory: String) throws -> String {
        let inventory = try Inventory(records: (0..<23).map { ["id": "i\($0)", "target": "c\($0 % 2)"] }, columns: ["id", "target"])
        let images = ClosureEncoder(identity: "capi-images@1", output: .variableShape(.uint8, rank: 3, fixed: [2: 3])) { record in
            let (h, w) = (9 + record.row % 13, 10 + (record.row * 5) % 18)
            return NDArray((0..<(h * w * 3)).map { UInt8(truncatingIfNeeded: $0 * 7 + record.row) }, shape: [h, w, 3])
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: [images], targetEncoder: RecordTargetEncoder.oneHot())
        try dataSet.fitEncoders()
        let path = directory + "/images.dgcache"
        _ = try dataSet.cached(at: path)
        return path
    }

    static func lastError() -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        _ = dg_last_error(&buffer, 1024)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func iterator(_ cache: OpaquePointer?, workers: Int32) -> OpaquePointer? {
        var iterator: OpaquePointer?
        #expect(dg_iterator_create(cache, nil, 0, 5, 1, 7, 0, 2, 0, 1, 0, workers, 0, &iterator) == 0)
        return iterator
    }

    @Test func aTransformedColumnIsServedWithOneShapeByCopyRingAndSeek() throws {
        var template = Array("/tmp/dg-capi-transform-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer {
            unlink(directory + "/images.dgcache")
            rmdir(directory)
        }
        let path = try Self.cache(in: directory)
        let reference = try CachedDataSet(path: path).transforming(input: 0, spec: Self.spec)
            .batches(BatchOptions(batchSize: 5, epochs: 2, truncate: false, order: .full, seed: 7)).collect()
        var cache: OpaquePointer?
        #expect(dg_open(path, 0, &cache) == 0)
        defer { dg_close(cache) }

        // A bad spec: the argument status and kind, the position in the message.
        let bad = Self.iterator(cache, workers: 0)
        #expect(dg_iterator_set_transform(bad, 0, "flip,,chw") == Status.argument)
        #expect(dg_last_error_kind() == Fault.argument)
        #expect(Self.lastError().contains("at character 6"), "\(Self.lastError())")
        #expect(dg_iterator_set_transform(bad, 1, Self.spec) == Status.argument)
        dg_iterator_free(bad)

        // By copy: the served shape is announced, then the batches equal the Swift ones.
        let copying = Self.iterator(cache, workers: 2)
        defer { dg_iterator_free(copying) }
        #expect(dg_iterator_set_transform(copying, 0, Self.spec) == Status.ok)
        var length: Int64 = 0
        var json = [CChar](repeating: 0, count: 2048)
        #expect(dg_iterator_columns_json(copying, &json, 2048, &length) == Status.ok)
        let text = String(decoding: json.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(text.contains("\"dtype\":\"float32\",\"shape\":[3,8,8],\"variable_length\":false"), "\(text)")
        #expect(text.contains("\"transform\":\"\(Self.spec)\""))
        let dataBytes = 5 * 3 * 8 * 8 * 4, targetBytes = 5 * 2 * 4
        let data = UnsafeMutableRawPointer.allocate(byteCount: dataBytes, alignment: 64)
        let targets = UnsafeMutableRawPointer.allocate(byteCount: targetBytes, alignment: 64)
        defer { data.deallocate(); targets.deallocate() }
        for batch in reference {
            var buffers: [UnsafeMutableRawPointer?] = [data, targets]
            let capacities: [Int64] = [Int64(dataBytes), Int64(targetBytes)]
            #expect(dg_iterator_fill(copying, &buffers, capacities, nil) == Status.ok)
            #expect(Array(UnsafeRawBufferPointer(start: data, count: batch.inputs[0].bytes.count)) == batch.inputs[0].bytes)
            // Too late to change the transform.
            #expect(dg_iterator_set_transform(copying, 0, "center-crop(4)") == Status.argument)
        }

        // A seek into the middle of an epoch gathers on the caller's thread: the same pixels.
        #expect(dg_iterator_seek(copying, 1, 2) == Status.ok)
        var buffers: [UnsafeMutableRawPointer?] = [data, targets]
        #expect(dg_iterator_fill(copying, &buffers, [Int64(dataBytes), Int64(targetBytes)], nil) == Status.ok)
        let sought = reference.first { $0.epoch == 1 && $0.index == 2 }!
        #expect(Array(UnsafeRawBufferPointer(start: data, count: sought.inputs[0].bytes.count)) == sought.inputs[0].bytes)

        // Ring mode: the workers write straight into the slots.
        let ringed = Self.iterator(cache, workers: 2)
        defer { dg_iterator_free(ringed) }
        #expect(dg_iterator_set_transform(ringed, 0, Self.spec) == Status.ok)
        let slotCount = 5
        let slotBuffers = (0..<slotCount).flatMap { _ in [UnsafeMutableRawPointer.allocate(byteCount: dataBytes, alignment: 64),
                                                          UnsafeMutableRawPointer.allocate(byteCount: targetBytes, alignment: 64)] }
        defer { for buffer in slotBuffers { buffer.deallocate() } }
        var pointers: [UnsafeMutableRawPointer?] = slotBuffers
        let capacities = (0..<slotCount).flatMap { _ in [Int64(dataBytes), Int64(targetBytes)] }
        #expect(dg_iterator_attach(ringed, Int32(slotCount), &pointers, capacities) == Status.ok, "\(Self.lastError())")
        for batch in reference {
            var slot: Int32 = -1
            var rows: Int64 = 0
            #expect(dg_iterator_next_slot(ringed, &slot, &rows) == Status.ok)
            #expect(rows == Int64(batch.rows.count))
            let buffer = slotBuffers[Int(slot) * 2]
            #expect(Array(UnsafeRawBufferPointer(start: buffer, count: batch.inputs[0].bytes.count)) == batch.inputs[0].bytes)
        }
    }
}
