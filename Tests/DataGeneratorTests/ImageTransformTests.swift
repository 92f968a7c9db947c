import Testing
@testable import DataGenerator

/// Draws given in advance: each uniform is `lower + (upper − lower) × fraction`.
struct ScriptedDraws: TransformDraws {
    var fractions: [Double]
    var integers: [Int]
    var usedFractions = 0
    var usedIntegers = 0

    init(fractions: [Double], integers: [Int] = []) {
        self.fractions = fractions
        self.integers = integers
    }

    mutating func uniform(_ lower: Double, _ upper: Double) -> Double {
        defer { usedFractions += 1 }
        return lower + (upper - lower) * fractions[usedFractions]
    }

    mutating func integer(below bound: Int) -> Int {
        defer { usedIntegers += 1 }
        precondition(integers[usedIntegers] < bound)
        return integers[usedIntegers]
    }
}

@Suite struct ImageTransformSpecTests {
    func error(_ spec: String) -> TransformSpecError? {
        do {
            _ = try ImagePipeline(parsing: spec)
            return nil
        } catch {
            return error
        }
    }

    @Test func theIssuesSpecParsesToItsSteps() throws {
        let pipeline = try ImagePipeline(parsing: "random-resized-crop(224),flip,normalize(imagenet),chw")
        #expect(pipeline.steps == [.randomResizedCrop(size: 224), .flip, .normalizeImageNet, .chw])
        #expect(pipeline.outputShape(channels: 3) == [3, 224, 224])
        #expect(pipeline.outputDType == .float32)
        #expect(pipeline.description == "random-resized-crop(224),flip,normalize(imagenet),chw")
    }

    @Test func argumentsRangesFractionsAndSpacesParse() throws {
        let pipeline = try ImagePipeline(parsing: " random-resized-crop( 96 , scale=0.35..1, ratio=3/4..4/3 ) , normalize(mean=0.5/0.5/0.5,std=0.25/0.25/0.25)")
        #expect(pipeline.steps == [.randomResizedCrop(size: 96, scale: 0.35...1, ratio: 0.75...(4.0 / 3)),
                                   .normalize(mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])])
        #expect(pipeline.outputShape(channels: 3) == [96, 96, 3])
        // The description parses back to the same pipeline.
        #expect(try ImagePipeline(parsing: pipeline.description) == pipeline)
        let validation = try ImagePipeline(parsing: "resize-shorter(256),center-crop(224)")
        #expect(validation.outputDType == .uint8)
        #expect(validation.outputShape(channels: 1) == [224, 224, 1])
    }

    @Test func syntaxErrorsNameThePositionTheTokenAndWhatWasExpected() {
        #expect(error("flip,,chw") == .unexpected(spec: "flip,,chw", position: 5, found: "','",
                                                  expected: "a transform name (random-resized-crop, resize-shorter, center-crop, flip, normalize, chw)"))
        #expect(error("random-resized-crop(224") == .unexpected(spec: "random-resized-crop(224", position: 23, found: "end of spec", expected: "',' or ')'"))
        #expect(error("center-crop(224) flip") == .unexpected(spec: "center-crop(224) flip", position: 17, found: "'flip'", expected: "',' or the end of the spec"))
        #expect(error("random-resized-crop(224,size=3)") == .unexpected(spec: "random-resized-crop(224,size=3)", position: 24, found: "'size'", expected: "'scale=' or 'ratio='"))
        #expect(error("normalize(imagenet") == .unexpected(spec: "normalize(imagenet", position: 18, found: "end of spec", expected: "')'"))
        #expect(error("flip(1)") == .unexpected(spec: "flip(1)", position: 5, found: "'1'", expected: "')': flip takes no arguments"))
        let unknown = error("center-crop(8),blur(3)")
        #expect(unknown == .unknownTransform(spec: "center-crop(8),blur(3)", position: 15, name: "blur"))
        #expect("\(unknown!)".contains("at character 16;"), "positions count from 1: blur starts at the 16th character")
        #expect("\(error("flip,,chw")!)".contains("at character 6,"))
    }

    @Test func badArgumentsAreRefusedNamingTheTransform() {
        #expect(error("center-crop(0)") == .invalidArgument(spec: "center-crop(0)", position: 12, transform: "center-crop",
                                                           reason: "the size must be a whole number in 1...16384"))
        #expect(error("center-crop(2.5)") != nil)
        #expect(error("random-resized-crop(8,scale=1..0.5)") == .invalidArgument(spec: "random-resized-crop(8,scale=1..0.5)", position: 28,
                                                                                  transform: "random-resized-crop", reason: "scale=1..0.5 needs 0 < A ≤ B"))
        #expect(error("random-resized-crop(8,ratio=1/0..2)") != nil)
        #expect(error("random-resized-crop(8,scale=0.5..1,scale=0.6..1)") != nil)
        #expect(error("normalize(mean=0.5/0.5,std=1)") == .invalidArgument(spec: "normalize(mean=0.5/0.5,std=1)", position: 0,
                                                                           transform: "normalize", reason: "2 means but 1 standard deviations"))
        #expect(error("normalize(mean=0.5,std=0)") != nil)
    }

    @Test func pipelinesThatDoNotFixTheSizeOrResizeTwiceAreRefused() {
        for spec in ["flip", "normalize(imagenet),chw", "center-crop(64),resize-shorter(32)", "random-resized-crop(8),resize-shorter(8),center-crop(8)",
                     "chw,chw,center-crop(4)", "normalize(imagenet),normalize(imagenet),center-crop(4)"] {
            guard case .invalidPipeline = error(spec) else {
                Issue.record("\(spec) was not refused as a pipeline: \(String(describing: error(spec)))")
                continue
            }
        }
        let twice = error("random-resized-crop(8),flip,resize-shorter(8),center-crop(8)")
        #expect("\(twice!)".contains("the second resize, 'resize-shorter(8)', is at character 29"), "\(twice!)")
        #expect((try? ImagePipeline(parsing: "normalize(imagenet),center-crop(4)").check(channels: 1)) == nil)
        #expect((try? ImagePipeline(parsing: "normalize(mean=0.5,std=0.5),center-crop(4)").check(channels: 1)) != nil)
    }
}

