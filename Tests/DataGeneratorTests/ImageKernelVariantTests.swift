import CImageKernels
import Testing
@testable import DataGenerator

/// The C loops' baseline and AVX2 variants (CImageKernels) give the same bytes: the same
/// fixed-point sums and the same float32 operations, whichever the CPU runs.
@Suite struct ImageKernelVariantTests {
    static let avx2 = dg_image_kernels_isa_available(DG_KERNEL_ISA_AVX2) == 1

    /// `pipeline` over `pixels` with the draws of `key`, on variant `isa`.
    func render(_ pipeline: ImagePipeline, _ pixels: [UInt8], height: Int, width: Int, key: UInt64, isa: CInt) -> [UInt8] {
        let output = TransformOutput(pipeline: pipeline, channels: 3)
        let count = pipeline.outputShape(channels: 3).reduce(1, *) * output.elementBytes
        var served = [UInt8](repeating: 0xA5, count: count)
        let scratch = TransformScratch()
        scratch.instructionSet = isa
        var draws = TransformRandom(seed: 3, epoch: 0, key: key)
        let geometry = pipeline.geometry(height: height, width: width, draws: &draws)
        pixels.withUnsafeBytes { source in
            served.withUnsafeMutableBytes { target in
                ImageTransformKernel.render(ImageSource(height: height, width: width, channels: 3, pixels: source.baseAddress!),
                                            geometry: geometry, output: output, scratch: scratch, into: target.baseAddress!)
            }
        }
        return served
    }

    @Test(.enabled(if: avx2, "the CPU has no AVX2"))
    func baselineAndAVX2GiveTheSameBytesOverRandomSizesTapsAndSpecs() throws {
        var noise = SplitMix64(seed: 19)
        let suffixes = ["", ",chw", ",normalize(imagenet)", ",normalize(imagenet),chw"]
        var compared = 0
        for trial in 0..<48 {
            // Images from 3 to 300 pixels a side; outputs that enlarge (2 taps), shrink a little
            // (3-4 taps, the padded rows) or a lot (5 and more taps), with and without zero borders.
            let height = 3 + Int(noise.next() % 298), width = 3 + Int(noise.next() % 298)
            let size = 1 + Int(noise.next() % 260)
            let crops = ["random-resized-crop(\(size))", "random-resized-crop(\(size)),flip",
                         "resize-shorter(\(size)),center-crop(\(max(1, size - Int(noise.next() % 9))))", "center-crop(\(size))"]
            let spec = crops[trial % crops.count] + suffixes[Int(noise.next() % 4)]
            let pipeline = try ImagePipeline(parsing: spec)
            let pixels = (0..<(height * width * 3)).map { _ in UInt8(truncatingIfNeeded: noise.next()) }
            for key in 0..<3 as Range<UInt64> {
                let baseline = render(pipeline, pixels, height: height, width: width, key: key, isa: DG_KERNEL_ISA_BASELINE)
                let vector = render(pipeline, pixels, height: height, width: width, key: key, isa: DG_KERNEL_ISA_AVX2)
                #expect(baseline == vector, "\(spec) on \(height) × \(width), draws \(key)")
                compared += 1
            }
        }
        #expect(compared == 144)
    }

    @Test func theDefaultVariantIsAnAvailableOne() {
        let isa = dg_image_kernels_default_isa()
        #expect(dg_image_kernels_isa_available(isa) == 1)
        #expect(TransformScratch().instructionSet == isa)
    }
}
