import CImageCodecs

/// Decodes JPEG and PNG files, recognised by their first bytes (never their extension), to
/// `uint8` pixels of shape `[height, width, channels]`: the CLI's `--data image`.
///
/// The pixels equal Pillow's `ImageOps.exif_transpose(Image.open(f)).convert("RGB")` byte for
/// byte: JPEG through libjpeg-turbo with its defaults (accurate integer IDCT, fancy upsampling),
/// CMYK and YCCK JPEGs un-inverted (Adobe's convention) then converted as Pillow's `cmyk2rgb`;
/// PNG through libpng, palettes expanded, 16-bit samples stored as `v >> 8`, alpha dropped; the
/// EXIF orientation applied (a JPEG's APP1 segment, a PNG's `eXIf` chunk). With ``channels`` 1, colour pixels become grey as Pillow's
/// `convert("L")` (`(19595 R + 38470 G + 7471 B + 32768) >> 16`).
///
/// The header is read first: a size above ``maxPixels`` is refused before any pixel buffer is
/// allocated. With ``maxSide``, images whose longer side exceeds it are shrunk with Pillow's
/// antialiased bilinear filter (``ImageResampler``), aspect kept.
///
/// ```swift
/// let decoder = ImageDecoder(channels: 3, maxSide: 256)
/// let image = try decoder.decode(contents)   // uint8 [h, w, 3], h and w ≤ 256
/// ```
public struct ImageDecoder: Sendable, Hashable {
    /// Pillow's default limit (`Image.MAX_IMAGE_PIXELS`, 178,956,970 pixels), the default of
    /// ``maxPixels``.
    public static let defaultMaxPixels = 178_956_970

    /// Channels of every result: 3 (RGB; grey replicated, alpha dropped) or 1 (grey).
    public var channels: Int
    /// The most pixels (width × height, as the header declares) a file may hold.
    public var maxPixels: Int
    /// The longest side a stored image may have, or `nil` to keep every image's size.
    public var maxSide: Int?

    /// A decoder giving `channels` (1 or 3) channels.
    public init(channels: Int = 3, maxPixels: Int = ImageDecoder.defaultMaxPixels, maxSide: Int? = nil) {
        precondition(channels == 1 || channels == 3, "an image decoder gives 1 or 3 channels")
        self.channels = channels
        self.maxPixels = maxPixels
        self.maxSide = maxSide
    }

    /// A stable description for encoder identities (keys the cache).
    public var identity: String {
        "image(channels=\(channels),max_side=\(maxSide.map(String.init) ?? "none"),max_pixels=\(maxPixels))@1"
    }

    /// The spec of every record's array: `uint8 [*, *, channels]`, variable in height and width.
    public var outputSpec: ArraySpec { .variableShape(.uint8, rank: 3, fixed: [2: channels]) }

    /// The image in `contents`, as `uint8 [height, width, channels]`.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming the record,
    ///   its path and an ``ImageDecodingError``.
    public func decode(_ contents: ResourceContents) throws(EncodingError) -> NDArray {
        do {
            let image = try decodePixels(contents.bytes)
            return try! NDArray(dtype: .uint8, shape: [image.height, image.width, channels], bytes: image.pixels)  // sizes computed here
        } catch {
            throw .malformedData(row: contents.row, id: contents.id, location: contents.location, reason: error.description)
        }
    }

    /// Decoded pixels with their size.
    public struct Pixels: Sendable, Hashable {
        /// Rows of the image.
        public var height: Int
        /// Columns of the image.
        public var width: Int
        /// `height × width × channels` bytes, row-major, channels interleaved.
        public var pixels: [UInt8]
    }

    /// The pixels of the JPEG or PNG file `bytes`.
    /// - Throws: ``ImageDecodingError``.
    public func decodePixels(_ bytes: [UInt8]) throws(ImageDecodingError) -> Pixels {
        guard !bytes.isEmpty else { throw .empty }
        guard let format = ImageFormat.recognise(bytes) else { throw .notAnImage(firstBytes: Array(bytes.prefix(8))) }
        var info = dg_image_info()
        let headerStatus = bytes.withUnsafeBufferPointer { buffer in
            format == .jpeg ? dg_jpeg_read_header(buffer.baseAddress, buffer.count, &info)
                            : dg_png_read_header(buffer.baseAddress, buffer.count, &info)
        }
        guard headerStatus == 0 else { throw .corrupt(format: format, reason: Self.message(of: info)) }
        let width = Int(info.width), height = Int(info.height), components = Int(info.components)
        guard width > 0, height > 0 else { throw .emptyImage(width: width, height: height) }
        try checkPixelCount(width: width, height: height)
        let byteCount = width * height * components
        // Left uninitialised: a successful decode writes every byte (no memset of a buffer larger
        // than what is kept), and a failed one's buffer is dropped.
        var status: Int32 = -1
        let decoded = [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            status = bytes.withUnsafeBufferPointer { buffer in
                format == .jpeg ? dg_jpeg_decode(buffer.baseAddress, buffer.count, out.baseAddress, out.count, &info)
                                : dg_png_decode(buffer.baseAddress, buffer.count, out.baseAddress, out.count, &info)
            }
            initialized = byteCount
        }
        guard status == 0 else { throw .corrupt(format: format, reason: Self.message(of: info)) }
        var pixels = PixelConversion.convert(decoded, components: components, to: channels, cmyk: format == .jpeg)
        var (outHeight, outWidth) = (height, width)
        do {
            let orientation = format == .jpeg ? ExifOrientation.of(jpeg: bytes) : ExifOrientation.of(png: bytes)
            pixels = ExifOrientation.apply(orientation, to: pixels, height: height, width: width, channels: channels)
            (outHeight, outWidth) = ExifOrientation.orientedSize(height: height, width: width, orientation: orientation)
        }
        if let maxSide {
            let (fittedHeight, fittedWidth) = ImageResampler.fittedSize(height: outHeight, width: outWidth, maxSide: maxSide)
            if fittedHeight != outHeight || fittedWidth != outWidth {
                pixels = ImageResampler.resize(pixels, height: outHeight, width: outWidth, channels: channels,
                                               toHeight: fittedHeight, width: fittedWidth)
                (outHeight, outWidth) = (fittedHeight, fittedWidth)
            }
        }
        return Pixels(height: outHeight, width: outWidth, pixels: pixels)
    }