@Suite struct CropSamplerTests {
    let scale = ImageTransform.defaultScale
    let ratio = ImageTransform.defaultRatio

    @Test func aBoxThatFitsTakesTheDrawnSidesAndPosition() {
        // Try 1: area 20000 × 0.54, ratio 1 → 104 × 104, taller than the image. Try 2: area
        // 20000 × 0.08 = 1600, ratio 4/3 → w = round(46.19) = 46, h = round(34.64) = 35.
        var draws = ScriptedDraws(fractions: [0.5, 0.5, 0, 1], integers: [7, 9])
        let box = CropSampler.randomResizedCrop(height: 100, width: 200, scale: scale, ratio: ratio, draws: &draws)
        #expect(box == CropBox(top: 7, left: 9, height: 35, width: 46))
        #expect(draws.usedFractions == 4 && draws.usedIntegers == 2)
    }

    @Test func pythonsRoundHalfToEvenSizesTheBox() {
        // area 100 × 100 × 0.0625 = 625 with ratio 1 → 25 × 25 exactly; area 0.0 + 42.25 → 6.5 → 6.
        var draws = ScriptedDraws(fractions: [(42.25 / 10000 - 0.0) / 1, 0.5], integers: [0, 0])
        let box = CropSampler.randomResizedCrop(height: 100, width: 100, scale: 0...1, ratio: 1...1, draws: &draws)
        #expect(box.width == 6 && box.height == 6)
    }

