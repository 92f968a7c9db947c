import Testing
@testable import DataGenerator

/// `--data image`: JPEG and PNG decoding, EXIF orientation, bad files refused before any large
/// allocation, and images stored and served with their own shapes. (Pixel equality with Pillow
/// for every kind is python/tests/test_images.py.)
@Suite struct ImageDecoderTests {
    static let images = Fixtures.resources + "/images"

    static func file(_ name: String) throws -> [UInt8] { try FileIO.readAll(images + "/" + name) }

    /// The 4 × 2 pixels of `known.png` (tools/make-image-fixtures.py).
    static let knownPixels: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255,
                                       0, 0, 0, 128, 128, 128, 255, 255, 0, 0, 255, 255]

    /// A PNG chunk: length, type, body, CRC-32 of type and body.
    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let kind = Array(type.utf8)
        let crc = CRC32.checksum(kind + body)
        return bigEndian(UInt32(body.count)) + kind + body + bigEndian(crc)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }

    /// A PNG whose header declares `width` × `height` RGB pixels and holds a few bytes of data.
    static func pngDeclaring(width: UInt32, height: UInt32) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01])
            + chunk("IEND", [])
    }

    func decodingError(_ bytes: [UInt8], _ decoder: ImageDecoder = ImageDecoder()) -> ImageDecodingError? {
        do {
            _ = try decoder.decodePixels(bytes)
            Issue.record("expected an ImageDecodingError, the bytes decoded")
        } catch {
            return error
        }
        return nil
    }

    @Test func aPNGDecodesToItsExactRGBPixels() throws {
        let image = try ImageDecoder().decodePixels(try Self.file("known.png"))
        #expect(image.height == 2 && image.width == 4)
        #expect(image.pixels == Self.knownPixels)
    }

    @Test func aFileIsRecognisedByItsBytesNotItsExtension() throws {
        let image = try ImageDecoder().decodePixels(try Self.file("png-named.jpg"))
        #expect(image.pixels == Self.knownPixels)
        #expect(ImageFormat.recognise(try Self.file("png-named.jpg")) == .png)
        #expect(ImageFormat.recognise(try Self.file("photo.jpg")) == .jpeg)
    }

    @Test func oneChannelIsPillowsGreyConversion() throws {
        let image = try ImageDecoder(channels: 1).decodePixels(try Self.file("known.png"))
        let expected = stride(from: 0, to: Self.knownPixels.count, by: 3).map { i in
            let (r, g, b) = (Int(Self.knownPixels[i]), Int(Self.knownPixels[i + 1]), Int(Self.knownPixels[i + 2]))
            return UInt8((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16)
        }
        #expect(image.pixels == expected)
        #expect(expected == [76, 150, 29, 255, 0, 128, 226, 179])
    }

    @Test func anEXIFOrientationOfSixRotatesTheImageClockwise() throws {
        let upright = try ImageDecoder().decodePixels(try Self.file("photo.jpg"))
        let rotated = try ImageDecoder().decodePixels(try Self.file("rotated-6.jpg"))
        #expect(ExifOrientation.of(jpeg: try Self.file("rotated-6.jpg")) == 6)
        #expect(ExifOrientation.of(jpeg: try Self.file("photo.jpg")) == 1)
        #expect((rotated.height, rotated.width) == (upright.width, upright.height))
        // Top-left of the rotated image is the bottom-left of the upright one.
        #expect(Array(rotated.pixels[0..<3]) == Array(upright.pixels[((upright.height - 1) * upright.width * 3)...].prefix(3)))
        #expect(rotated.pixels == ExifOrientation.apply(6, to: upright.pixels, height: upright.height,
                                                        width: upright.width, channels: 3))
    }

    @Test func aPNGsEXIfChunkTurnsItToo() throws {
        let png = try Self.file("known.png")
        // Big-endian TIFF, IFD0 at 8 with one entry: orientation (0x0112) SHORT 8.
        let tiff: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0]
        let withExif = Array(png[0..<33]) + Self.chunk("eXIf", tiff) + Array(png[33...])  // after IHDR
        #expect(ExifOrientation.of(png: withExif) == 8)
        let image = try ImageDecoder().decodePixels(withExif)
        #expect((image.height, image.width) == (4, 2))
        #expect(image.pixels == ExifOrientation.apply(8, to: Self.knownPixels, height: 2, width: 4, channels: 3))
        var lying = withExif
        lying[33...36] = [0x7F, 0xFF, 0xFF, 0xFF]  // the eXIf chunk's length runs past the file
        #expect(ExifOrientation.of(png: lying) == 1)
    }

    @Test func everyOrientationMapsAsPillowsExifTranspose() {
        // 2 × 3 image, one channel: 0 1 2 / 3 4 5.
        let pixels: [UInt8] = [0, 1, 2, 3, 4, 5]
        let expected: [Int: [UInt8]] = [
            1: [0, 1, 2, 3, 4, 5], 2: [2, 1, 0, 5, 4, 3], 3: [5, 4, 3, 2, 1, 0], 4: [3, 4, 5, 0, 1, 2],
            5: [0, 3, 1, 4, 2, 5], 6: [3, 0, 4, 1, 5, 2], 7: [5, 2, 4, 1, 3, 0], 8: [2, 5, 1, 4, 0, 3],
        ]
        for (orientation, result) in expected {
            #expect(ExifOrientation.apply(orientation, to: pixels, height: 2, width: 3, channels: 1) == result,
                    "orientation \(orientation)")
        }
    }

    @Test func aHostileEXIFBlockGivesTheStoredOrientation() {
        func jpeg(app1 tiff: [UInt8]) -> [UInt8] {
            let body = Array("Exif".utf8) + [0, 0] + tiff
            let length = body.count + 2
            return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 255)] + body + [0xFF, 0xD9]
        }
        // Big-endian TIFF, IFD0 at 8 with one entry: orientation (0x0112) SHORT 8.
        let valid: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0]
        #expect(ExifOrientation.of(jpeg: jpeg(app1: valid)) == 8)
        var farOffset = valid
        farOffset[4...7] = [0x7F, 0xFF, 0xFF, 0xF0]  // IFD0 far beyond the segment
        #expect(ExifOrientation.of(jpeg: jpeg(app1: farOffset)) == 1)
        var manyEntries = valid
        manyEntries[8...9] = [0xFF, 0xFF]  // 65,535 entries in 22 bytes, none the orientation
        manyEntries[10...11] = [0x01, 0x13]
        #expect(ExifOrientation.of(jpeg: jpeg(app1: manyEntries)) == 1)
        var outOfRange = valid
        outOfRange[19] = 9
        #expect(ExifOrientation.of(jpeg: jpeg(app1: outOfRange)) == 1)
        // A segment length running past the end of the file.
        #expect(ExifOrientation.of(jpeg: [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 0x45]) == 1)
    }

    @Test func emptyAndForeignFilesAreNotImages() {
        #expect(decodingError([]) == .empty)
        #expect(decodingError(Array("1 2 3\n".utf8)) == .notAnImage(firstBytes: Array("1 2 3\n".utf8)))
        #expect(decodingError(Array("1 2 3\n".utf8))?.description.contains("not a JPEG or PNG image") == true)
    }

    @Test func aTruncatedJPEGIsAnErrorNeverHalfAnImage() throws {
        let photo = try Self.file("photo.jpg")
        for cut in [photo.count / 2, photo.count - 2, 200] {
            guard case let .corrupt(format, reason)? = decodingError(Array(photo.prefix(cut))) else {
                Issue.record("a JPEG cut at \(cut) bytes decoded or failed otherwise")
                continue
            }
            #expect(format == .jpeg)
            #expect(!reason.isEmpty)
        }
        guard case let .corrupt(_, reason)? = decodingError(Array(photo.prefix(photo.count / 2))) else { return }
        #expect(reason.contains("truncated"), "\(reason)")
        // Cut, then an end-of-image marker: libjpeg would fill the rest with grey.
        guard case let .corrupt(_, marked)? = decodingError(Array(photo.prefix(photo.count / 2)) + [0xFF, 0xD9]) else {
            Issue.record("a cut JPEG ending in EOI decoded")
            return
        }
        #expect(marked.contains("truncated"), "\(marked)")
    }

    @Test func aPNGWithABadCRCOrCutShortIsCorrupt() throws {
        var png = try Self.file("known.png")
        let idat = (0..<(png.count - 4)).first { Array(png[$0..<($0 + 4)]) == Array("IDAT".utf8) }!
        let length = png[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }
        png[idat + 4 + length] ^= 0x01  // the chunk's stored CRC no longer matches its bytes
        guard case let .corrupt(format, reason)? = decodingError(png) else {
            Issue.record("a PNG with a bad CRC decoded")
            return
        }
        #expect(format == .png)
        #expect(reason.lowercased().contains("crc"), "\(reason)")
        let original = try Self.file("known.png")
        guard case .corrupt(.png, _)? = decodingError(Array(original.prefix(original.count - 20))) else {
            Issue.record("a truncated PNG decoded")
            return
        }
    }

    /// Found by FuzzImageDecoders: a 71-byte PNG whose eXIf chunk claims 1.5 GB made libpng
    /// allocate that much while reading the header (libFuzzer's malloc limit reported it). Chunks
    /// are now capped at the file's size (8 MiB at least), and the file is refused as corrupt.
    @Test func aChunkClaimingMoreThanTheFileIsRefusedNotAllocated() throws {
        let bytes = try Self.file("regressions/png-exif-chunk-claims-1.5GB.png")
        #expect(bytes.count < 100)
        guard case .corrupt(.png, _)? = decodingError(bytes) else {
            Issue.record("the PNG decoded or failed otherwise")
            return
        }
        #expect(ExifOrientation.of(png: bytes) == 1)
    }

    @Test func aHeaderClaimingTooManyPixelsIsRefusedBeforeDecoding() {
        // 100,000 × 100,000 RGB would be 30 GB: refused from the header.
        let huge = Self.pngDeclaring(width: 100_000, height: 100_000)
        #expect(decodingError(huge) == .tooManyPixels(width: 100_000, height: 100_000, limit: ImageDecoder.defaultMaxPixels))
        #expect(decodingError(Self.pngDeclaring(width: 30, height: 20), ImageDecoder(maxPixels: 599))
                == .tooManyPixels(width: 30, height: 20, limit: 599))
        #expect(decodingError(huge)?.description.contains("--max-pixels") == true)
    }

    @Test func maxSideShrinksTheLongerSideKeepingTheAspect() throws {
        #expect(ImageResampler.fittedSize(height: 375, width: 500, maxSide: 256) == (192, 256))
        #expect(ImageResampler.fittedSize(height: 500, width: 3, maxSide: 100) == (100, 1))
        #expect(ImageResampler.fittedSize(height: 20, width: 10, maxSide: 64) == (20, 10))
        let photo = try ImageDecoder(maxSide: 8).decodePixels(try Self.file("photo.jpg"))
        #expect((photo.height, photo.width) == (6, 8))
        // A flat image stays flat through the antialiased filter.
        let flat = [UInt8](repeating: 77, count: 9 * 13 * 3)
        #expect(ImageResampler.resize(flat, height: 9, width: 13, channels: 3, toHeight: 4, width: 5)
                == [UInt8](repeating: 77, count: 4 * 5 * 3))
    }

    /// A data set over the fixture images plus bad files, through the image decoder.
    static func dataSet(in directory: String, files: [(String, [UInt8])]) throws -> GeneratorDataSet {
        for (name, bytes) in files { try FileIO.write(bytes, to: directory + "/" + name) }
        let inventory = try Inventory(records: files.map { ["id": $0.0] }, columns: ["id"])
        let decoder = ImageDecoder()
        let encoder = FileDataEncoder(directory: directory, identity: decoder.identity, output: decoder.outputSpec) {
            try decoder.decode($0)
        }
        return GeneratorDataSet(inventory: inventory, dataEncoder: encoder)
    }

    @Test func aBadImageStopsTheBuildNamingRowIdPathAndReason() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.dataSet(in: directory, files: [
                ("a.png", try Self.file("known.png")),
                ("cut.jpg", Array(try Self.file("photo.jpg").prefix(300))),
            ])
            let error = CacheFixtures.cacheError {
                _ = try CacheBuilder(dataSet: dataSet, output: directory + "/out.dgcache").build()
            }
            guard case let .recordFailed(row, id, path, reason, _)? = error else {
                Issue.record("expected recordFailed, got \(String(describing: error))")
                return
            }
            #expect(row == 1)
            #expect(id == "cut.jpg")
            #expect(path == directory + "/cut.jpg")
            #expect(reason.contains("corrupt JPEG"), "\(reason)")
        }
    }

    @Test func skippedImagesAreListedAndTheRestKeepTheirShapes() throws {
        try CacheFixtures.withDirectory { directory in
            let dataSet = try Self.dataSet(in: directory, files: [
                ("known.png", try Self.file("known.png")),
                ("empty.jpg", []),
                ("rotated.jpg", try Self.file("rotated-6.jpg")),
                ("text.png", Array("hello".utf8)),
                ("huge.png", Self.pngDeclaring(width: 100_000, height: 100_000)),
            ])
            let path = directory + "/out.dgcache"
            _ = try CacheBuilder(dataSet: dataSet, output: path, options: CacheBuildOptions(onError: .skip)).build()
            let cache = try CacheFile(path: path)
            #expect(cache.formatVersion == CacheFormat.variableShapeVersion)
            #expect(cache.skipped.map(\.row) == [1, 3, 4])
            #expect(cache.skipped.map(\.id) == ["empty.jpg", "text.png", "huge.png"])
            #expect(cache.skipped[2].reason.contains("100000×100000"), "\(cache.skipped[2].reason)")
            #expect(try cache.rowShapes(column: "data", rows: [0, 1]) == [[2, 4, 3], [16, 12, 3]])
            #expect(try cache.array(column: "data", row: 0).bytes == Self.knownPixels)
            #expect(cache.columns[0].spec == ImageDecoder().outputSpec)
            _ = try cache.verify()

            let served = CachedDataSet(cache: cache)
            let batch = try #require(try served.batches(BatchOptions(batchSize: 2, epochs: 1)).next())
            #expect(batch.data.shape == [2, 16, 12, 3])
            #expect(batch.shapes[0] == [[2, 4, 3], [16, 12, 3]])
            // The small image sits at the top left of its padded slot, zeros around it.
            let slot = Array(batch.data.bytes[0..<(16 * 12 * 3)])
            #expect(Array(slot[0..<12]) == Array(Self.knownPixels[0..<12]))
            #expect(Array(slot[(12 * 3)..<(12 * 3 + 12)]) == Array(Self.knownPixels[12..<24]))
            #expect(slot[12..<(12 * 3)].allSatisfy { $0 == 0 } && slot[(3 * 12 * 3)...].allSatisfy { $0 == 0 })
        }
    }

    @Test func imageBuildsWorkInSmallRowGroupsSoWorkersHoldLittle() {
        let image = ColumnPlan(name: "data", role: .data, spec: ImageDecoder().outputSpec, codec: .lz4, encoderIdentity: "i")
        let label = ColumnPlan(name: "target", role: .target, spec: ArraySpec(.int64, []), codec: .lz4, encoderIdentity: "l")
        #expect(CacheWriterSchema.defaultRowsPerGroup([image, label]) == 32)
        #expect(CacheWriterSchema.defaultRowsPerGroup([label]) == 1024)
    }

    @Test func cachesWithoutImagesKeepFormatVersionOne() throws {
        try CacheFixtures.withDirectory { directory in
            let inventory = try Fixtures.seedInventory(size: 4)
            let dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: Fixtures.seedDataEncoder())
            let path = directory + "/plain.dgcache"
            _ = try CacheBuilder(dataSet: dataSet, output: path).build()
            let bytes = try FileIO.readAll(path)
            #expect(bytes[8] == 1 && bytes[bytes.count - 64 + 28] == 1)
            #expect(try CacheFile(path: path).formatVersion == 1)
        }
    }
}
