/// MNIST-like synthetic images: 28 × 28 `uint8` pixels, mostly zero background (about 80%) with a
/// few thick, soft-edged pen strokes, and a label 0…9 per image.
///
/// Every image is a pure function of its index and the seed, so demos, tests and benchmarks can
/// regenerate the same data anywhere without downloading MNIST.
public struct SyntheticDigits: Sendable {
    /// Image height and width.
    public static let side = 28
    /// Pixels per image.
    public static let pixels = side * side
    /// The seed of every image.
    public let seed: UInt64

    /// A generator of images keyed by `seed`.
    public init(seed: UInt64 = 0) { self.seed = seed }

    /// The label of image `index`, 0…9.
    public func label(of index: Int) -> Int {
        Int(SplitMix64.mix(seed ^ 0x5EED_1AB3 &+ UInt64(truncatingIfNeeded: index)) % 10)
    }

    /// The 784 pixels of image `index`, row by row.
    public func image(_ index: Int) -> [UInt8] {
        var random = SplitMix64(seed: SplitMix64.mix(seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
        var canvas = [Float](repeating: 0, count: Self.pixels)
        let label = label(of: index)
        // Each label gets its own centre of mass so that the classes are learnable.
        let centreX = 9.0 + Float(label % 5) * 2.5, centreY = 10.0 + Float(label / 5) * 8.0
        let strokes = 2 + random.next(below: 2)
        for _ in 0..<strokes {
            var x = centreX + Float(random.next(below: 9)) - 4
            var y = centreY + Float(random.next(below: 9)) - 4
            var angle = Float(random.next(below: 628)) / 100
            let radius: Float = 1.0 + Float(random.next(below: 5)) / 10
            for _ in 0..<(7 + random.next(below: 6)) {
                Self.stamp(&canvas, x: x, y: y, radius: radius)
                angle += (Float(random.next(below: 100)) - 50) / 120
                x = min(max(x + cosine(angle) * 1.2, 3), 24)
                y = min(max(y + sine(angle) * 1.2, 3), 24)
            }
        }
        return canvas.map { UInt8(min(255, max(0, $0 * 255)).rounded()) }
    }

    /// Paints a soft disc: full ink inside `radius`, fading to nothing one pixel further out.
    private static func stamp(_ canvas: inout [Float], x: Float, y: Float, radius: Float) {
        let lowX = max(0, Int(x - radius - 1)), highX = min(side - 1, Int(x + radius + 1))
        let lowY = max(0, Int(y - radius - 1)), highY = min(side - 1, Int(y + radius + 1))
        guard lowX <= highX, lowY <= highY else { return }
        for row in lowY...highY {
            for column in lowX...highX {
                let dx = Float(column) - x, dy = Float(row) - y
                let distance = (dx * dx + dy * dy).squareRoot()
                let ink = min(1, max(0, radius + 0.5 - distance))
                canvas[row * side + column] = max(canvas[row * side + column], ink)
            }
        }
    }
}

/// sin and cos by a short Taylor series after range reduction: enough for drawing strokes, and
/// identical on every platform (no libm differences).
private func sine(_ angle: Float) -> Float {
    var a = angle.truncatingRemainder(dividingBy: 2 * .pi)
    if a > .pi { a -= 2 * .pi } else if a < -.pi { a += 2 * .pi }
    let a2 = a * a
    return a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72))))
}

private func cosine(_ angle: Float) -> Float { sine(angle + .pi / 2) }
