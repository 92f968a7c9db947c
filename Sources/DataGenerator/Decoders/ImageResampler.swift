internal import CImageKernels

/// Pillow's antialiased bilinear resize of 8-bit interleaved pixels (`Image.resize(size,
/// Image.BILINEAR)`): a triangle filter whose support grows with the reduction factor, fixed-point
/// coefficients of 22 fractional bits, a horizontal pass then a vertical pass, each rounded and
/// clipped to 8 bits, as Pillow's `Resample.c` computes them. The 3-channel horizontal pass and
/// the vertical pass run on C loops (CImageKernels) with an AVX2 variant chosen at run time; both
/// variants give the same bytes.
public enum ImageResampler {
    private static let precisionBits = 32 - 8 - 2

    /// The size whose longer side is at most `maxSide`, aspect kept (the shorter side rounded,
    /// at least 1); the size itself when it already fits.
    public static func fittedSize(height: Int, width: Int, maxSide: Int) -> (height: Int, width: Int) {
        let longer = max(height, width)
        guard maxSide > 0, longer > maxSide else { return (height, width) }
        func scaled(_ side: Int) -> Int {
            side == longer ? maxSide : max(1, Int((Double(side) * Double(maxSide) / Double(longer)).rounded()))
        }
        return (scaled(height), scaled(width))
    }

    /// `pixels` (height × width × channels) resized to `newHeight` × `newWidth`.
    public static func resize(_ pixels: [UInt8], height: Int, width: Int, channels: Int,
                              toHeight newHeight: Int, width newWidth: Int) -> [UInt8] {
        resize(pixels, height: height, width: width, channels: channels, toHeight: newHeight, width: newWidth,
               instructionSet: dg_image_kernels_default_isa())
    }

    /// `pixels` resized on the C loops' variant `instructionSet` (`DG_KERNEL_ISA_BASELINE` or
    /// `DG_KERNEL_ISA_AVX2`; an unavailable one runs the baseline): the same bytes on every variant.
    static func resize(_ pixels: [UInt8], height: Int, width: Int, channels: Int,
                       toHeight newHeight: Int, width newWidth: Int, instructionSet: CInt) -> [UInt8] {
        var current = pixels
        var currentWidth = width
        if newWidth != width {
            current = horizontal(current, height: height, width: width, channels: channels, newWidth: newWidth,
                                 instructionSet: instructionSet)
            currentWidth = newWidth
        }
        if newHeight != height {
            current = vertical(current, height: height, width: currentWidth, channels: channels, newHeight: newHeight,
                               instructionSet: instructionSet)
        }
        return current
    }

    /// Each output position's first input index, its count and its fixed-point weights (`size` per position).
    struct Coefficients {
        var bounds: [(first: Int, count: Int)]
        var weights: [Int32]
        var size: Int
    }

