import Testing
@testable import DataGenerator

/// Transforms over a JPEG-encoded column decode only the box they read, at the smallest DCT scale
/// that still leaves the resample shrinking, and serve what the same transform serves from the
/// pixels store (exactly at full scale, closely when scaled).
@Suite struct JPEGTransformTests {
    /// The same files as a jpeg store and a pixels store, each transformed by `spec`.
    static func served(_ files: [(String, [UInt8])], spec: String, seed: UInt64 = 7,
                       in directory: String) throws -> (jpeg: NDArray, pixels: NDArray) {
        let rows = Array(files.indices)
        var result = [NDArray]()
        for jpeg in [true, false] {
            let dataSet = try JPEGImageStoreTests.dataSet(in: directory, files: files, jpeg: jpeg)
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory, name: jpeg ? "jpeg.dgcache" : "pixels.dgcache")
            let served = try CachedDataSet(cache: cache).transforming(column: "data", with: try ImagePipeline(parsing: spec))
            result.append(try served.transformedRows(column: "data", rows: rows, seed: seed, epoch: 1))
        }
        return (result[0], result[1])
    }

    static func meanDifference(_ a: NDArray, _ b: NDArray) -> Double {
        Double(zip(a.bytes, b.bytes).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(max(1, a.bytes.count))
    }

    @Test func atFullScaleAKeptJPEGTransformsToThePixelsStoresOutput() throws {
        try CacheFixtures.withDirectory { directory in
            let files = try [("a.jpg", JPEGImageStoreTests.jpeg(height: 30, width: 40, seed: 1)),
                             ("b.jpg", JPEGImageStoreTests.jpeg(height: 45, width: 33, seed: 2)),
                             ("grey.jpg", JPEGImageStoreTests.jpeg(height: 28, width: 36, channels: 1, seed: 3))]
            for spec in ["resize-shorter(20),center-crop(16),flip", "random-resized-crop(12),flip", "center-crop(24)"] {
                let (jpeg, pixels) = try Self.served(files, spec: spec, in: directory)
                #expect(jpeg.shape == pixels.shape, "\(spec)")
                let largest = zip(jpeg.bytes, pixels.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 0
                #expect(largest <= 1, "\(spec): largest difference \(largest)")
            }
        }
    }

    @Test func aSmallTargetDecodesAtAReducedScaleAndStaysClose() throws {
        let box = ImageGeometry(x: ResampleAxis(sourceSize: 160, in0: 0, in1: 160, virtualSize: 40, windowStart: 5, count: 30),
                                y: ResampleAxis(sourceSize: 120, in0: 0, in1: 120, virtualSize: 30, windowStart: 0, count: 30),
                                mirrored: false)
        let plan = JPEGRegionPlan(geometry: box)
        #expect(plan.scaleNumerator == 2)  // 160 × 120 at 1/4 is 40 × 30: still not enlarged
        #expect(plan.columns.lowerBound > 0 && plan.columns.upperBound < 40 && plan.rows == 0..<30)
        try CacheFixtures.withDirectory { directory in
            let files = try (0..<3).map { ("p\($0).jpg", try JPEGImageStoreTests.jpeg(height: 120, width: 160, seed: $0, quality: 92)) }
            let (jpeg, pixels) = try Self.served(files, spec: "resize-shorter(30),center-crop(30)", in: directory)
            #expect(jpeg.shape == [3, 30, 30, 3])
            let mean = Self.meanDifference(jpeg, pixels)
            #expect(mean < 12, "mean absolute difference \(mean)")
            // A wrong box would be far off: the same output shifted by a row differs much more.
            let shifted = try NDArray(dtype: .uint8, shape: pixels.shape, bytes: Array(pixels.bytes.dropFirst(30 * 3)) + [UInt8](repeating: 0, count: 90))
            #expect(Self.meanDifference(jpeg, shifted) > mean)
        }
    }

    /// 131 × 97 images, wide enough for a crop's x offset to cross several iMCUs: colour 4:2:0,
    /// grey, colour 4:4:4.
    static func wideFiles() throws -> [(String, [UInt8])] {
        [("c420.jpg", try JPEGImageStoreTests.jpeg(height: 97, width: 131, seed: 4, quality: 90)),
         ("grey.jpg", try JPEGImageStoreTests.jpeg(height: 97, width: 131, channels: 1, seed: 5, quality: 90)),
         ("c444.jpg", try JPEGImageStoreTests.file("photo-444.jpg"))]
    }

    /// Row `row` of `cache` decoded whole at the DCT scale `scaleNumerator / 8`, as an image.
    static func wholeDecode(_ cache: CacheFile, row: Int, scaleNumerator: Int) throws -> (pixels: [UInt8], height: Int, width: Int) {
        let shape = try cache.rowShapes(column: "data", rows: [row])[0]
        let jpeg = try cache.gatherVariable(column: "data", rows: [row]).bytes
        let height = JPEGRegionDecoder.scaledSide(shape[0], scaleNumerator: scaleNumerator)
        let width = JPEGRegionDecoder.scaledSide(shape[1], scaleNumerator: scaleNumerator)
        var buffer = [UInt8](repeating: 0, count: JPEGRegionDecoder.capacity(columns: width, rows: height))
        let region = try jpeg.withUnsafeBytes { bytes in
            try buffer.withUnsafeMutableBytes {
                try JPEGRegionDecoder(channels: shape[2]).decode(bytes, columns: 0..<width, rows: 0..<height,
                                                                  scaleNumerator: scaleNumerator, into: $0)
            }
        }
        #expect((region.x, region.y, region.width, region.height) == (0, 0, width, height))
        return (Array(buffer.prefix(region.byteCount)), height, width)
    }

    /// What a transform reads of a JPEG-stored row, rendered from the whole image decoded at the
    /// same scale: the rows and columns the served decode wrote, cut from the whole decode
    /// (which must equal them), with the geometry moved into them, as ``ColumnTransformer``
    /// renders.
    static func rendered(_ cache: CacheFile, row: Int, pipeline: ImagePipeline, seed: UInt64,
                         epoch: Int) throws -> (shifted: [UInt8], unshifted: [UInt8], scaleNumerator: Int) {
        let shape = try cache.rowShapes(column: "data", rows: [row])[0]
        var draws = TransformRandom(seed: seed, epoch: epoch, key: try cache.augmentationKey(ofRow: row))
        let plan = JPEGRegionPlan(geometry: pipeline.geometry(height: shape[0], width: shape[1], draws: &draws))
        let whole = try wholeDecode(cache, row: row, scaleNumerator: plan.scaleNumerator)
        let jpeg = try cache.gatherVariable(column: "data", rows: [row]).bytes
        var buffer = [UInt8](repeating: 0, count: JPEGRegionDecoder.capacity(columns: plan.columns.count, rows: plan.rows.count))
        let region = try jpeg.withUnsafeBytes { bytes in
            try buffer.withUnsafeMutableBytes {
                try JPEGRegionDecoder(channels: shape[2]).decode(bytes, columns: plan.columns, rows: plan.rows,
                                                                  scaleNumerator: plan.scaleNumerator,
                                                                  expectedSize: (shape[0], shape[1]), into: $0)
            }
        }
        let box = ImageBox(x: region.x, y: region.y, width: region.width, height: region.height)
        let cut = JPEGRegionDecoderTests.crop(whole.pixels, width: whole.width, channels: shape[2], box: box)
        #expect(region.x <= plan.columns.lowerBound && plan.columns.upperBound <= region.x + region.width)
        // The columns the resample reads (not the margin around them: crop edges) are the whole decode's.
        let read = ImageBox(x: plan.columns.lowerBound - region.x, y: 0, width: plan.columns.count, height: region.height)
        let decodedRead = JPEGRegionDecoderTests.crop(Array(buffer.prefix(region.byteCount)), width: region.width, channels: shape[2], box: read)
        let wholeRead = JPEGRegionDecoderTests.crop(cut, width: region.width, channels: shape[2], box: read)
        let isWholeDecodes = decodedRead == wholeRead
        #expect(isWholeDecodes, "row \(row): the region's \(read) differs from the whole decode's (region \(box))")
        let output = TransformOutput(pipeline: pipeline, channels: shape[2])
        let rowBytes = pipeline.outputShape(channels: shape[2]).reduce(1, *) * (pipeline.outputDType == .float32 ? 4 : 1)
        func render(_ pixels: [UInt8], height: Int, width: Int, geometry: ImageGeometry) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: rowBytes)
            pixels.withUnsafeBytes { source in
                out.withUnsafeMutableBytes { target in
                    ImageTransformKernel.render(ImageSource(height: height, width: width, channels: shape[2], pixels: source.baseAddress!),
                                                geometry: geometry, output: output, scratch: TransformScratch(), into: target.baseAddress!)
                }
            }
            return out
        }
        return (render(cut, height: region.height, width: region.width, geometry: plan.geometry(regionX: region.x, regionWidth: region.width)),
                render(whole.pixels, height: whole.height, width: whole.width, geometry: plan.scaled), plan.scaleNumerator)
    }

    @Test(arguments: ["center-crop(48)", "center-crop(48),flip", "random-resized-crop(40)", "random-resized-crop(24,scale=0.6..1)",
                      "random-resized-crop(12),flip"])
    func aWideJPEGServesTheRegionOfItsWholeDecodeExactly(spec: String) throws {
        try CacheFixtures.withDirectory { directory in
            let files = try Self.wideFiles()
            let rows = Array(files.indices)
            let jpegSet = try JPEGImageStoreTests.dataSet(in: directory, files: files, jpeg: true)
            let (jpegCache, _) = try CacheFixtures.build(jpegSet, in: directory, name: "jpeg.dgcache")
            let (pixelsCache, _) = try CacheFixtures.build(try JPEGImageStoreTests.dataSet(in: directory, files: files, jpeg: false),
                                                           in: directory, name: "pixels.dgcache")
            let pipeline = try ImagePipeline(parsing: spec)
            let jpegServed = try CachedDataSet(cache: jpegCache).transforming(column: "data", with: pipeline)
            let pixelsServed = try CachedDataSet(cache: pixelsCache).transforming(column: "data", with: pipeline)
            for row in rows {  // kept JPEGs: the whole decode is the pixels store's image
                #expect(try Self.wholeDecode(jpegCache, row: row, scaleNumerator: 8).pixels == pixelsCache.array(column: "data", row: row).bytes)
            }
            var scales = Set<Int>()
            for seed: UInt64 in [0, 1, 2, 7, 11] {
                let jpeg = try jpegServed.transformedRows(column: "data", rows: rows, seed: seed, epoch: 1)
                let pixels = try pixelsServed.transformedRows(column: "data", rows: rows, seed: seed, epoch: 1)
                let rowBytes = jpeg.bytes.count / rows.count
                for row in rows {
                    let served = Array(jpeg.bytes[(row * rowBytes)..<((row + 1) * rowBytes)])
                    let reference = Array(pixels.bytes[(row * rowBytes)..<((row + 1) * rowBytes)])
                    let rendered = try Self.rendered(jpegCache, row: row, pipeline: pipeline, seed: seed, epoch: 1)
                    scales.insert(rendered.scaleNumerator)
                    let (isRendered, isReference) = (served == rendered.shifted, served == reference)
                    #expect(isRendered, "\(spec) seed \(seed) \(files[row].0): served differs from the region rendered")
                    if spec.hasPrefix("center-crop") {
                        // Integral boxes and no resample: the served crop is the pixels store's, exactly.
                        let isWhole = served == rendered.unshifted
                        #expect(rendered.scaleNumerator == 8 && isReference && isWhole, "\(spec) seed \(seed) \(files[row].0)")
                    } else if rendered.scaleNumerator == 8 {
                        let largest = zip(served, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
                        #expect(largest <= 1, "\(spec) seed \(seed) \(files[row].0): largest difference \(largest)")
                    }
                }
            }
            if spec.hasPrefix("random-resized-crop(12)") { #expect(scales.contains { $0 < 8 }, "a small target decodes scaled: \(scales)") }
        }
    }

    @Test func aStoredJPEGThatDoesNotDecodeWhenTransformedIsAnErrorNamingRowAndColumn() throws {
        try CacheFixtures.withDirectory { directory in
            let encoder = JPEGImageStoreTests.CutJPEGEncoder(bytes: try JPEGImageStoreTests.jpeg(height: 97, width: 131))
            let dataSet = try CacheFixtures.dataSet(try CacheFixtures.inventory(3), [encoder])
            let (cache, _) = try CacheFixtures.build(dataSet, in: directory)
            let served = try CachedDataSet(cache: cache).transforming(column: "data", with: try ImagePipeline(parsing: "center-crop(48)"))
            #expect(try served.transformedRows(column: "data", rows: [0, 2], seed: 0, epoch: 1).shape == [2, 48, 48, 3])
            guard case let .corrupt(_, column, row, reason)? = CacheFixtures.cacheError({
                _ = try served.transformedRows(column: "data", rows: [0, 1, 2], seed: 0, epoch: 1)
            }) else {
                Issue.record("expected corrupt")
                return
            }
            #expect(column == "data" && row == 1)
            #expect(reason.contains("row 1") && reason.contains("id 'r1'") && reason.contains("truncated"), "\(reason)")
        }
    }

    @Test func aStoredJPEGDamagedInTheCacheFileIsAnErrorNamingItsRowAndColumn() throws {
        try CacheFixtures.withDirectory { directory in
            let files = try Self.wideFiles()
            let (cache, _) = try CacheFixtures.build(try JPEGImageStoreTests.dataSet(in: directory, files: files, jpeg: true),
                                                     in: directory, name: "jpeg.dgcache")
            let path = directory + "/jpeg.dgcache"
            // Row 2's JPEG, found in the file, gets its frame header's height changed (97 to 96):
            // the unit's CRC-32 no longer matches, before any decoding.
            let stored = try cache.gatherVariable(column: "data", rows: [2]).bytes
            var bytes = try CacheFixtures.bytes(path)
            let start = try #require(Self.firstIndex(of: stored, in: bytes))
            let sof = try #require((start..<(start + stored.count - 7)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
            #expect(bytes[sof + 5] == 0 && bytes[sof + 6] == 97)
            bytes[sof + 6] = 96
            try FileIO.write(bytes, to: path)
            let damaged = try CacheFile(path: path)
            let served = try CachedDataSet(cache: damaged).transforming(column: "data", with: try ImagePipeline(parsing: "center-crop(48)"))
            #expect(try served.transformedRows(column: "data", rows: [0, 1], seed: 3, epoch: 1).shape == [2, 48, 48, 3])
            for body in [{ _ = try served.transformedRows(column: "data", rows: [0, 1, 2], seed: 3, epoch: 1) },
                         { _ = try damaged.array(column: "data", row: 2) }] {
                guard case let .checksumMismatch(_, what, column, _)? = CacheFixtures.cacheError(body) else {
                    Issue.record("expected a checksum mismatch")
                    continue
                }
                #expect(column == "data" && what.contains("rows 2..<3"), "\(what)")
            }
        }
    }

    /// Where `needle` first occurs in `haystack`.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { start in
            haystack[start] == needle[0] && haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}