    /// Refuses an image whose header claims more than ``maxPixels`` pixels, before anything is
    /// allocated for it (the pixels store's decode and the jpeg store's check both ask).
    func checkPixelCount(width: Int, height: Int) throws(ImageDecodingError) {
        let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixelCount <= maxPixels else {
            throw .tooManyPixels(width: width, height: height, limit: maxPixels)
        }
    }

    private static func message(of info: dg_image_info) -> String {
        withUnsafeBytes(of: info.message) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}

/// Conversions between the decoders' sample layouts and the stored channels, as Pillow converts.
enum PixelConversion {
    /// `pixels` of `components` samples per pixel (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA or CMYK
    /// when `cmyk`) as `channels` (1 or 3) samples per pixel.
    static func convert(_ pixels: [UInt8], components: Int, to channels: Int, cmyk: Bool) -> [UInt8] {
        let count = pixels.count / components
        if components == channels || count == 0 { return components == channels ? pixels : [] }
        return [UInt8](unsafeUninitializedCapacity: count * max(components, channels)) { out, initialized in
            pixels.withUnsafeBytes { out.baseAddress!.update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count * components) }
            convert(UnsafeMutableRawPointer(out.baseAddress!), pixels: count, components: components, to: channels, cmyk: cmyk)
            initialized = count * channels
        }
    }

    /// `pixels` pixels of `components` samples at `buffer` converted in place (see
    /// ``convert(_:components:to:cmyk:)``) to `channels` samples each: `buffer` holds
    /// `pixels × max(components, channels)` bytes. Widening runs from the last pixel, narrowing
    /// from the first, so that no pixel is overwritten before it is read.
    static func convert(_ buffer: UnsafeMutableRawPointer, pixels count: Int, components: Int, to channels: Int, cmyk: Bool) {
        guard components != channels, count > 0 else { return }
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        // One loop per case, with no branch per pixel (the fuzzer's coverage build, and grey or
        // CMYK files in a build, run these over every pixel).
        switch (components, channels) {
        case (1, 3), (2, 3):
            // Widening (or as wide): from the last pixel, which no write overtakes.
            for i in stride(from: count - 1, through: 0, by: -1) {
                let grey = bytes[i * components]
                bytes[i * 3] = grey; bytes[i * 3 + 1] = grey; bytes[i * 3 + 2] = grey
            }
        case (2, 1):
            for i in 0..<count { bytes[i] = bytes[i * 2] }
        case (4, 3) where cmyk:
            for i in 0..<count {
                let s = i * 4
                let nk = 255 - Int(bytes[s + 3])
                let (c, m, y) = (Int(bytes[s]), Int(bytes[s + 1]), Int(bytes[s + 2]))
                bytes[i * 3] = UInt8(nk - mulDiv255(c, nk))
                bytes[i * 3 + 1] = UInt8(nk - mulDiv255(m, nk))
                bytes[i * 3 + 2] = UInt8(nk - mulDiv255(y, nk))
            }
        case (_, 3) where components > 3:
            for i in 0..<count {
                let s = i * components
                bytes[i * 3] = bytes[s]; bytes[i * 3 + 1] = bytes[s + 1]; bytes[i * 3 + 2] = bytes[s + 2]
            }
        case (4, 1) where cmyk:
            for i in 0..<count {
                let s = i * 4
                let nk = 255 - Int(bytes[s + 3])
                bytes[i] = luma(nk - mulDiv255(Int(bytes[s]), nk), nk - mulDiv255(Int(bytes[s + 1]), nk),
                                nk - mulDiv255(Int(bytes[s + 2]), nk))
            }
        case (_, 1) where components >= 3:
            for i in 0..<count {
                let s = i * components
                bytes[i] = luma(Int(bytes[s]), Int(bytes[s + 1]), Int(bytes[s + 2]))
            }
        default:
            preconditionFailure("no conversion from \(components) samples to \(channels) channels")
        }
    }

    /// Pillow's `L` from `RGB` (ITU-R 601-2 luma, 16-bit fixed point, rounded).
    @inline(__always)
    static func luma(_ r: Int, _ g: Int, _ b: Int) -> UInt8 {
        UInt8((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16)
    }

    /// Pillow's `MULDIV255`: `((x·y + 128) + ((x·y + 128) >> 8)) >> 8`.
    @inline(__always)
    static func mulDiv255(_ x: Int, _ y: Int) -> Int {
        let t = x * y + 128
        return (t + (t >> 8)) >> 8
    }
}
