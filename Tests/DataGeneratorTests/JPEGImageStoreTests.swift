import Testing
@testable import DataGenerator

/// `--image-store jpeg`: which images keep their own bytes and which are re-encoded, the
/// version-3 column that holds them, and the pixels served from it.
@Suite struct JPEGImageStoreTests {
    static func file(_ name: String) throws -> [UInt8] { try ImageDecoderTests.file(name) }

    /// A smooth, photo-like `height × width × channels` image (gradients and a ripple).
    static func photo(height: Int, width: Int, channels: Int = 3, seed: Int = 0) -> [UInt8] {
        var pixels = [UInt8]()
        pixels.reserveCapacity(height * width * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    let ripple = ((x * 7 + y * 3 + seed * 11) % 40) - 20
                    pixels.append(UInt8(clamping: (x * 255 / max(1, width - 1) + y * (c + 1) * 3 + ripple + seed * 17) % 256))
                }
            }
        }
        return pixels
    }

    /// A baseline JPEG of ``photo(height:width:channels:seed:)``.
    static func jpeg(height: Int, width: Int, channels: Int = 3, seed: Int = 0, quality: Int = 85) throws -> [UInt8] {
        try JPEGImageStore.compress(photo(height: height, width: width, channels: channels, seed: seed),
                                    height: height, width: width, channels: channels, quality: quality)
    }

    @Test func aJPEGThatAlreadyFitsIsKeptAsItsOwnBytes() throws {
        let bytes = try Self.file("photo.jpg")
        let stored = try JPEGImageStore().store(bytes)
        #expect(stored.wasKept)
        #expect(stored.bytes == bytes)
        #expect((stored.height, stored.width) == (12, 16))
        // A grey JPEG fits 3 channels too: the decoder replicates grey, as the pixels store does.
        let grey = try Self.jpeg(height: 20, width: 30, channels: 1)
        #expect(try JPEGImageStore().store(grey).wasKept)
        #expect(try JPEGImageStore(decoder: ImageDecoder(channels: 1)).store(grey).wasKept)
    }

    /// The store proves a kept file whole by a decode at 1/8 scale: every damage the pixels
    /// store's full decode refuses, it refuses too, and a file over `--max-pixels` is refused
    /// from its header.
    @Test func aDamagedJPEGThatWouldBeKeptIsRefusedAsTheFullDecodeRefusesIt() throws {
        let whole = try Self.jpeg(height: 96, width: 128, seed: 3)
        #expect(try JPEGImageStore().store(whole).wasKept)
        // Truncated inside the scan, at several points; and the scan's bytes overwritten.
        var damaged = [60, 45, 30].map { Array(whole.prefix(whole.count * $0 / 100)) }
        var scrambled = whole
        for offset in stride(from: whole.count / 2, to: whole.count - 2, by: 5) { scrambled[offset] = 0xFF }
        damaged.append(scrambled)
        for bytes in damaged {
            #expect(throws: ImageDecodingError.self) { _ = try ImageDecoder().decodePixels(bytes) }
            #expect(throws: ImageDecodingError.self) { _ = try JPEGImageStore().store(bytes) }
        }
        let limited = JPEGImageStore(decoder: ImageDecoder(maxPixels: 96 * 128 - 1))
        #expect(throws: ImageDecodingError.tooManyPixels(width: 128, height: 96, limit: 96 * 128 - 1)) { _ = try limited.store(whole) }
    }

    @Test func aProgressiveJPEGIsRewrittenAsBaselineWithTheSamePixels() throws {
        let bytes = try Self.file("progressive.jpg")
        #expect(JPEGImageStore.probe(bytes)?.progressive == true)
        let stored = try JPEGImageStore().store(bytes)
        #expect(stored.wasKept && stored.wasTranscoded && stored.bytes != bytes)
        #expect(JPEGImageStore.probe(stored.bytes)?.progressive == false)
        #expect(try ImageDecoder().decodePixels(stored.bytes) == ImageDecoder().decodePixels(bytes))
        #expect(try !JPEGImageStore().store(Self.file("photo.jpg")).wasTranscoded)  // a baseline file keeps its bytes
    }

    @Test func pngsRotatedOversizedAndColourUnderOneChannelAreReencoded() throws {
        let png = try JPEGImageStore().store(try Self.file("known.png"))
        #expect(!png.wasKept && ImageFormat.recognise(png.bytes) == .jpeg && (png.height, png.width) == (2, 4))
        let rotated = try JPEGImageStore().store(try Self.file("rotated-6.jpg"))
        #expect(!rotated.wasKept && (rotated.height, rotated.width) == (16, 12))  // orientation 6 turns it
        #expect(ExifOrientation.of(jpeg: rotated.bytes) == 1)
        let large = try JPEGImageStore(decoder: ImageDecoder(maxSide: 8)).store(try Self.file("photo.jpg"))
        #expect(!large.wasKept && (large.height, large.width) == (6, 8))
        let grey = try JPEGImageStore(decoder: ImageDecoder(channels: 1)).store(try Self.file("photo.jpg"))
        #expect(!grey.wasKept)
        var layout = try #require(JPEGImageStore.probe(grey.bytes))
        #expect(layout.channels == 1)
        // The quality is the one asked for: a lower quality gives fewer bytes.
        let big = try Self.jpeg(height: 64, width: 96).map { $0 }
        let q95 = try JPEGImageStore(decoder: ImageDecoder(maxSide: 48), quality: 95).store(big)
        let q40 = try JPEGImageStore(decoder: ImageDecoder(maxSide: 48), quality: 40).store(big)
        #expect(q40.bytes.count < q95.bytes.count)
        layout = try #require(JPEGImageStore.probe(q95.bytes))
        #expect(layout.channels == 3 && !layout.progressive)
    }

    @Test func theSamePixelsAlwaysGiveTheSameJPEGBytes() throws {
        let pixels = Self.photo(height: 33, width: 47)
        let first = try JPEGImageStore.compress(pixels, height: 33, width: 47, channels: 3, quality: 90)
        let second = try JPEGImageStore.compress(pixels, height: 33, width: 47, channels: 3, quality: 90)
        #expect(first == second)
    }

    @Test func aBadFileIsRefusedAsThePixelsStoreRefusesIt() throws {
        let cut = Array(try Self.file("photo.jpg").prefix(300))
        #expect(throws: ImageDecodingError.self) { try JPEGImageStore().store(cut) }
        #expect(throws: ImageDecodingError.self) { try JPEGImageStore().store(Array("hello".utf8)) }
    }

    /// A data set of `files` through the jpeg store (or the pixels store when `jpeg` is false).
    static func dataSet(in directory: String, files: [(String, [UInt8])], jpeg: Bool,
                        decoder: ImageDecoder = ImageDecoder()) throws -> GeneratorDataSet {
        for (name, bytes) in files { try FileIO.write(bytes, to: directory + "/" + name) }
        let inventory = try Inventory(records: files.map { ["id": $0.0] }, columns: ["id"])
        guard jpeg else { return try ImageDecoderTests.dataSet(in: directory, files: files) }
        let store = JPEGImageStore(decoder: decoder)
        var encoder = FileDataEncoder(directory: directory, identity: store.identity, output: store.outputSpec) {
            try store.encode($0)
        }
        encoder.columnEncoding = .jpeg
        return GeneratorDataSet(inventory: inventory, dataEncoder: encoder)
    }

    static func files() throws -> [(String, [UInt8])] {
        [("photo.jpg", try file("photo.jpg")), ("known.png", try file("known.png")),
         ("rotated.jpg", try file("rotated-6.jpg")), ("grey.jpg", try jpeg(height: 9, width: 21, channels: 1)),
         ("large.jpg", try jpeg(height: 40, width: 30, seed: 3))]
    }

    @Test func aJPEGStoreCacheIsVersion3WithAJPEGColumnAndServesTheDecodedPixels() throws {
        try CacheFixtures.withDirectory { directory in
            let files = try Self.files()
            let jpegSet = try Self.dataSet(in: directory, files: files, jpeg: true)
            let (cache, _) = try CacheFixtures.build(jpegSet, in: directory, name: "jpeg.dgcache")
            let pixelsSet = try Self.dataSet(in: directory, files: files, jpeg: false)
            let (pixels, _) = try CacheFixtures.build(pixelsSet, in: directory, name: "pixels.dgcache")
            #expect(cache.formatVersion == 3)
            #expect(pixels.formatVersion == 2)
            #expect(cache.columns[0].encoding == .jpeg && cache.columns[0].codec == .none)
            #expect(cache.columns[0].spec == ImageDecoder().outputSpec)
            let rows = Array(0..<files.count)
            #expect(try cache.rowShapes(column: "data", rows: rows) == pixels.rowShapes(column: "data", rows: rows))
            // The stored bytes of a kept JPEG are the file's.
            #expect(try cache.gatherVariable(column: "data", rows: [0]).bytes == files[0].1)
            for row in rows {
                let served = try cache.array(column: "data", row: row)
                let reference = try pixels.array(column: "data", row: row)
                #expect(served.shape == reference.shape)
                if ["photo.jpg", "grey.jpg", "large.jpg"].contains(files[row].0) {
                    #expect(served.bytes == reference.bytes, "row \(row): a kept JPEG serves the pixels store's bytes")
                } else if files[row].0 == "rotated.jpg" {  // (4 × 2 saturated PNG pixels lose their chroma at 4:2:0)
                    let difference = zip(served.bytes, reference.bytes).map { abs(Int($0) - Int($1)) }.reduce(0, +)
                    #expect(Double(difference) / Double(served.bytes.count) < 12, "row \(row): a re-encoding stays close")
                }
            }
            let verification = try cache.verify()
            #expect(verification.unitsChecked == files.count)
        }
    }

    @Test func batchesOfAJPEGColumnArePaddedWithTheirShapesBeside() throws {
        try CacheFixtures.withDirectory { directory in
            let files = try Self.files()
            let (cache, _) = try CacheFixtures.build(try Self.dataSet(in: directory, files: files, jpeg: true), in: directory)
            let served = CachedDataSet(cache: cache)
            let batches = try served.batches(BatchOptions(batchSize: 5, epochs: 1, workers: 2))
            let batch = try #require(try batches.next())
            #expect(batch.data.shape == [5, 40, 30, 3])
            let shapes = try #require(batch.shapes[0])
            #expect(shapes == [[12, 16, 3], [2, 4, 3], [16, 12, 3], [9, 21, 3], [40, 30, 3]])
            // Row 1 (known.png, 2 × 4) lies top left in its slot, zeros around it.
            let slot = 40 * 30 * 3
            let row1 = Array(batch.data.bytes[slot..<(2 * slot)])
            let decoded = try cache.array(column: "data", row: 1).bytes
            #expect(Array(row1[0..<12]) == Array(decoded[0..<12]))
            #expect(Array(row1[(30 * 3)..<(30 * 3 + 12)]) == Array(decoded[12..<24]))
            #expect(row1[12..<(30 * 3)].allSatisfy { $0 == 0 } && row1[(2 * 30 * 3)...].allSatisfy { $0 == 0 })
        }
    }

    /// An encoder whose "JPEG" is cut 40 bytes into its scan: the build accepts it (it reads headers
    /// only), so that serving and verifying meet damaged stored bytes whose CRC is right.
    struct CutJPEGEncoder: DataEncoder {
        let bytes: [UInt8]
        var identity: String { "cut-jpeg@1" }
        var outputSpec: ArraySpec { ImageDecoder().outputSpec }
        var columnEncoding: CacheColumnEncoding { .jpeg }
        func encode(_ record: Record) throws -> NDArray {
            record.row == 1 ? NDArray(Array(bytes.prefix(Self.scanStart(of: bytes) + 40))) : NDArray(bytes)
        }

        /// The offset of the first byte of entropy-coded data: just past the start-of-scan
        /// segment (FF DA, then its big-endian length).
        static func scanStart(of jpeg: [UInt8]) -> Int {
            var offset = 2  // past FF D8
            while offset + 4 <= jpeg.count, jpeg[offset] == 0xFF {
                let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
                if jpeg[offset + 1] == 0xDA { return offset + 2 + length }
                offset += 2 + length
            }
            return jpeg.count
        }
    }

    @Test func aStoredJPEGThatDoesNotDecodeIsAnErrorNamingRowIdAndColumn() throws {
        try CacheFixtures.withDirectory { directory in
            let encoder = CutJPEGEncoder(bytes: try Self.jpeg(height: 40, width: 60))
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(3), [encoder])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
            #expect(try cache.array(column: "data", row: 0).shape == [40, 60, 3])
            for body in [{ _ = try cache.array(column: "data", row: 1) }, { _ = try cache.verify() }] {
                guard case let .corrupt(_, column, row, reason)? = CacheFixtures.cacheError(body) else {
                    Issue.record("expected corrupt")
                    continue
                }
                #expect(column == "data" && row == 1)
                #expect(reason.contains("id 'r1'") && reason.contains("truncated"), "\(reason)")
            }
        }
    }

    @Test func aPixelsStoreCacheKeepsVersion2AndNoEncodingKey() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.dataSet(in: directory, files: try Self.files(), jpeg: false)
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
            #expect(cache.formatVersion == 2 && cache.columns[0].encoding == .plain)
            let bytes = try CacheFixtures.bytes(directory + "/test.dgcache")
            #expect(!String(decoding: bytes.suffix(4096), as: UTF8.self).contains("\"encoding\""))
        }
    }

    @Test func aJPEGStoreHoldsPhotosInFewerBytesThanThePixelsStore() throws {
        try CacheFixtures.withDirectory { directory in
            let files = try (0..<6).map { ("p\($0).jpg", try Self.jpeg(height: 120, width: 160, seed: $0, quality: 90)) }
            let (jpeg, _) = try CacheFixtures.build(try Self.dataSet(in: directory, files: files, jpeg: true),
                                                    in: directory, name: "jpeg.dgcache")
            let (pixels, _) = try CacheFixtures.build(try Self.dataSet(in: directory, files: files, jpeg: false),
                                                      in: directory, name: "pixels.dgcache")
            #expect(jpeg.columns[0].storedBytes == UInt64(files.map(\.1.count).reduce(0, +)))
            #expect(jpeg.columns[0].storedBytes * 3 < pixels.columns[0].storedBytes,
                    "jpeg \(jpeg.columns[0].storedBytes) bytes, pixels \(pixels.columns[0].storedBytes)")
        }
    }

    @Test func aStoppedJPEGStoreBuildResumesFromItsJournalToTheSameBytes() throws {
        try CacheFixtures.withDirectory { directory in
            var files = try (0..<8).map { ("p\($0).jpg", try Self.jpeg(height: 20 + $0, width: 30, seed: $0)) }
            let good = files[5].1
            files[5].1 = Array(good.prefix(good.count / 2))  // a cut JPEG stops the build at row 5
            let options = CacheBuildOptions(workers: 2, rowsPerGroup: 2)
            let path = directory + "/jpeg.dgcache"
            let dataSet = try Self.dataSet(in: directory, files: files, jpeg: true)
            guard case .recordFailed(5, _, _, _, _)? = CacheFixtures.cacheError({
                _ = try CacheBuilder(dataSet: dataSet, output: path, options: options).build()
            }) else {
                Issue.record("expected the build to stop at row 5")
                return
            }
            try FileIO.write(good, to: directory + "/p5.jpg")
            let report = try CacheBuilder(dataSet: dataSet, output: path, options: options).build()
            #expect(report.resumedRecords == 4)  // groups 0 and 1 replayed from the journal
            try CacheFixtures.build(dataSet, in: directory, name: "whole.dgcache", options: options)
            #expect(try CacheFixtures.bytes(path) == CacheFixtures.bytes(directory + "/whole.dgcache"))
        }
    }
}
