import Testing
@testable import DataGenerator

/// `JPEGRegionDecoder`: a box decoded alone (crop-row decoding) equals the same box of the full
/// decode; DCT-scaled decodes approximate the full decode shrunk; the scale is the smallest
/// that still covers the target size.
@Suite struct JPEGRegionDecoderTests {
    /// The full decode of `jpeg` (`height × width × channels`).
    static func fullDecode(_ jpeg: [UInt8], channels: Int = 3) throws -> (pixels: [UInt8], height: Int, width: Int) {
        let image = try ImageDecoder(channels: channels).decodePixels(jpeg)
        return (image.pixels, image.height, image.width)
    }

    /// The `box` of a `width`-wide image of `channels` samples per pixel.
    static func crop(_ pixels: [UInt8], width: Int, channels: Int, box: ImageBox) -> [UInt8] {
        var out = [UInt8]()
        for row in box.y..<(box.y + box.height) {
            let start = (row * width + box.x) * channels
            out += pixels[start..<(start + box.width * channels)]
        }
        return out
    }

    /// `box` of `jpeg` decoded at `scaleNumerator / 8` into a buffer of the capacity asked, and
    /// the box's own pixels cut from the region written (scaled, rounded outwards).
    static func decode(_ jpeg: [UInt8], box: ImageBox, scaleNumerator: Int,
                       channels: Int = 3) throws -> (region: JPEGRegionDecoder.Region, pixels: [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: JPEGRegionDecoder.capacity(for: box, scaleNumerator: scaleNumerator))
        let region = try jpeg.withUnsafeBytes { bytes in
            try buffer.withUnsafeMutableBytes {
                try JPEGRegionDecoder(channels: channels).decode(bytes, box: box, scaleNumerator: scaleNumerator, into: $0)
            }
        }
        let columns = JPEGRegionDecoder.scaled(box.x, box.width, scaleNumerator: scaleNumerator)
        let rows = JPEGRegionDecoder.scaled(box.y, box.height, scaleNumerator: scaleNumerator)
        #expect(region.x <= columns.lowerBound && columns.upperBound <= region.x + region.width && region.y == rows.lowerBound
                && region.height == rows.count && region.byteCount <= buffer.count, "\(box): \(region)")
        let inside = ImageBox(x: columns.lowerBound - region.x, y: 0, width: columns.count, height: rows.count)
        return (region, crop(Array(buffer.prefix(region.byteCount)), width: region.width, channels: channels, box: inside))
    }

    @Test(arguments: [(1, 3, 95), (1, 1, 90), (3, 3, 75)])
    func aBoxAtFullScaleEqualsTheSameBoxOfTheFullDecode(seed: Int, channels: Int, quality: Int) throws {
        let (height, width) = (97, 131)
        let jpeg = try JPEGStoreTestImages.jpeg(height: height, width: width, channels: channels, seed: seed, quality: quality)
        let full = try Self.fullDecode(jpeg, channels: 3)
        let boxes = [ImageBox(x: 0, y: 0, width: width, height: height), ImageBox(x: 17, y: 9, width: 50, height: 41),
                     ImageBox(x: 16, y: 16, width: 32, height: 32), ImageBox(x: 130, y: 96, width: 1, height: 1),
                     ImageBox(x: 33, y: 0, width: 98, height: 97), ImageBox(x: 1, y: 50, width: 7, height: 3)]
        for box in boxes {
            let (region, pixels) = try Self.decode(jpeg, box: box, scaleNumerator: 8)
            #expect((region.height, region.channels) == (box.height, 3), "\(box)")
            #expect(region.sourceBox(of: box) == (Double(box.x - region.x), 0, Double(box.width), Double(box.height)))
            #expect(pixels == Self.crop(full.pixels, width: width, channels: 3, box: box), "\(box)")
        }
    }

    @Test func aScaledDecodeApproximatesTheFullDecodeShrunk() throws {
        let (height, width) = (240, 320)
        // A smooth image (gradients and a slow wave): what a shrink by the DCT or by a filter agree on.
        var smooth = [UInt8]()
        for y in 0..<height {
            for x in 0..<width {
                let wave = 40 * ((x / 16 + y / 24) % 4)
                smooth += [UInt8(x * 200 / width + wave / 4), UInt8(y * 200 / height + 20), UInt8((x + y) * 100 / (width + height) + wave)]
            }
        }
        let jpeg = try JPEGImageStore.compress(smooth, height: height, width: width, channels: 3, quality: 92)
        let full = try Self.fullDecode(jpeg)
        let box = ImageBox(x: 40, y: 24, width: 200, height: 160)
        let reference = Self.crop(full.pixels, width: width, channels: 3, box: box)
        for m in [4, 2, 1] {
            let (region, pixels) = try Self.decode(jpeg, box: box, scaleNumerator: m)
            #expect(region.scaledWidth == (width * m + 7) / 8 && region.scaledHeight == (height * m + 7) / 8)
            #expect(pixels.count == (200 * m / 8) * (160 * m / 8) * 3, "scale \(m)/8")
            let shrunk = ImageResampler.resize(reference, height: box.height, width: box.width, channels: 3,
                                               toHeight: 160 * m / 8, width: 200 * m / 8)
            let difference = zip(shrunk, pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)
            let mean = Double(difference) / Double(shrunk.count)
            #expect(mean < 5, "scale \(m)/8: mean absolute difference \(mean)")
        }
    }

    @Test func theScaleIsTheSmallestThatStillCoversTheTarget() {
        let box = ImageBox(x: 0, y: 0, width: 1000, height: 600)
        #expect(JPEGRegionDecoder.scaleNumerator(for: box, targetHeight: 224, targetWidth: 224) == 4)  // 500 × 300
        #expect(JPEGRegionDecoder.scaleNumerator(for: box, targetHeight: 70, targetWidth: 70) == 1)   // 125 × 75
        #expect(JPEGRegionDecoder.scaleNumerator(for: box, targetHeight: 150, targetWidth: 100) == 2) // 250 × 150
        #expect(JPEGRegionDecoder.scaleNumerator(for: box, targetHeight: 301, targetWidth: 224) == 8)
        #expect(JPEGRegionDecoder.scaleNumerator(for: ImageBox(x: 0, y: 0, width: 100, height: 100),
                                                 targetHeight: 224, targetWidth: 224) == 8)
    }

    @Test func aBoxOutsideTheImageOrDamagedDataIsAnError() throws {
        let jpeg = try JPEGStoreTestImages.jpeg(height: 40, width: 50)
        for box in [ImageBox(x: 45, y: 0, width: 10, height: 10), ImageBox(x: 0, y: 0, width: 0, height: 5),
                    ImageBox(x: -1, y: 0, width: 5, height: 5)] {
            #expect(throws: ImageDecodingError.self, "\(box)") {
                try Self.decode(jpeg, box: box, scaleNumerator: 8)
            }
        }
        let cut = Array(jpeg.prefix(jpeg.count / 2))
        #expect(throws: ImageDecodingError.self) {
            try Self.decode(cut, box: ImageBox(x: 0, y: 30, width: 50, height: 10), scaleNumerator: 8)
        }
    }
}

/// Generated JPEGs for the jpeg-store tests.
enum JPEGStoreTestImages {
    static func jpeg(height: Int, width: Int, channels: Int = 3, seed: Int = 0, quality: Int = 85) throws -> [UInt8] {
        try JPEGImageStoreTests.jpeg(height: height, width: width, channels: channels, seed: seed, quality: quality)
    }
}
