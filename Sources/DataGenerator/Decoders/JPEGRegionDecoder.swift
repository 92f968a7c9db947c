import CImageCodecs

/// A rectangle of an image, in pixels: columns `x ..< x + width`, rows `y ..< y + height`.
public struct ImageBox: Sendable, Hashable, CustomStringConvertible {
    /// The first column.
    public var x: Int
    /// The first row.
    public var y: Int
    /// Columns in the box (at least 1).
    public var width: Int
    /// Rows in the box (at least 1).
    public var height: Int

    /// A box; see each property.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)×\(height) at (\(x), \(y))" }
}

/// Decodes only a box of a JPEG, with libjpeg-turbo's DCT scaling: the decode entry point of
/// transforms over a JPEG-stored column (random-resized-crop, center-crop), which then resample
/// from the region it returns.
///
/// The box's columns are cropped with `jpeg_crop_scanline` and the rows above it skipped with
/// `jpeg_skip_scanlines` (the rows below are never decoded); the IDCT can shrink the image by
/// 1/2, 1/4 or 1/8 on the way (``scaleNumerator(for:targetHeight:targetWidth:)`` picks the
/// smallest scale whose box still covers the target size, so the transform still shrinks it and
/// keeps its antialiased quality). At scale 1 the region's pixels equal the same box of the full
/// decode (``JPEGImageStore/decodeStored(_:channels:expected:into:)``) exactly.
///
/// ```swift
/// let decoder = JPEGRegionDecoder(channels: 3)
/// let box = ImageBox(x: 40, y: 30, width: 300, height: 260)
/// let region = try decoder.decode(jpeg, box: box, targetHeight: 224, targetWidth: 224)  // scale 1/2 here
/// // Resample region.pixels' box region.sourceBox (fractional) to 224 × 224.
/// ```
public struct JPEGRegionDecoder: Sendable, Hashable {
    /// Channels of every region: 3 (RGB; grey replicated) or 1 (grey).
    public var channels: Int

    /// A decoder giving `channels` (1 or 3) channels.
    public init(channels: Int = 3) {
        precondition(channels == 1 || channels == 3, "a region decoder gives 1 or 3 channels")
        self.channels = channels
    }

    /// A decoded box.
    public struct Region: Sendable, Hashable {
        /// `height × width × channels` bytes, row-major.
        public var pixels: [UInt8]
        /// Rows of `pixels`.
        public var height: Int
        /// Columns of `pixels`.
        public var width: Int
        /// Samples per pixel of `pixels`.
        public var channels: Int
        /// The DCT scale used is `scaleNumerator / 8` (8: full size).
        public var scaleNumerator: Int
        /// The whole image's size at that scale.
        public var scaledHeight: Int
        /// The whole image's width at that scale.
        public var scaledWidth: Int
        /// Where `pixels` lie in the scaled image: the box scaled, rounded outwards.
        public var origin: (x: Int, y: Int)
        /// The requested box in `pixels`' coordinates, fractional at scales below 1: what a
        /// resampler takes as its source box.
        public var sourceBox: (x: Double, y: Double, width: Double, height: Double)

        public static func == (lhs: Region, rhs: Region) -> Bool {
            lhs.pixels == rhs.pixels && lhs.height == rhs.height && lhs.width == rhs.width && lhs.channels == rhs.channels
                && lhs.scaleNumerator == rhs.scaleNumerator && lhs.origin == rhs.origin
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(pixels)
            hasher.combine(scaleNumerator)
        }
    }

    /// The scales used: libjpeg-turbo's SIMD-accelerated IDCT sizes, as numerators over 8.
    public static let scaleNumerators = [1, 2, 4, 8]

    /// The smallest scale (`M / 8`, M in 1, 2, 4, 8) at which `box` (full-size pixels) is still
    /// at least `targetHeight × targetWidth`: decoding at it loses nothing the resample to the
    /// target keeps. 8 (full size) when the box is smaller than the target.
    public static func scaleNumerator(for box: ImageBox, targetHeight: Int, targetWidth: Int) -> Int {
        scaleNumerators.first { m in
            box.width * m >= targetWidth * 8 && box.height * m >= targetHeight * 8
        } ?? 8
    }

