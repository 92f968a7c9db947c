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

/// The one reader of the jpeg image store's JPEGs: the header alone (``imageSize(of:)``, the
/// build's shapes), the whole image (``JPEGImageStore/decodeStored(_:channels:expected:into:)``,
/// untransformed serving and `verify()`), and only a box of it with libjpeg-turbo's DCT scaling
/// (transforms over a JPEG-stored column, which then resample from the region it wrote). Every
/// decode reads the header once and writes into the caller's buffer.
///
/// The box's columns are cropped with `jpeg_crop_scanline` and the rows above it skipped with
/// `jpeg_skip_scanlines` (the rows below are never decoded); the IDCT can shrink the image by
/// 1/2, 1/4 or 1/8 on the way (``scaleNumerator(for:targetHeight:targetWidth:)`` picks the
/// smallest scale whose box still covers the target size, so the transform still shrinks it and
/// keeps its antialiased quality). The decoded columns start a column left of the box and end two
/// right of it (at an iMCU boundary on the left): there fancy upsampling treats the crop's edges
/// as the image's, outside the box, so at scale 1 the box's pixels equal the same box of the full
/// decode exactly. A grey JPEG served as colour (or the reverse) is converted in the same buffer,
/// as the pixels store converts.
///
/// ```swift
/// let decoder = JPEGRegionDecoder(channels: 3)
/// let box = ImageBox(x: 40, y: 30, width: 300, height: 260)
/// let m = JPEGRegionDecoder.scaleNumerator(for: box, targetHeight: 224, targetWidth: 224)  // 4: scale 1/2
/// var buffer = [UInt8](repeating: 0, count: JPEGRegionDecoder.capacity(for: box, scaleNumerator: m))
/// let region = try buffer.withUnsafeMutableBytes { try decoder.decode(jpeg, box: box, scaleNumerator: m, into: $0) }
/// // Resample region.sourceBox(of: box) (fractional) of the region's pixels to 224 × 224.
/// ```
public struct JPEGRegionDecoder: Sendable, Hashable {
    /// Channels of every region: 3 (RGB; grey replicated) or 1 (grey).
    public var channels: Int

    /// A decoder giving `channels` (1 or 3) channels.
    public init(channels: Int = 3) {
        precondition(channels == 1 || channels == 3, "a region decoder gives 1 or 3 channels")
        self.channels = channels
    }

    /// What a decode wrote at the start of its buffer: `height` rows of `width × channels`
    /// bytes, the scaled image's columns `x ..< x + width` and rows `y ..< y + height`.
    public struct Region: Sendable, Hashable {
        /// The scaled image's first decoded column: at or left of the first column asked for.
        public var x: Int
        /// The scaled image's first decoded row: the first row asked for.
        public var y: Int
        /// Columns of each row written (the columns asked for and the margin around them).
        public var width: Int
        /// Rows written.
        public var height: Int
        /// Samples per pixel written.
        public var channels: Int
        /// The DCT scale used is `scaleNumerator / 8` (8: full size).
        public var scaleNumerator: Int
        /// The whole image's height at that scale.
        public var scaledHeight: Int
        /// The whole image's width at that scale.
        public var scaledWidth: Int

        /// Bytes written: `height × width × channels`.
        public var byteCount: Int { height * width * channels }

