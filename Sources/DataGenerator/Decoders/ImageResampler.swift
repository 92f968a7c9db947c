/// Pillow's antialiased bilinear resize of 8-bit interleaved pixels (`Image.resize(size,
/// Image.BILINEAR)`): a triangle filter whose support grows with the reduction factor, fixed-point
/// coefficients of 22 fractional bits, a horizontal pass then a vertical pass, each rounded and
/// clipped to 8 bits, as Pillow's `Resample.c` computes them.
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
        var current = pixels
        var currentWidth = width
        if newWidth != width {
            current = horizontal(current, height: height, width: width, channels: channels, newWidth: newWidth)
            currentWidth = newWidth
        }
        if newHeight != height {
            current = vertical(current, height: height, width: currentWidth, channels: channels, newHeight: newHeight)
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

    // The passes below sum in Int32 with wrapping operators, as Pillow's `int` sums do: the weights
    // of one output position are non-negative and total 2^22 plus at most half a unit per tap, so a
    // sum of 255 × weights plus the rounding half stays below 2^31 and never wraps; integer sums
    // being exact, the order of their terms (the vertical pass adds row by row) changes nothing.
    private static let half = Int32(1 << (precisionBits - 1))

    static func horizontal(_ pixels: [UInt8], height: Int, width: Int, channels: Int, newWidth: Int) -> [UInt8] {
        let c = coefficients(inSize: width, outSize: newWidth)
        let count = height * newWidth * channels
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { sourceBuffer in
                c.weights.withUnsafeBufferPointer { weightBuffer in
                    c.bounds.withUnsafeBufferPointer { bounds in
                        guard let source = sourceBuffer.baseAddress, let weights = weightBuffer.baseAddress,
                              let target = out.baseAddress, let bounds = bounds.baseAddress else { return }
                        let rows = HorizontalRows(source: source, target: target, weights: weights, bounds: bounds,
                                                  size: c.size, width: width, newWidth: newWidth, channels: channels)
                        switch channels {
                        case 3: rows.resampleRGB(height: height)
                        default: rows.resampleAny(height: height)
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// The horizontal pass over raw pointers, the coefficients computed once for every row.
    private struct HorizontalRows {
        let source: UnsafePointer<UInt8>
        let target: UnsafeMutablePointer<UInt8>
        let weights: UnsafePointer<Int32>
        let bounds: UnsafePointer<(first: Int, count: Int)>
        let size: Int
        let width: Int
        let newWidth: Int
        let channels: Int

        /// Three interleaved channels, two rows at a time so that each weight is loaded once for both.
        func resampleRGB(height: Int) {
            let inStride = width * 3, outStride = newWidth * 3
            var y = 0
            while y + 1 < height {
                let rowA = source + y * inStride, rowB = rowA + inStride
                let outA = target + y * outStride, outB = outA + outStride
                for xx in 0..<newWidth {
                    let (first, taps) = bounds[xx]
                    let k = weights + xx * size
                    var a = rowA + first * 3, b = rowB + first * 3
                    var a0 = half, a1 = half, a2 = half, b0 = half, b1 = half, b2 = half
                    for x in 0..<taps {
                        let w = k[x]
                        a0 = a0 &+ Int32(a[0]) &* w
                        a1 = a1 &+ Int32(a[1]) &* w
                        a2 = a2 &+ Int32(a[2]) &* w
                        b0 = b0 &+ Int32(b[0]) &* w
                        b1 = b1 &+ Int32(b[1]) &* w
                        b2 = b2 &+ Int32(b[2]) &* w
                        a += 3
                        b += 3
                    }
                    let o = xx * 3
                    outA[o] = clip(a0)
                    outA[o + 1] = clip(a1)
                    outA[o + 2] = clip(a2)
                    outB[o] = clip(b0)
                    outB[o + 1] = clip(b1)
                    outB[o + 2] = clip(b2)
                }
                y += 2
            }
            if y < height {
                let row = source + y * inStride, outRow = target + y * outStride
                for xx in 0..<newWidth {
                    let (first, taps) = bounds[xx]
                    let k = weights + xx * size
                    var p = row + first * 3
                    var s0 = half, s1 = half, s2 = half
                    for x in 0..<taps {
                        let w = k[x]
                        s0 = s0 &+ Int32(p[0]) &* w
                        s1 = s1 &+ Int32(p[1]) &* w
                        s2 = s2 &+ Int32(p[2]) &* w
                        p += 3
                    }
                    let o = xx * 3
                    outRow[o] = clip(s0)
                    outRow[o + 1] = clip(s1)
                    outRow[o + 2] = clip(s2)
                }
            }
        }

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

    static func vertical(_ pixels: [UInt8], height: Int, width: Int, channels: Int, newHeight: Int) -> [UInt8] {
        let c = coefficients(inSize: height, outSize: newHeight)
        let stride = width * channels
        let count = newHeight * stride
        var sums = [Int32](repeating: 0, count: stride)
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { sourceBuffer in
                c.weights.withUnsafeBufferPointer { weightBuffer in
                    sums.withUnsafeMutableBufferPointer { sumBuffer in
                        guard let source = sourceBuffer.baseAddress, let weights = weightBuffer.baseAddress,
                              let sum = sumBuffer.baseAddress, let target = out.baseAddress else { return }
                        for yy in 0..<newHeight {
                            let (first, taps) = c.bounds[yy]
                            let k = weights + yy * c.size
                            sum.update(repeating: half, count: stride)
                            for y in 0..<taps {
                                let w = k[y]
                                let row = source + (first + y) * stride
                                for i in 0..<stride { sum[i] = sum[i] &+ Int32(row[i]) &* w }
                            }
                            let outRow = target + yy * stride
                            for i in 0..<stride { outRow[i] = clip(sum[i]) }
                        }
                    }
                }
            }
            initialized = count
        }
    }
}