    /// The box of the JPEG `bytes` (full-size pixels, inside the image), decoded at the scale
    /// ``scaleNumerator(for:targetHeight:targetWidth:)`` picks for the target size.
    /// - Throws: ``ImageDecodingError`` for a damaged JPEG or a box outside the image.
    public func decode(_ bytes: UnsafeRawBufferPointer, box: ImageBox, targetHeight: Int,
                       targetWidth: Int) throws(ImageDecodingError) -> Region {
        try decode(bytes, box: box, scaleNumerator: Self.scaleNumerator(for: box, targetHeight: targetHeight, targetWidth: targetWidth))
    }

    /// The box of the JPEG `bytes` (full-size pixels, inside the image), decoded at
    /// `scaleNumerator / 8` (1 ... 8).
    /// - Throws: ``ImageDecodingError`` for a damaged JPEG or a box outside the image.
    public func decode(_ bytes: UnsafeRawBufferPointer, box: ImageBox,
                       scaleNumerator: Int) throws(ImageDecodingError) -> Region {
        precondition((1...8).contains(scaleNumerator), "the scale is 1/8 to 8/8")
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var info = dg_image_info()
        guard dg_jpeg_read_header(data, bytes.count, &info) == 0 else {
            throw .corrupt(format: .jpeg, reason: cString(info.message))
        }
        let (fullWidth, fullHeight) = (Int(info.width), Int(info.height))
        guard fullWidth > 0, fullHeight > 0 else { throw .emptyImage(width: fullWidth, height: fullHeight) }
        guard box.width > 0, box.height > 0, box.x >= 0, box.y >= 0, box.x <= fullWidth - box.width,
              box.y <= fullHeight - box.height else {
            throw .corrupt(format: .jpeg, reason: "the box \(box) does not lie inside the \(fullWidth)×\(fullHeight) image")
        }
        // libjpeg's scaled size: ceil(side × M / 8). The box scaled, rounded outwards, inside it.
        let m = scaleNumerator
        let scaledWidth = (fullWidth * m + 7) / 8, scaledHeight = (fullHeight * m + 7) / 8
        let x0 = box.x * m / 8, y0 = box.y * m / 8
        let x1 = min(scaledWidth, ((box.x + box.width) * m + 7) / 8)
        let y1 = min(scaledHeight, ((box.y + box.height) * m + 7) / 8)
        let (width, height) = (max(1, x1 - x0), max(1, y1 - y0))
        let components = Int(info.components)
        // One more column on the left and two on the right, inside the image: fancy upsampling
        // treats a crop's first column (at an iMCU boundary) and its last ones as image edges,
        // so they can differ from the full decode's; the columns kept are never those
        // (measured: every box of a grid equals the full decode, 4:2:0, 4:2:2, 4:4:4, grey,
        // CMYK, baseline and progressive, at every scale).
        let cropX = max(0, x0 - 1), cropEnd = min(scaledWidth, x0 + width + 2)
        var decoded = [UInt8](repeating: 0, count: dg_jpeg_region_capacity(UInt32(cropEnd - cropX), UInt32(height), UInt32(components)))
        var region = dg_jpeg_region()
        let status = decoded.withUnsafeMutableBufferPointer {
            dg_jpeg_decode_region(data, bytes.count, UInt32(m), UInt32(cropX), UInt32(y0), UInt32(cropEnd - cropX),
                                  UInt32(height), $0.baseAddress, $0.count, &region)
        }
        guard status == 0 else { throw .corrupt(format: .jpeg, reason: cString(region.message)) }
        // The crop starts at an iMCU boundary, at or left of x0: keep columns x0 ..< x0 + width.
        let left = x0 - Int(region.x)
        let stride = Int(region.width) * components
        var pixels = [UInt8](repeating: 0, count: width * height * components)
        decoded.withUnsafeBytes { source in
            pixels.withUnsafeMutableBytes { target in
                for row in 0..<height {
                    let from = row * stride + left * components
                    target.baseAddress!.advanced(by: row * width * components)
                        .copyMemory(from: source.baseAddress!.advanced(by: from), byteCount: width * components)
                }
            }
        }
        if components != channels {
            pixels = PixelConversion.convert(pixels, components: components, to: channels, cmyk: true)
        }
        let scale = Double(m) / 8
        return Region(pixels: pixels, height: height, width: width, channels: channels, scaleNumerator: m,
                      scaledHeight: Int(region.scaled_height), scaledWidth: Int(region.scaled_width), origin: (x0, y0),
                      sourceBox: (Double(box.x) * scale - Double(x0), Double(box.y) * scale - Double(y0),
                                  Double(box.width) * scale, Double(box.height) * scale))
    }
}