    @Test func tenMissesFallBackToTheCentreBoxClampedToTheRatio() {
        var wide = ScriptedDraws(fractions: Array(repeating: 1, count: 20))
        #expect(CropSampler.randomResizedCrop(height: 10, width: 100, scale: scale, ratio: ratio, draws: &wide)
                == CropBox(top: 0, left: 43, height: 10, width: 13))
        #expect(wide.usedFractions == 20 && wide.usedIntegers == 0)
        var tall = ScriptedDraws(fractions: Array(repeating: 1, count: 20))
        #expect(CropSampler.randomResizedCrop(height: 100, width: 10, scale: scale, ratio: ratio, draws: &tall)
                == CropBox(top: 43, left: 0, height: 13, width: 10))
        var square = ScriptedDraws(fractions: Array(repeating: 1, count: 20))
        // scale 1 of a 10 × 12 image at ratio 4/3 → 14 × 10: too wide every time; the image's ratio fits.
        #expect(CropSampler.randomResizedCrop(height: 10, width: 12, scale: 1...1, ratio: ratio, draws: &square)
                == CropBox(top: 0, left: 0, height: 10, width: 12))
    }

    @Test func hugeScalesAndFarRatiosFallBackInsteadOfOverflowing() throws {
        // The fuzzer's input: a scale of 1..2e128 made sides no Int holds.
        let pipeline = try ImagePipeline(parsing: "center-crop(16),random-resized-crop(6,scale=1..1" + String(repeating: "9", count: 128) + ",ratio=1..1)")
        var draws = TransformRandom(seed: 0, epoch: 0, key: 1)
        var output = [UInt8](repeating: 0, count: 6 * 6 * 3)
        let pixels = [UInt8](repeating: 7, count: 40 * 50 * 3)
        pixels.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                pipeline.render(ImageSource(height: 40, width: 50, channels: 3, pixels: source.baseAddress!), draws: &draws, into: target.baseAddress!)
            }
        }
        #expect(output == [UInt8](repeating: 7, count: 6 * 6 * 3))
        for ratio in [1e-300...1e-300, 1e300...1e300] {
            var random = TransformRandom(seed: 0, epoch: 0, key: 1)
            let box = CropSampler.randomResizedCrop(height: 1, width: 1, scale: 1...1, ratio: ratio, draws: &random)
            #expect(box == CropBox(top: 0, left: 0, height: 1, width: 1))
        }
    }

    @Test func seededBoxesStayInsideTheImageWithinTheScaleAndRatio() {
        var fallbacks = 0
        for key in 0..<2000 as Range<UInt64> {
            let (height, width) = (50 + Int(key % 17) * 23, 60 + Int(key % 13) * 31)
            var draws = TransformRandom(seed: 3, epoch: 1, key: key)
            let box = CropSampler.randomResizedCrop(height: height, width: width, scale: scale, ratio: ratio, draws: &draws)
            #expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= height && box.left + box.width <= width)
            let fraction = Double(box.height * box.width) / Double(height * width)
            let aspect = Double(box.width) / Double(box.height)
            if fraction > 0.999 { fallbacks += 1; continue }
            // Sides are rounded: allow a pixel's worth on each.
            let slack = Double(box.width + box.height + 1) / Double(height * width)
            #expect(fraction >= 0.08 - slack && fraction <= 1 + slack)
            #expect(aspect >= 0.75 * (1 - 1 / Double(box.height)) - 1e-9 && aspect <= 4.0 / 3 * (1 + 1 / Double(box.height)) + 1e-9)
        }
        #expect(fallbacks < 200)
        // Keyed draws: the same record, seed and epoch give the same box; another epoch another.
        var a = TransformRandom(seed: 3, epoch: 1, key: 42), b = TransformRandom(seed: 3, epoch: 1, key: 42), c = TransformRandom(seed: 3, epoch: 2, key: 42)
        let boxA = CropSampler.randomResizedCrop(height: 300, width: 400, scale: scale, ratio: ratio, draws: &a)
        #expect(boxA == CropSampler.randomResizedCrop(height: 300, width: 400, scale: scale, ratio: ratio, draws: &b))
        #expect(boxA != CropSampler.randomResizedCrop(height: 300, width: 400, scale: scale, ratio: ratio, draws: &c))
    }

    @Test func resizeShorterAndCenterCropSizeAsTorchvision() {
        #expect(CropSampler.resizedShorter(height: 375, width: 500, to: 256) == (256, 341))
        #expect(CropSampler.resizedShorter(height: 500, width: 375, to: 256) == (341, 256))
        #expect(CropSampler.resizedShorter(height: 300, width: 300, to: 224) == (224, 224))
        // int(round(117 / 2)) = round(58.5) = 58 (half to even); round(16) = 16.
        #expect(CropSampler.centerCrop(height: 256, width: 341, size: 224) == CropBox(top: 16, left: 58, height: 224, width: 224))
        #expect(CropSampler.centerCrop(height: 227, width: 229, size: 224) == CropBox(top: 2, left: 2, height: 224, width: 224))
        // Smaller than the crop: padded by (size − side) // 2 before.
        #expect(CropSampler.centerCrop(height: 100, width: 224, size: 103) == CropBox(top: -1, left: 60, height: 103, width: 103))
    }
}

