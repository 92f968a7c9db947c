import DataGenerator
import FuzzSupport

/// libFuzzer's entry point: the first byte picks the parser, the rest is its input.
///
/// 0: ``ImageDecoder`` (3 channels) on the bytes, JPEG or PNG by their signature; 1: the same with
/// 1 channel and `maxSide` 24 (the conversion and the antialiased resize run too); 2: the EXIF
/// orientation readers alone (``ExifOrientation/of(jpeg:)`` and ``ExifOrientation/of(png:)``),
/// whose results must be 1…8; 3: ``JPEGRegionDecoder`` (the jpeg image store's crop decode), the
/// next 5 bytes choosing the DCT scale and the box, whose region must have the box's scaled size;
/// 4: ``JPEGImageStore`` (keep or re-encode with `maxSide` 32), whose stored JPEG must then
/// decode to its recorded shape (``JPEGImageStore/decodeStored(_:channels:expected:into:)``,
/// the serving path). Pixels are
/// capped at 4 MP so that a valid large image is not reported as an out-of-memory crash.
/// Thrown ``ImageDecodingError``s are expected; a crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0, let data = input else { return 0 }
    let selector = data[0] % 5
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch selector {
    case 0, 1:
        let channels = selector == 0 ? 3 : 1
        let decoder = ImageDecoder(channels: channels, maxPixels: 4_000_000, maxSide: selector == 1 ? 24 : nil)
        if let image = try? decoder.decodePixels(bytes) {
            precondition(image.pixels.count == image.height * image.width * channels, "pixels do not fit the shape")
            precondition(selector == 0 || max(image.height, image.width) <= 24, "maxSide not applied")
        }
    case 3:
        fuzzRegion(bytes)
    case 4:
        fuzzStore(bytes)
    default:
        for orientation in [ExifOrientation.of(jpeg: bytes), ExifOrientation.of(png: bytes)] {
            precondition((1...8).contains(orientation), "orientation \(orientation) out of range")
        }
    }
    return 0
}

/// ``JPEGRegionDecoder`` on `bytes[5...]`, a box and scale chosen by `bytes[0..<5]`, into a
/// buffer of the capacity it asks for (ASan reports any write past it).
func fuzzRegion(_ bytes: [UInt8]) {
    guard bytes.count > 5 else { return }
    let jpeg = Array(bytes[5...])
    guard let size = try? jpeg.withUnsafeBytes({ try JPEGRegionDecoder.imageSize(of: $0) }),
          size.height * size.width <= 4_000_000 else { return }
    let (height, width) = size
    let x = Int(bytes[1]) * width / 256, y = Int(bytes[2]) * height / 256
    let box = ImageBox(x: x, y: y, width: max(1, (width - x) * (Int(bytes[3]) + 1) / 256),
                       height: max(1, (height - y) * (Int(bytes[4]) + 1) / 256))
    let scale = JPEGRegionDecoder.scaleNumerators[Int(bytes[0]) % 4]
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: JPEGRegionDecoder.capacity(for: box, scaleNumerator: scale),
                                                       alignment: 16)
    defer { buffer.deallocate() }
    guard let region = try? jpeg.withUnsafeBytes({ try JPEGRegionDecoder(channels: 3).decode($0, box: box, scaleNumerator: scale, into: buffer) }) else {
        return
    }
    precondition(region.byteCount <= buffer.count, "region pixels do not fit the capacity asked for")
    precondition(region.x + region.width <= region.scaledWidth && region.y + region.height <= region.scaledHeight,
                 "region outside the scaled image")
    let source = region.sourceBox(of: box)
    precondition(source.x >= 0 && source.x + source.width <= Double(region.width) + 1e-9
                 && source.y >= 0 && source.y + source.height <= Double(region.height) + 1e-9, "source box outside the region")
}

/// ``JPEGImageStore`` on `bytes`: whatever it stores must decode to the shape it records.
/// Capped at 1 MP: a 4 MP CMYK file decoded, converted and shrunk to 32 pixels took over 10 s
/// under the fuzzer's instrumentation on the loaded machine (a harness limit, not a hang: the
/// same work as selector 1's).
func fuzzStore(_ bytes: [UInt8]) {
    let store = JPEGImageStore(decoder: ImageDecoder(channels: 3, maxPixels: 1_000_000, maxSide: 32))
    guard let stored = try? store.store(bytes) else { return }
    var pixels = [UInt8](repeating: 0, count: stored.height * stored.width * 3)
    let decoded = try? stored.bytes.withUnsafeBytes { source in
        try pixels.withUnsafeMutableBytes { target in
            try JPEGImageStore.decodeStored(source, channels: 3, expected: (stored.height, stored.width), into: target)
        }
    }
    precondition(decoded != nil, "a stored JPEG does not decode to its recorded shape")
}

/// The process entry point (see ``runFuzzer(argc:argv:callback:)``).
@_cdecl("FuzzImageDecoders_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, callback: fuzz)
}
