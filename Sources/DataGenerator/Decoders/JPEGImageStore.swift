import CImageCodecs

/// How `--image-store jpeg` keeps each image: as its own JPEG bytes when they already are what
/// the pixels store would hold, else re-encoded with libjpeg-turbo at ``quality``; decoded each
/// epoch when served (``decodeStored(_:channels:expected:into:)``).
///
/// A file is **kept as it is** when it is an 8-bit JPEG (baseline or progressive, Huffman or
/// arithmetic coded) that decodes without error, whose colour space is grey (any `--channels`)
/// or RGB / YCbCr (`--channels 3` only), whose EXIF orientation is 1 or absent, and whose
/// longer side fits ``ImageDecoder/maxSide``: decoding it then gives exactly the pixels the
/// pixels store holds for the same file. A kept progressive or arithmetic-coded file is
/// rewritten as baseline Huffman without loss (its DCT coefficients copied, as `jpegtran`
/// does): the same pixels, about 3 % more bytes, decoded about twice as fast. Any other file (a PNG, a CMYK or YCCK JPEG, a rotated
/// one, one larger than `--max-side`, a colour JPEG under `--channels 1`) is decoded as the
/// pixels store decodes it (``ImageDecoder/decodePixels(_:)``: orientation, conversion, resize)
/// and compressed as a baseline JFIF JPEG (grey or RGB, 4:2:0, accurate DCT, standard Huffman
/// tables, no EXIF): its served pixels are those of that JPEG, close to but not equal to the
/// pixels store's.
///
/// ```swift
/// let store = JPEGImageStore(decoder: ImageDecoder(channels: 3, maxSide: 512), quality: 90)
/// let stored = try store.store(fileBytes)   // stored.bytes: a JPEG; stored.wasKept: its own bytes?
/// ```
public struct JPEGImageStore: Sendable, Hashable {
    /// The quality re-encoded images get unless told otherwise (`--quality`).
    public static let defaultQuality = 90

    /// How files are decoded, oriented and shrunk before a re-encoding, and which sizes fit.
    public var decoder: ImageDecoder
    /// libjpeg's quality (1 ... 100) of re-encoded images.
    public var quality: Int

    /// A store decoding with `decoder` and re-encoding at `quality` (1 ... 100).
    public init(decoder: ImageDecoder = ImageDecoder(), quality: Int = JPEGImageStore.defaultQuality) {
        precondition((1...100).contains(quality), "a JPEG quality is 1 to 100")
        self.decoder = decoder
        self.quality = quality
    }

    /// A stable description for encoder identities (keys the cache).
    public var identity: String { "\(decoder.identity)|jpeg(quality=\(quality))@1" }

    /// The spec of the images as served: the decoder's `uint8 [*, *, channels]`.
    public var outputSpec: ArraySpec { decoder.outputSpec }

    /// One image as the store keeps it.
    public struct StoredImage: Sendable, Hashable {
        /// The JPEG's bytes.
        public var bytes: [UInt8]
        /// Height of the decoded image.
        public var height: Int
        /// Width of the decoded image.
        public var width: Int
        /// Whether the image serves exactly the pixels the pixels store holds for the file:
        /// `bytes` are the file's own, or their lossless baseline rewrite (``wasTranscoded``);
        /// else they are a re-encoding of its decoded pixels.
        public var wasKept: Bool
        /// Whether `bytes` are a progressive (or arithmetic-coded) file rewritten as baseline
        /// without loss (its DCT coefficients copied): the same pixels, decoded about twice as
        /// fast, and DCT scaling helps it.
        public var wasTranscoded = false
    }