    static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // bilinear: support 1
        let size = Int(support.rounded(.up)) * 2 + 1
        var bounds: [(first: Int, count: Int)] = []
        bounds.reserveCapacity(outSize)
        var weights = [Int32](repeating: 0, count: size * outSize)
        var kernel = [Double](repeating: 0, count: size)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var total = 0.0
            let inverse = 1.0 / filterScale
            for x in 0..<xmax {
                var t = (Double(x + xmin) - center + 0.5) * inverse
                if t < 0 { t = -t }
                let w = t < 1 ? 1 - t : 0
                kernel[x] = w
                total += w
            }
            for x in 0..<size {
                var k = x < xmax ? kernel[x] : 0
                if x < xmax && total != 0 { k /= total }
                let fixed = k < 0 ? Int32(-0.5 + k * Double(1 << precisionBits)) : Int32(0.5 + k * Double(1 << precisionBits))
                weights[xx * size + x] = fixed
            }
            bounds.append((xmin, xmax))
        }
        return Coefficients(bounds: bounds, weights: weights, size: size)
    }

    /// `value >> 22` clamped to 0...255: Pillow's `clip8` (255 from 2^30 up, 0 at or below 0).
    @inline(__always)
    private static func clip(_ value: Int32) -> UInt8 {
        let shifted = value >> Int32(precisionBits)
        let floored = shifted < 0 ? 0 : shifted
        return UInt8(truncatingIfNeeded: floored > 255 ? 255 : floored)
    }

    // The passes below (and their C loops) sum in Int32 with wrapping operators, as Pillow's `int` sums do: the weights
    // of one output position are non-negative and total 2^22 plus at most half a unit per tap, so a
    // sum of 255 × weights plus the rounding half stays below 2^31 and never wraps; integer sums
    // being exact, the order of their terms (the vertical pass adds row by row) changes nothing.
    private static let half = Int32(1 << (precisionBits - 1))

    static func horizontal(_ pixels: [UInt8], height: Int, width: Int, channels: Int, newWidth: Int,
                           instructionSet: CInt = dg_image_kernels_default_isa()) -> [UInt8] {
        let c = coefficients(inSize: width, outSize: newWidth)
        let count = height * newWidth * channels
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { sourceBuffer in
                c.weights.withUnsafeBufferPointer { weightBuffer in
                    c.bounds.withUnsafeBufferPointer { bounds in
                        guard let source = sourceBuffer.baseAddress, let weights = weightBuffer.baseAddress,
                              let target = out.baseAddress, let bounds = bounds.baseAddress else { return }
                        if channels == 3 {
                            // The C loops (CImageKernels): starts in bytes, each column's count of taps.
                            let starts = (0..<newWidth).map { bounds[$0].first * 3 }
                            let counts = (0..<newWidth).map { bounds[$0].count }
                            dg_resample_rgb_horizontal(instructionSet, source, width * 3, height, starts, counts,
                                                       weights, c.size, newWidth, target)
                        } else {
                            HorizontalRows(source: source, target: target, weights: weights, bounds: bounds,
                                           size: c.size, width: width, newWidth: newWidth, channels: channels)
                                .resampleAny(height: height)
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// The horizontal pass over raw pointers for channel counts other than 3, the coefficients
    /// computed once for every row.
    private struct HorizontalRows {
        let source: UnsafePointer<UInt8>
        let target: UnsafeMutablePointer<UInt8>
        let weights: UnsafePointer<Int32>
        let bounds: UnsafePointer<(first: Int, count: Int)>
        let size: Int
        let width: Int
        let newWidth: Int
        let channels: Int

        /// Any number of interleaved channels, one sample at a time.
        func resampleAny(height: Int) {
            let inStride = width * channels
            var out = target
            for y in 0..<height {
                let row = source + y * inStride
                for xx in 0..<newWidth {
                    let (first, taps) = bounds[xx]
                    let k = weights + xx * size
                    let p = row + first * channels
                    for channel in 0..<channels {
                        var sum = half
                        for x in 0..<taps { sum = sum &+ Int32(p[x &* channels &+ channel]) &* k[x] }
                        out[channel] = clip(sum)
                    }
                    out += channels
                }
            }
        }
    }

    static func vertical(_ pixels: [UInt8], height: Int, width: Int, channels: Int, newHeight: Int,
                         instructionSet: CInt = dg_image_kernels_default_isa()) -> [UInt8] {
        let c = coefficients(inSize: height, outSize: newHeight)
        let stride = width * channels
        let count = newHeight * stride
        let firsts = c.bounds.map(\.first), counts = c.bounds.map(\.count)
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { sourceBuffer in
                c.weights.withUnsafeBufferPointer { weightBuffer in
                    guard let source = sourceBuffer.baseAddress, let weights = weightBuffer.baseAddress,
                          let target = out.baseAddress else { return }
                    // The C loops (CImageKernels), on rows of bytes whatever the channel count.
                    dg_resample_vertical(instructionSet, source, stride, height, firsts, counts, weights, c.size,
                                         newHeight, target)
                }
            }
            initialized = count
        }
    }
}
