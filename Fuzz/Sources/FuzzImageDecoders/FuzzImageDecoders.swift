import DataGenerator
import FuzzSupport

/// libFuzzer's entry point: the first byte picks the parser, the rest is its input.
///
/// 0: ``ImageDecoder`` (3 channels) on the bytes, JPEG or PNG by their signature; 1: the same with
/// 1 channel and `maxSide` 24 (the conversion and the antialiased resize run too); 2: the EXIF
/// orientation readers alone (``ExifOrientation/of(jpeg:)`` and ``ExifOrientation/of(png:)``),
/// whose results must be 1…8. Pixels are
/// capped at 4 MP so that a valid large image is not reported as an out-of-memory crash.
/// Thrown ``ImageDecodingError``s are expected; a crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0, let data = input else { return 0 }
    let selector = data[0] % 3
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch selector {
    case 0, 1:
        let channels = selector == 0 ? 3 : 1
        let decoder = ImageDecoder(channels: channels, maxPixels: 4_000_000, maxSide: selector == 1 ? 24 : nil)
        if let image = try? decoder.decodePixels(bytes) {
            precondition(image.pixels.count == image.height * image.width * channels, "pixels do not fit the shape")
            precondition(selector == 0 || max(image.height, image.width) <= 24, "maxSide not applied")
        }
    default:
        for orientation in [ExifOrientation.of(jpeg: bytes), ExifOrientation.of(png: bytes)] {
            precondition((1...8).contains(orientation), "orientation \(orientation) out of range")
        }
    }
    return 0
}

/// The process entry point (see ``runFuzzer(argc:argv:callback:)``).
@_cdecl("FuzzImageDecoders_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, callback: fuzz)
}
