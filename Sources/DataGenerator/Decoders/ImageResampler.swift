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

    private static func clip(_ value: Int) -> UInt8 {
        if value >= (1 << precisionBits) << 8 { return 255 }
        if value <= 0 { return 0 }
        return UInt8(value >> precisionBits)
    }

    static func horizontal(_ pixels: [UInt8], height: Int, width: Int, channels: Int, newWidth: Int) -> [UInt8] {
        let c = coefficients(inSize: width, outSize: newWidth)
        let count = height * newWidth * channels
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { source in
                for y in 0..<height {
                    let row = y * width * channels
                    for xx in 0..<newWidth {
                        let (first, taps) = c.bounds[xx]
                        let k = xx * c.size
                        for channel in 0..<channels {
                            var sum = 1 << (precisionBits - 1)
                            for x in 0..<taps {
                                sum += Int(source[row + (first + x) * channels + channel]) * Int(c.weights[k + x])
                            }
                            out[(y * newWidth + xx) * channels + channel] = clip(sum)
                        }
                    }
                }
            }
            initialized = count
        }
    }

    static func vertical(_ pixels: [UInt8], height: Int, width: Int, channels: Int, newHeight: Int) -> [UInt8] {
        let c = coefficients(inSize: height, outSize: newHeight)
        let stride = width * channels
        let count = newHeight * stride
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { source in
                for yy in 0..<newHeight {
                    let (first, taps) = c.bounds[yy]
                    let k = yy * c.size
                    for i in 0..<stride {
                        var sum = 1 << (precisionBits - 1)
                        for y in 0..<taps {
                            sum += Int(source[(first + y) * stride + i]) * Int(c.weights[k + y])
                        }
                        out[yy * stride + i] = clip(sum)
                    }
                }
            }
            initialized = count
        }
    }
}
