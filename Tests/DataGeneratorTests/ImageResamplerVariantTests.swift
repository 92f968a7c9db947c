import CImageKernels
import Testing
@testable import DataGenerator

/// The `--max-side` resize (ImageResampler) gives the same bytes on the C loops' baseline and
/// AVX2 variants, and the same bytes as Pillow's arithmetic written out tap by tap in Swift.
@Suite struct ImageResamplerVariantTests {
    static let avx2 = dg_image_kernels_isa_available(DG_KERNEL_ISA_AVX2) == 1

    /// Pillow's two passes, one sample at a time: Int32 sums from 2^21, `>> 22`, clamped to 0...255.
    static func reference(_ pixels: [UInt8], height: Int, width: Int, channels: Int,
                          toHeight newHeight: Int, width newWidth: Int) -> [UInt8] {
        func clip(_ sum: Int32) -> UInt8 { UInt8(min(max(sum >> 22, 0), 255)) }
        var current = pixels, currentWidth = width
        if newWidth != width {
            let c = ImageResampler.coefficients(inSize: width, outSize: newWidth)
            var out = [UInt8](repeating: 0, count: height * newWidth * channels)
            for y in 0..<height {
                for x in 0..<newWidth {
                    for channel in 0..<channels {
                        var sum = Int32(1 << 21)
                        for t in 0..<c.bounds[x].count {
                            let sample = current[(y * width + c.bounds[x].first + t) * channels + channel]
                            sum = sum &+ Int32(sample) &* c.weights[x * c.size + t]
                        }
                        out[(y * newWidth + x) * channels + channel] = clip(sum)
                    }
                }
            }
            current = out
            currentWidth = newWidth
        }
        if newHeight != height {
            let c = ImageResampler.coefficients(inSize: height, outSize: newHeight)
            let stride = currentWidth * channels
            var out = [UInt8](repeating: 0, count: newHeight * stride)
            for y in 0..<newHeight {
                for i in 0..<stride {
                    var sum = Int32(1 << 21)
                    for t in 0..<c.bounds[y].count {
                        sum = sum &+ Int32(current[(c.bounds[y].first + t) * stride + i]) &* c.weights[y * c.size + t]
                    }
                    out[y * stride + i] = clip(sum)
                }
            }
            current = out
        }
        return current
    }

    @Test(.enabled(if: avx2, "the CPU has no AVX2"))
    func baselineAndAVX2GiveTheSameBytesAsPillowsArithmeticOverRandomSizes() {
        var noise = SplitMix64(seed: 23)
        var compared = 0
        for trial in 0..<72 {
            // Sides from 1 to 400; outputs that shrink a little (3 taps), about 2× (4-5 taps), a lot
            // (7-10 weights, and more) or enlarge (2 taps), odd and even row counts, and 1 to 4 channels.
            let height = 1 + Int(noise.next() % 400), width = 1 + Int(noise.next() % 400)
            let divisor = [1.0, 1.3, 2.0, 1.8, 3.7, 9.0, 0.6, 2.4, 4.4][trial % 9]
            let newHeight = max(1, Int(Double(height) / divisor) - Int(noise.next() % 2))
            let newWidth = max(1, Int(Double(width) / divisor) - Int(noise.next() % 2))
            let channels = trial % 5 == 4 ? 1 + Int(noise.next() % 4) : 3
            let pixels = (0..<(height * width * channels)).map { _ in UInt8(truncatingIfNeeded: noise.next()) }
            let expected = Self.reference(pixels, height: height, width: width, channels: channels,
                                          toHeight: newHeight, width: newWidth)
            for isa in [DG_KERNEL_ISA_BASELINE, DG_KERNEL_ISA_AVX2] {
                let resized = ImageResampler.resize(pixels, height: height, width: width, channels: channels,
                                                    toHeight: newHeight, width: newWidth, instructionSet: isa)
                #expect(resized == expected,
                        "variant \(isa): \(height) × \(width) × \(channels) -> \(newHeight) × \(newWidth)")
                compared += 1
            }
        }
        #expect(compared == 144)
    }

    @Test func extremeImagesClampTheSameOnEveryVariant() {
        // All-white and all-black images, and a checkerboard of both, shrunk by 2.2: sums at the top
        // and bottom of the range.
        for pattern in 0..<3 {
            let (height, width) = (37, 53)
            let pixels = (0..<(height * width * 3)).map { i -> UInt8 in
                pattern == 0 ? 255 : pattern == 1 ? 0 : ((i / 3 + i / (3 * width)) % 2 == 0 ? 255 : 0)
            }
            let expected = Self.reference(pixels, height: height, width: width, channels: 3, toHeight: 17, width: 24)
            for isa in [DG_KERNEL_ISA_BASELINE, DG_KERNEL_ISA_AVX2] {
                #expect(ImageResampler.resize(pixels, height: height, width: width, channels: 3,
                                              toHeight: 17, width: 24, instructionSet: isa) == expected)
            }
        }
    }
}