    /// The JPEG kept for the file `bytes`.
    /// - Throws: ``ImageDecodingError`` for a file the pixels store would refuse too.
    public func store(_ bytes: [UInt8]) throws(ImageDecodingError) -> StoredImage {
        if let kept = try keptAsItIs(bytes) { return kept }
        let pixels = try decoder.decodePixels(bytes)
        let encoded = try Self.compress(pixels.pixels, height: pixels.height, width: pixels.width,
                                        channels: decoder.channels, quality: quality)
        return StoredImage(bytes: encoded, height: pixels.height, width: pixels.width, wasKept: false)
    }

    /// The stored JPEG of a record, as a 1-D `uint8` array of its bytes: what the build writes
    /// into a column whose ``CacheColumnEncoding`` is ``CacheColumnEncoding/jpeg``.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming the record.
    public func encode(_ contents: ResourceContents) throws(EncodingError) -> NDArray {
        do {
            return NDArray(try store(contents.bytes).bytes)
        } catch {
            throw .malformedData(row: contents.row, id: contents.id, location: contents.location, reason: error.description)
        }
    }

    /// The file's own bytes when they can be kept (see the type's description), after a decode
    /// proving them whole (``provesWhole(_:height:width:)``); `nil` when the file must be re-encoded.
    private func keptAsItIs(_ bytes: [UInt8]) throws(ImageDecodingError) -> StoredImage? {
        guard ImageFormat.recognise(bytes) == .jpeg else { return nil }
        var layout = dg_jpeg_layout()
        let status = bytes.withUnsafeBufferPointer { dg_jpeg_probe($0.baseAddress, $0.count, &layout) }
        guard status == 0, layout.precision == 8 else { return nil }  // the decoder gives the error
        let grey = layout.color_space == 1
        let colour = layout.color_space == 2 || layout.color_space == 3
        guard grey || (colour && decoder.channels == 3) else { return nil }
        let (height, width) = (Int(layout.height), Int(layout.width))
        if let maxSide = decoder.maxSide, max(height, width) > maxSide { return nil }
        guard ExifOrientation.of(jpeg: bytes) == 1 else { return nil }
        try provesWhole(bytes, height: height, width: width)
        guard layout.progressive != 0 || layout.arithmetic != 0 else {
            return StoredImage(bytes: bytes, height: height, width: width, wasKept: true)
        }
        var info = dg_image_info()
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        let rewritten = bytes.withUnsafeBufferPointer { dg_jpeg_transcode_baseline($0.baseAddress, $0.count, &output, &length, &info) }
        defer { dg_jpeg_free(output) }
        guard rewritten == 0, let output else { return nil }  // re-encoded instead
        return StoredImage(bytes: Array(UnsafeBufferPointer(start: output, count: length)), height: height, width: width,
                           wasKept: true, wasTranscoded: true)
    }

