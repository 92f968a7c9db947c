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
}
