// The driver of run.sh: renders N random crops of one 250 × 256 × 3 image through a pipeline
// (argument 2, default the ImageNet training one); with a third argument, prints a digest of
// every output.
@main struct Bench {
    static func main() throws {
        let args = CommandLine.arguments
        let count = args.count > 1 ? Int(args[1])! : 200
        let spec = args.count > 2 ? args[2] : "random-resized-crop(224),flip,normalize(imagenet),chw"
        let digesting = args.count > 3
        let pipeline = try ImagePipeline(parsing: spec)
        let (h, w, c) = (250, 256, 3)
        var pixels = [UInt8](repeating: 0, count: h * w * c)
        var s: UInt32 = 12345
        for i in 0..<pixels.count { s = s &* 1664525 &+ 1013904223; pixels[i] = UInt8(truncatingIfNeeded: (s >> 24) &+ UInt32(i % 97)) }
        let outBytes = pipeline.outputShape(channels: 3).reduce(1, *) * (pipeline.normalization == nil ? 1 : 4)
        let out = UnsafeMutableRawPointer.allocate(byteCount: outBytes, alignment: 64)
        let scratch = TransformScratch()
        let output = TransformOutput(pipeline: pipeline, channels: c)
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325
        pixels.withUnsafeBytes { raw in
            let source = ImageSource(height: h, width: w, channels: c, pixels: raw.baseAddress!)
            for i in 0..<count {
                var draws = TransformRandom(seed: 7, epoch: 0, key: UInt64(i))
                let geometry = pipeline.geometry(height: h, width: w, draws: &draws)
                ImageTransformKernel.render(source, geometry: geometry, output: output, scratch: scratch, into: out)
                guard digesting else { continue }
                let bytes = UnsafeRawBufferPointer(start: out, count: outBytes)
                for b in bytes { digest = (digest ^ UInt64(b)) &* 0x100_0000_01B3 }
            }
        }
        print("images \(count) digest \(String(digest, radix: 16))")
    }
}