    /// Checks `--max-pixels` as the pixels store does, then decodes the whole JPEG `bytes` (its
    /// header says `height × width`) at 1/8 scale, which proves it whole as a full decode does:
    /// libjpeg still entropy-decodes every coefficient to the end marker (a truncated or damaged
    /// file fails the same way), and skips only the full-size inverse DCT, upsampling and colour
    /// conversion (0.48 ms instead of 0.81 ms on the images benchmark's ~460-pixel photos: the
    /// jpeg store's first pass is mostly this check).
    private func provesWhole(_ bytes: [UInt8], height: Int, width: Int) throws(ImageDecodingError) {
        try decoder.checkPixelCount(width: width, height: height)
        let columns = 0..<JPEGRegionDecoder.scaledSide(width, scaleNumerator: 1)
        let rows = 0..<JPEGRegionDecoder.scaledSide(height, scaleNumerator: 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: JPEGRegionDecoder.capacity(columns: columns.count, rows: rows.count),
                                                            alignment: 16)
        defer { buffer.deallocate() }
        let regionDecoder = JPEGRegionDecoder(channels: decoder.channels)
        let failure = bytes.withUnsafeBytes { file -> ImageDecodingError? in
            do throws(ImageDecodingError) {
                _ = try regionDecoder.decode(file, columns: columns, rows: rows, scaleNumerator: 1, expectedSize: (height, width), into: buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// `pixels` (`height × width × channels`, channels 1 or 3) as a baseline JPEG at `quality`.
    /// - Throws: ``ImageDecodingError/corrupt(format:reason:)`` when libjpeg refuses (a side
    ///   over 65,500 pixels).
    public static func compress(_ pixels: [UInt8], height: Int, width: Int, channels: Int,
                                quality: Int) throws(ImageDecodingError) -> [UInt8] {
        precondition(pixels.count == height * width * channels, "pixels must hold height × width × channels bytes")
        var info = dg_image_info()
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status = pixels.withUnsafeBufferPointer {
            dg_jpeg_encode($0.baseAddress, UInt32(clamping: width), UInt32(clamping: height), UInt32(channels),
                           Int32(quality), &output, &length, &info)
        }
        defer { dg_jpeg_free(output) }
        guard status == 0, let output else { throw .corrupt(format: .jpeg, reason: cString(info.message)) }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }

    /// The shape a stored JPEG decodes to, `[height, width, channels]`, from its header alone
    /// (``JPEGRegionDecoder/imageSize(of:)``).
    /// - Throws: ``ImageDecodingError`` when the header cannot be read.
    public static func storedShape(of bytes: UnsafeRawBufferPointer, channels: Int) throws(ImageDecodingError) -> [Int] {
        let size = try JPEGRegionDecoder.imageSize(of: bytes)
        return [size.height, size.width, channels]
    }

    /// Decodes a stored JPEG (no EXIF orientation is applied: stored JPEGs are upright) into
    /// `destination`, `height × width × channels` bytes, exactly as the pixels store converts
    /// (grey replicated, colour to grey as Pillow's `convert("L")`): the whole image as one
    /// region of ``JPEGRegionDecoder``, its header read once. Only a JPEG with more components
    /// than `channels` (CMYK, or colour in a grey column: never what the store writes) goes
    /// through a temporary buffer.
    /// - Returns: the decoded `(height, width)`.
    /// - Throws: ``ImageDecodingError`` for damaged bytes, or bytes whose image does not have
    ///   `expected` height and width.
    @discardableResult
    public static func decodeStored(_ bytes: UnsafeRawBufferPointer, channels: Int, expected: (height: Int, width: Int),
                                    into destination: UnsafeMutableRawBufferPointer) throws(ImageDecodingError) -> (height: Int, width: Int) {
        let (height, width) = expected
        precondition(height > 0 && width > 0 && destination.count >= height * width * channels, "the destination holds the image")
        let decoder = JPEGRegionDecoder(channels: channels)
        var image = (height: 0, width: 0)
        var needed = 0
        let whole = UnsafeMutableRawBufferPointer(rebasing: destination[..<(height * width * channels)])
        if try decoder.decodeIfItFits(bytes, columns: 0..<width, rows: 0..<height, scaleNumerator: 8, expectedSize: expected,
                                      into: whole, image: &image, needed: &needed) == nil {
            let wide = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 16)
            defer { wide.deallocate() }
            _ = try decoder.decode(bytes, columns: 0..<width, rows: 0..<height, scaleNumerator: 8, expectedSize: expected, into: wide)
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: wide[..<whole.count]))
        }
        return (height, width)
    }
}

extension JPEGImageStore {
    /// The channels (1 for grey, else 3) and coding of the JPEG `bytes`, or `nil` when its
    /// header cannot be read.
    static func probe(_ bytes: [UInt8]) -> (channels: Int, progressive: Bool)? {
        var layout = dg_jpeg_layout()
        guard bytes.withUnsafeBufferPointer({ dg_jpeg_probe($0.baseAddress, $0.count, &layout) }) == 0 else { return nil }
        return (layout.color_space == 1 ? 1 : 3, layout.progressive != 0)
    }
}

/// The NUL-terminated message of a C codec struct, as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