        /// `box` (full-size pixels) in the region's pixels, fractional at scales below 1: what a
        /// resampler takes as its source box.
        public func sourceBox(of box: ImageBox) -> (x: Double, y: Double, width: Double, height: Double) {
            let scale = Double(scaleNumerator) / 8
            return (Double(box.x) * scale - Double(x), Double(box.y) * scale - Double(y),
                    Double(box.width) * scale, Double(box.height) * scale)
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

    /// A side of `side` pixels at the scale `scaleNumerator / 8`: libjpeg's `ceil(side × M / 8)`.
    public static func scaledSide(_ side: Int, scaleNumerator: Int) -> Int { (side * scaleNumerator + 7) / 8 }

    /// The pixels `start ..< start + count` (full size) at the scale `scaleNumerator / 8`,
    /// rounded outwards.
    static func scaled(_ start: Int, _ count: Int, scaleNumerator m: Int) -> Range<Int> {
        let low = start * m / 8
        return low..<max(low + 1, scaledSide(start + count, scaleNumerator: m))
    }

    /// The bytes a decode of `columns` columns and `rows` rows (scaled pixels) needs at most, for
    /// any JPEG (CMYK included) and either channel count.
    public static func capacity(columns: Int, rows: Int) -> Int {
        dg_jpeg_region_capacity(UInt32(clamping: columns), UInt32(clamping: rows), 4)
    }

    /// The bytes ``decode(_:box:scaleNumerator:into:)`` needs at most for `box`.
    public static func capacity(for box: ImageBox, scaleNumerator: Int) -> Int {
        capacity(columns: scaled(box.x, box.width, scaleNumerator: scaleNumerator).count,
                 rows: scaled(box.y, box.height, scaleNumerator: scaleNumerator).count)
    }

    /// The JPEG `bytes`' size, `(height, width)`, from its header alone.
    /// - Throws: ``ImageDecodingError`` when the header cannot be read or the image is empty.
    public static func imageSize(of bytes: UnsafeRawBufferPointer) throws(ImageDecodingError) -> (height: Int, width: Int) {
        var info = dg_image_info()
        guard dg_jpeg_read_header(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &info) == 0 else {
            throw .corrupt(format: .jpeg, reason: cString(info.message))
        }
        guard info.width > 0, info.height > 0 else { throw .emptyImage(width: Int(info.width), height: Int(info.height)) }
        return (Int(info.height), Int(info.width))
    }

    /// The box of the JPEG `bytes` (full-size pixels, inside the image), decoded at the scale
    /// ``scaleNumerator(for:targetHeight:targetWidth:)`` picks for the target size, into
    /// `buffer` (``capacity(for:scaleNumerator:)`` bytes).
    /// - Throws: ``ImageDecodingError`` for a damaged JPEG or a box outside the image.
    public func decode(_ bytes: UnsafeRawBufferPointer, box: ImageBox, targetHeight: Int, targetWidth: Int,
                       into buffer: UnsafeMutableRawBufferPointer) throws(ImageDecodingError) -> Region {
        try decode(bytes, box: box, scaleNumerator: Self.scaleNumerator(for: box, targetHeight: targetHeight, targetWidth: targetWidth),
                   into: buffer)
    }

    /// The box of the JPEG `bytes` (full-size pixels, inside the image), decoded at
    /// `scaleNumerator / 8` (1 ... 8) into `buffer` (``capacity(for:scaleNumerator:)`` bytes).
    /// - Throws: ``ImageDecodingError`` for a damaged JPEG or a box outside the image.
    public func decode(_ bytes: UnsafeRawBufferPointer, box: ImageBox, scaleNumerator: Int,
                       into buffer: UnsafeMutableRawBufferPointer) throws(ImageDecodingError) -> Region {
        precondition((1...8).contains(scaleNumerator), "the scale is 1/8 to 8/8")
        guard box.width > 0, box.height > 0, box.x >= 0, box.y >= 0 else {
            throw .corrupt(format: .jpeg, reason: "the box \(box) does not lie inside the image")
        }
        let columns = Self.scaled(box.x, box.width, scaleNumerator: scaleNumerator)
        let rows = Self.scaled(box.y, box.height, scaleNumerator: scaleNumerator)
        var image = (height: 0, width: 0)
        let region = try decode(bytes, columns: columns, rows: rows, scaleNumerator: scaleNumerator, into: buffer, image: &image)
        guard box.x <= image.width - box.width, box.y <= image.height - box.height else {
            throw .corrupt(format: .jpeg, reason: "the box \(box) does not lie inside the \(image.width)×\(image.height) image")
        }
        return region
    }

    /// The scaled image's `columns` and `rows` of the JPEG `bytes`, decoded at
    /// `scaleNumerator / 8` (1 ... 8) into `buffer` (``capacity(columns:rows:)`` bytes), after
    /// checking that the image's full size is `expectedSize` when given.
    /// - Throws: ``ImageDecodingError`` for a damaged JPEG, one of another size, or a box outside
    ///   the scaled image.
    public func decode(_ bytes: UnsafeRawBufferPointer, columns: Range<Int>, rows: Range<Int>, scaleNumerator: Int,
                       expectedSize: (height: Int, width: Int)? = nil,
                       into buffer: UnsafeMutableRawBufferPointer) throws(ImageDecodingError) -> Region {
        var image = (height: 0, width: 0)
        return try decode(bytes, columns: columns, rows: rows, scaleNumerator: scaleNumerator, expectedSize: expectedSize,
                          into: buffer, image: &image)
    }

    /// ``decode(_:columns:rows:scaleNumerator:expectedSize:into:)``, setting `image` to the
    /// full size the header gives.
    func decode(_ bytes: UnsafeRawBufferPointer, columns: Range<Int>, rows: Range<Int>, scaleNumerator: Int,
                expectedSize: (height: Int, width: Int)? = nil, into buffer: UnsafeMutableRawBufferPointer,
                image: inout (height: Int, width: Int)) throws(ImageDecodingError) -> Region {
        var needed = 0
        guard let region = try decodeIfItFits(bytes, columns: columns, rows: rows, scaleNumerator: scaleNumerator,
                                              expectedSize: expectedSize, into: buffer, image: &image, needed: &needed) else {
            throw .corrupt(format: .jpeg, reason: "the region needs \(needed) bytes, the buffer holds \(buffer.count)")
        }
        return region
    }

    /// The decode itself (one C call, the header read once), or `nil` when `buffer` is too small
    /// for it: then `needed` is the bytes it needs (a whole-image buffer sized for the served
    /// channels is too small for a CMYK JPEG, or a colour one served as grey).
    func decodeIfItFits(_ bytes: UnsafeRawBufferPointer, columns: Range<Int>, rows: Range<Int>, scaleNumerator: Int,
                        expectedSize: (height: Int, width: Int)?, into buffer: UnsafeMutableRawBufferPointer,
                        image: inout (height: Int, width: Int), needed: inout Int) throws(ImageDecodingError) -> Region? {
        precondition((1...8).contains(scaleNumerator), "the scale is 1/8 to 8/8")
        guard columns.lowerBound >= 0, rows.lowerBound >= 0, !columns.isEmpty, !rows.isEmpty,
              columns.upperBound <= 1 << 30, rows.upperBound <= 1 << 30 else {
            throw .corrupt(format: .jpeg, reason: "the box \(columns) × \(rows) does not lie inside the scaled image")
        }
        var region = dg_jpeg_region()
        let status = dg_jpeg_decode_region(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
                                           UInt32(scaleNumerator), UInt32(columns.lowerBound), UInt32(rows.lowerBound),
                                           UInt32(columns.count), UInt32(rows.count),
                                           buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, &region)
        image = (Int(region.image_height), Int(region.image_width))
        if let expectedSize, image.height > 0 || image.width > 0, image != expectedSize {
            throw .corrupt(format: .jpeg, reason: "the JPEG is \(image.height)×\(image.width), its recorded shape \(expectedSize.height)×\(expectedSize.width)")
        }
        if status == -1 { throw .corrupt(format: .jpeg, reason: cString(region.message)) }
        let components = Int(region.components)
        let pixels = Int(region.width) * Int(region.height)
        needed = pixels * max(components, channels)
        guard status == 0, needed <= buffer.count else { return nil }
        if components != channels, let base = buffer.baseAddress {
            PixelConversion.convert(base, pixels: pixels, components: components, to: channels, cmyk: true)
        }
        return Region(x: Int(region.x), y: Int(region.y), width: Int(region.width), height: Int(region.height), channels: channels,
                      scaleNumerator: scaleNumerator, scaledHeight: Int(region.scaled_height), scaledWidth: Int(region.scaled_width))
    }
}