/// Transformed image columns served by a cache, on the owning and lending paths.
@Suite struct ImageTransformServingTests {
    /// `count` images of varying sizes (20–50 × 24–52 × 3): smooth gradients, and every fifth
    /// one noise (so that some units are stored raw and some LZ4-compressed).
    static func imageDataSet(count: Int = 37) throws -> GeneratorDataSet {
        let inventory = try Inventory(records: (0..<count).map { ["id": "img\($0)", "target": "c\($0 % 3)"] }, columns: ["id", "target"])
        let images = ClosureEncoder(identity: "test-images@1", output: .variableShape(.uint8, rank: 3, fixed: [2: 3])) { record in
            NDArray(Self.pixels(index: Int(record["id"]!.dropFirst(3))!), shape: Self.shape(index: Int(record["id"]!.dropFirst(3))!))
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: [images], targetEncoder: RecordTargetEncoder.oneHot())
        try dataSet.fitEncoders()
        return dataSet
    }

    static func shape(index: Int) -> [Int] { [20 + (index * 7) % 31, 24 + (index * 13) % 29, 3] }

    static func pixels(index: Int) -> [UInt8] {
        let shape = shape(index: index)
        var noise = SplitMix64(seed: UInt64(index))
        return (0..<(shape[0] * shape[1] * 3)).map { offset in
            if index % 5 == 0 { return UInt8(truncatingIfNeeded: noise.next()) }
            let (y, x, c) = (offset / (shape[1] * 3), offset / 3 % shape[1], offset % 3)
            return UInt8(truncatingIfNeeded: y * 5 + x * 3 + c * 70 + index)
        }
    }

    func withCache<R>(_ body: (CachedDataSet) throws -> R) throws -> R {
        let dataSet = try Self.imageDataSet()
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        return try body(try dataSet.cached(at: directory + "/images.dgcache"))
    }

    @Test func resizeShorterThenCenterCropIsPillowsResizeCroppedAsTorchvision() throws {
        try withCache { cached in
            let served = try cached.transforming(column: "data", with: ImagePipeline(parsing: "resize-shorter(16),center-crop(14)"))
            #expect(served.servedSpec(input: 0) == ArraySpec(.uint8, [14, 14, 3]))
            let batch = try #require(try served.batches(BatchOptions(batchSize: 37, epochs: 1)).next())
            #expect(batch.shapes[0] == nil)
            for index in 0..<37 {
                let shape = Self.shape(index: index)
                let size = CropSampler.resizedShorter(height: shape[0], width: shape[1], to: 16)
                let resized = ImageResampler.resize(Self.pixels(index: index), height: shape[0], width: shape[1], channels: 3,
                                                    toHeight: size.height, width: size.width)
                let box = CropSampler.centerCrop(height: size.height, width: size.width, size: 14)
                var expected = [UInt8]()
                for y in box.top..<(box.top + 14) {
                    let start = (y * size.width + box.left) * 3
                    expected += resized[start..<(start + 42)]
                }
                #expect(batch.inputs[0].row(index).bytes == expected, "image \(index)")
            }
        }
    }

    @Test(arguments: [(90, 47), (61, 80), (200, 151), (33, 35), (48, 250)])
    func aWholeImageCropResizedToASquareIsPillowsResize(height: Int, width: Int) throws {
        var noise = SplitMix64(seed: UInt64(height * width))
        let pixels = (0..<(height * width * 3)).map { _ in UInt8(truncatingIfNeeded: noise.next()) }
        let pipeline = try ImagePipeline([.randomResizedCrop(size: 28, scale: 1...1, ratio: (Double(width) / Double(height))...(Double(width) / Double(height)))])
        var served = [UInt8](repeating: 0, count: 28 * 28 * 3)
        var draws = TransformRandom(seed: 1, epoch: 0, key: 2)
        pixels.withUnsafeBytes { source in
            served.withUnsafeMutableBytes { target in
                pipeline.render(ImageSource(height: height, width: width, channels: 3, pixels: source.baseAddress!), draws: &draws,
                                into: target.baseAddress!)
            }
        }
        let expected = ImageResampler.resize(pixels, height: height, width: width, channels: 3, toHeight: 28, width: 28)
        #expect(served == expected)
    }

