import DataGenerator
import FuzzSupport

/// libFuzzer's entry point: the input's first three bytes choose an image (height and width
/// 1…64, 1 or 3 channels) and a seed; the rest is a transform spec.
///
/// The spec goes through ``ImagePipeline/init(parsing:)``: a thrown ``TransformSpecError`` is
/// expected (its position must lie within the spec); a pipeline that parses must describe itself
/// as a spec that parses back to it, and, when its output is at most 96 × 96, render the image
/// into a buffer of exactly its output size (the sampler and the resampling kernel run on
/// whatever sizes, crops and ranges the fuzzer writes). A crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 3, let data = input else { return 0 }
    let height = Int(data[0] % 64) + 1
    let width = Int(data[1] % 64) + 1
    let channels = data[2] & 1 == 0 ? 3 : 1
    let spec = String(decoding: UnsafeBufferPointer(start: data + 3, count: size - 3), as: UTF8.self)
    let pipeline: ImagePipeline
    do {
        pipeline = try ImagePipeline(parsing: spec)
    } catch {
        switch error {
        case let .unexpected(_, position, _, _), let .unknownTransform(_, position, _), let .invalidArgument(_, position, _, _):
            precondition(position >= 0 && position <= spec.utf8.count, "position \(position) outside the spec")
        case .invalidPipeline:
            break
        }
        return 0
    }
    guard let again = try? ImagePipeline(parsing: pipeline.description), again == pipeline else {
        preconditionFailure("'\(pipeline.description)' does not parse back to the pipeline of '\(spec)'")
    }
    guard (try? pipeline.check(channels: channels)) != nil, pipeline.outputSize <= 96 else { return 0 }
    let pixels = (0..<(height * width * channels)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(data[2])) }
    let count = pipeline.outputShape(channels: channels).reduce(1, *) * pipeline.outputDType.byteWidth
    let output = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
    defer { output.deallocate() }
    var draws = TransformRandom(seed: UInt64(data[2]), epoch: Int(data[0]), key: UInt64(data[1]))
    pixels.withUnsafeBytes { bytes in
        pipeline.render(ImageSource(height: height, width: width, channels: channels, pixels: bytes.baseAddress!),
                        draws: &draws, into: output)
    }
    return 0
}

/// The process entry point (see ``runFuzzer(argc:argv:callback:)``).
@_cdecl("FuzzTransformSpec_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, callback: fuzz)
}