    @Test func normalizeAndChwGiveTorchvisionsFloatsChannelsFirst() throws {
        try withCache { cached in
            let plain = try cached.transforming(column: "data", with: ImagePipeline(parsing: "center-crop(12)"))
            let normalized = try cached.transforming(input: 0, spec: "center-crop(12),normalize(imagenet),chw")
            #expect(normalized.servedSpec(input: 0) == ArraySpec(.float32, [3, 12, 12]))
            let options = BatchOptions(batchSize: 10, epochs: 1, truncate: false)
            let bytes = try plain.batches(options).collect().map { $0.inputs[0] }
            let floats = try normalized.batches(options).collect().map { $0.inputs[0] }
            let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
            for (hwc, chw) in zip(bytes, floats) {
                let pixels = hwc.scalars(as: UInt8.self)
                let values = chw.scalars(as: Float.self)
                for row in 0..<hwc.shape[0] {
                    for y in 0..<12 { for x in 0..<12 { for c in 0..<3 {
                        let pixel = pixels[row * 432 + (y * 12 + x) * 3 + c]
                        #expect(values[row * 432 + c * 144 + y * 12 + x] == (Float(pixel) / 255 - mean[c]) / std[c])
                    } } }
                }
            }
            // Channels last: the same values in HWC order.
            let interleaved = try cached.transforming(input: 0, spec: "center-crop(12),normalize(imagenet)").batches(options).collect()
            for (hwc, floats) in zip(bytes, interleaved.map { $0.inputs[0] }) {
                #expect(floats.shape == hwc.shape)
                #expect(floats.scalars(as: Float.self) == hwc.scalars(as: UInt8.self).enumerated().map { index, pixel in
                    (Float(pixel) / 255 - mean[index % 3]) / std[index % 3]
                })
            }
            // uint8 channels first: the same bytes transposed.
            let planar = try cached.transforming(input: 0, spec: "center-crop(12),chw").batches(options).collect()
            for (hwc, chw) in zip(bytes, planar.map { $0.inputs[0] }) {
                #expect(chw.shape == [hwc.shape[0], 3, 12, 12] && chw.dtype == .uint8)
                let pixels = hwc.scalars(as: UInt8.self), values = chw.scalars(as: UInt8.self)
                for row in 0..<hwc.shape[0] {
                    for y in 0..<12 { for x in 0..<12 { for c in 0..<3 {
                        #expect(values[row * 432 + c * 144 + y * 12 + x] == pixels[row * 432 + (y * 12 + x) * 3 + c])
                    } } }
                }
            }
            // A centre crop of a stored 20 × 24 image is exact: no resampling.
            #expect(Array(bytes[0].row(0).bytes.prefix(3)) == Array(Self.pixels(index: 0)[(4 * 24 + 6) * 3..<((4 * 24 + 6) * 3 + 3)]))
        }
    }

    @Test func flipMirrorsAboutHalfTheRowsAndKeepsTheOthers() throws {
        try withCache { cached in
            let plain = try cached.transforming(input: 0, spec: "center-crop(10)")
            let flipped = try cached.transforming(input: 0, spec: "center-crop(10),flip")
            let options = BatchOptions(batchSize: 37, epochs: 1, seed: 4)
            let a = try #require(try plain.batches(options).next()).inputs[0]
            let b = try #require(try flipped.batches(options).next()).inputs[0]
            var mirrored = 0
            for row in 0..<37 {
                let original = a.row(row).bytes, served = b.row(row).bytes
                var mirror = [UInt8]()
                for y in 0..<10 { for x in (0..<10).reversed() { mirror += original[((y * 10 + x) * 3)..<((y * 10 + x) * 3 + 3)] } }
                #expect(served == original || served == mirror)
                if served == mirror && served != original { mirrored += 1 }
            }
            #expect(mirrored > 8 && mirrored < 29)
        }
    }

    func digest(_ dataSet: CachedDataSet, _ options: BatchOptions, lent: Bool) throws -> String {
        var digest = BatchDigest()
        if lent {
            try dataSet.forEachBatch(options) { batch in
                digest.add(batch)
                return true
            }
        } else {
            let cursor = try dataSet.batches(options)
            while let batch = try cursor.next() { digest.add(batch) }
        }
        return digest.hexDigest()
    }

    @Test func theDigestIsTheSameForAnyWorkerCountOwnedOrLentAndEpochsDiffer() throws {
        try withCache { cached in
            let served = try cached.transforming(input: 0, spec: "random-resized-crop(16),flip,normalize(imagenet),chw")
            #expect(served.canLendBatches)
            let reference = try digest(served, BatchOptions(batchSize: 6, epochs: 2, truncate: false, order: .full, seed: 9, workers: 0), lent: false)
            for workers in [1, 2, 4] {
                for lent in [false, true] {
                    let options = BatchOptions(batchSize: 6, epochs: 2, truncate: false, order: .full, seed: 9, workers: workers)
                    #expect(try digest(served, options, lent: lent) == reference, "workers \(workers), lent \(lent)")
                }
            }
            // Another seed, or the same rows in another epoch, give other pixels.
            #expect(try digest(served, BatchOptions(batchSize: 6, epochs: 2, truncate: false, order: .full, seed: 10, workers: 2), lent: true) != reference)
            let epochs = try served.batches(BatchOptions(batchSize: 37, epochs: 2, order: .none, seed: 9)).collect()
            #expect(epochs.count == 2 && epochs[0].rows == epochs[1].rows)
            #expect(epochs[0].inputs[0] != epochs[1].inputs[0])
        }
    }

    @Test func aRecordsPixelsDependOnlyOnSeedEpochAndRecordNotOnShardOrResume() throws {
        try withCache { cached in
            let served = try cached.transforming(input: 0, spec: "random-resized-crop(12,scale=0.2..1),flip")
            let options = BatchOptions(batchSize: 5, epochs: 2, truncate: false, order: .full, seed: 2, workers: 2)
            let whole = try served.batches(options).collect()
            var byRecord = [[Int]: [UInt8]]()
            for batch in whole { for (position, row) in batch.rows.enumerated() { byRecord[[batch.epoch, row]] = batch.inputs[0].row(position).bytes } }
            for rank in 0..<2 {
                var sharded = options
                sharded.shard = try Shard(rank: rank, worldSize: 2)
                var count = 0
                try served.forEachBatch(sharded) { batch in
                    let bytes = Array(batch.data(0))
                    for (position, row) in batch.rows.enumerated() {
                        #expect(Array(bytes[(position * 432)..<((position + 1) * 432)]) == byRecord[[batch.epoch, row]])
                        count += 1
                    }
                    return true
                }
                #expect(count > 0)
            }
            for stop in [1, 4, 9] {
                let cursor = try served.batches(options)
                var seen = [Batch]()
                for _ in 0..<stop { seen.append(try #require(try cursor.next())) }
                #expect(seen + (try served.batches(options, resumingFrom: cursor.checkpoint).collect()) == whole, "stopped after \(stop)")
            }
        }
    }

    @Test func aCacheSetOfShardsServesTheSingleFilesTransformedBatches() throws {
        let dataSet = try Self.imageDataSet()
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let whole = directory + "/whole.dgcache"
        _ = try CacheBuilder(dataSet: dataSet, output: whole).build()
        var paths = [String]()
        for (index, rows) in [0..<10, 10..<25, 25..<37].enumerated() {
            paths.append(directory + "/shard-\(index).dgcache")
            _ = try CacheBuilder(dataSet: try dataSet.subset(rows: rows), output: paths[index]).build()
        }
        try CacheSet.create(at: directory + "/images.dgset", shards: paths)
        let spec = "random-resized-crop(12),flip,normalize(imagenet)"
        let single = try CachedDataSet(path: whole).transforming(input: 0, spec: spec)
        let set = try CachedDataSet(path: directory + "/images.dgset").transforming(input: 0, spec: spec)
        let options = BatchOptions(batchSize: 8, epochs: 2, truncate: false, order: .full, seed: 3, workers: 2)
        #expect(try digest(set, options, lent: true) == (try digest(single, options, lent: false)))
        #expect(try digest(set, options, lent: false) == (try digest(single, options, lent: true)))
    }

    @Test func onlyVariableShapeUint8ImagesTakeATransform() throws {
        try withCache { cached in
            let pipeline = try ImagePipeline(parsing: "center-crop(4)")
            #expect(throws: CacheError.self) { try cached.transforming(column: "target", with: pipeline) }
            #expect(throws: TransformSpecError.self) { try cached.transforming(input: 0, spec: "center-crop(4),blur") }
            #expect(!cached.canLendBatches)
            #expect(try cached.defaultTransformColumn() == "data")
            #expect(try cached.transforming(input: 0, spec: "center-crop(4)").transforms == ["data": pipeline])
        }
    }
}
