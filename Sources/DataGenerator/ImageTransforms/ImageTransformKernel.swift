import Synchronization

/// A stored image as a transform reads it: `height` × `width` × `channels` bytes in C order
/// (rows of interleaved channels) at `pixels`. Decoded pixels of the cache (or, later, a JPEG
/// decoded into a worker's scratch) are both seen through it.
public struct ImageSource {
    /// The rows.
    public let height: Int
    /// The columns.
    public let width: Int
    /// The channels per pixel.
    public let channels: Int
    /// The first byte of the first row.
    public let pixels: UnsafeRawPointer

    /// A view of `height × width × channels` bytes at `pixels`.
    public init(height: Int, width: Int, channels: Int, pixels: UnsafeRawPointer) {
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }
}

/// Memory a worker reuses from image to image: the resampling coefficients, the horizontal
/// pass's rows and a decoded unit of the cache. Buffers grow to the largest need seen and are
/// never shrunk, so the steady state allocates nothing.
///
/// `@unchecked Sendable`: a scratch is used by one thread at a time (taken from a
/// ``TransformScratchPool`` and given back).
final class TransformScratch: @unchecked Sendable {
    private(set) var bytes: [UnsafeMutableRawBufferPointer] = Array(repeating: UnsafeMutableRawBufferPointer(start: nil, count: 0), count: Slot.allCases.count)
    /// The cache unit whose decoded bytes ``Slot/unit`` holds (-1: none).
    var unitIndex = -1

    enum Slot: Int, CaseIterable {
        case horizontalBounds, horizontalWeights, verticalBounds, verticalWeights, rows, unit
    }

    /// The buffer `slot`, at least `count` bytes.
    func buffer(_ slot: Slot, count: Int) -> UnsafeMutableRawPointer {
        if bytes[slot.rawValue].count < count {
            bytes[slot.rawValue].deallocate()
            bytes[slot.rawValue] = .allocate(byteCount: max(64, count + count / 4), alignment: 64)
            if slot == .unit { unitIndex = -1 }
        }
        return bytes[slot.rawValue].baseAddress!
    }

    deinit { for buffer in bytes { buffer.deallocate() } }
}

/// A pool of scratches, one per thread that transforms at once.
final class TransformScratchPool: Sendable {
    private let free = Mutex<[TransformScratch]>([])

    /// Runs `body` with a scratch no other thread uses meanwhile.
    func withScratch<R, E: Error>(_ body: (TransformScratch) throws(E) -> R) throws(E) -> R {
        let scratch = free.withLock { $0.popLast() } ?? TransformScratch()
        defer { free.withLock { $0.append(scratch) } }
        return try body(scratch)
    }
}


/// How a transform writes its output: `uint8` or normalised `float32` (a 256-entry table per
/// channel), channels last or first.
struct TransformOutput: Sendable {
    let channelsFirst: Bool
    /// `table[channel × 256 + value]`: the normalised value of a pixel, or empty for `uint8`.
    let table: [Float]

    init(pipeline: ImagePipeline, channels: Int) {
        channelsFirst = pipeline.channelsFirst
        guard let (mean, std) = pipeline.normalization else {
            table = []
            return
        }
        var table = [Float]()
        table.reserveCapacity(channels * 256)
        for channel in 0..<channels {
            // As torchvision: float32 pixels / 255, then (x - mean) / std in float32.
            let m = Float(mean.count == 1 ? mean[0] : mean[channel])
            let s = Float(std.count == 1 ? std[0] : std[channel])
            for value in 0..<256 { table.append((Float(value) / 255 - m) / s) }
        }
        self.table = table
    }

    var elementBytes: Int { table.isEmpty ? 1 : 4 }
}

/// The resampling of a transform: Pillow's antialiased bilinear filter (`Image.resize(size,
/// BILINEAR, box=...)`) with 22-bit fixed-point coefficients, a horizontal pass into the
/// scratch, then a vertical pass rounded to 8 bits and written (converted, mirrored,
/// reordered) straight into the output.
enum ImageTransformKernel {
    private static let precisionBits = 32 - 8 - 2

    /// Renders `source` through `geometry` into `destination` (count × count × channels
    /// elements of `output`'s type and layout).
    static func render(_ source: ImageSource, geometry: ImageGeometry, output: TransformOutput,
                       scratch: TransformScratch, into destination: UnsafeMutableRawPointer) {
        let channels = source.channels
        let outWidth = geometry.x.count
        let outHeight = geometry.y.count
        let horizontalTaps = taps(geometry.x)
        let verticalTaps = taps(geometry.y)
        let hBounds = scratch.buffer(.horizontalBounds, count: 2 * outWidth * MemoryLayout<Int>.stride).assumingMemoryBound(to: Int.self)
        let hWeights = scratch.buffer(.horizontalWeights, count: outWidth * horizontalTaps * 4).assumingMemoryBound(to: Int32.self)
        let vBounds = scratch.buffer(.verticalBounds, count: 2 * outHeight * MemoryLayout<Int>.stride).assumingMemoryBound(to: Int.self)
        let vWeights = scratch.buffer(.verticalWeights, count: outHeight * verticalTaps * 4).assumingMemoryBound(to: Int32.self)
        coefficients(geometry.x, mirrored: geometry.mirrored, taps: horizontalTaps, bounds: hBounds, weights: hWeights)
        coefficients(geometry.y, mirrored: false, taps: verticalTaps, bounds: vBounds, weights: vWeights)
        // The source rows the vertical pass reads.
        var firstRow = Int.max
        var rowEnd = 0
        for row in 0..<outHeight where vBounds[2 * row + 1] > 0 {
            firstRow = min(firstRow, vBounds[2 * row])
            rowEnd = max(rowEnd, vBounds[2 * row] + vBounds[2 * row + 1])
        }
        if firstRow > rowEnd { firstRow = 0; rowEnd = 0 }
        let rowBytes = outWidth * channels
        let rows = scratch.buffer(.rows, count: max(1, (rowEnd - firstRow) * rowBytes)).assumingMemoryBound(to: UInt8.self)
        let pixels = source.pixels.assumingMemoryBound(to: UInt8.self)
        let half = 1 << (precisionBits - 1)
        // Horizontal pass: stored rows firstRow..<rowEnd, resampled to outWidth columns.
        for y in firstRow..<rowEnd {
            let sourceRow = pixels + y * source.width * channels
            let target = rows + (y - firstRow) * rowBytes
            for column in 0..<outWidth {
                let first = hBounds[2 * column]
                let count = hBounds[2 * column + 1]
                let weights = hWeights + column * horizontalTaps
                let start = sourceRow + first * channels
                for channel in 0..<channels {
                    var sum = half
                    var tap = 0
                    while tap < count {
                        sum += Int(start[tap * channels + channel]) &* Int(weights[tap])
                        tap += 1
                    }
                    target[column * channels + channel] = clip(sum)
                }
            }
        }
        // Vertical pass, written out.
        output.table.withUnsafeBufferPointer { table in
            verticalPass(rows: rows, rowBytes: rowBytes, firstRow: firstRow, outWidth: outWidth, outHeight: outHeight,
                         channels: channels, bounds: vBounds, weights: vWeights, taps: verticalTaps,
                         channelsFirst: output.channelsFirst, table: table, into: destination)
        }
    }

    /// The vertical pass of ``render(_:geometry:output:scratch:into:)``.
    private static func verticalPass(rows: UnsafeMutablePointer<UInt8>, rowBytes: Int, firstRow: Int, outWidth: Int,
                                     outHeight: Int, channels: Int, bounds vBounds: UnsafeMutablePointer<Int>,
                                     weights vWeights: UnsafeMutablePointer<Int32>, taps verticalTaps: Int,
                                     channelsFirst: Bool, table: UnsafeBufferPointer<Float>,
                                     into destination: UnsafeMutableRawPointer) {
        let half = 1 << (precisionBits - 1)
        let plane = outWidth * outHeight
        let bytes = destination.assumingMemoryBound(to: UInt8.self)
        let floats = destination.assumingMemoryBound(to: Float.self)
        let converts = !table.isEmpty
        let lookup = table.baseAddress
        for row in 0..<outHeight {
            let first = vBounds[2 * row] - firstRow
            let count = vBounds[2 * row + 1]
            let weights = vWeights + row * verticalTaps
            var column = 0
            var channel = 0
            for element in 0..<rowBytes {
                var sum = half
                var tap = 0
                while tap < count {
                    sum += Int(rows[(first + tap) * rowBytes + element]) &* Int(weights[tap])
                    tap += 1
                }
                let value = clip(sum)
                let index = channelsFirst ? channel * plane + row * outWidth + column : row * rowBytes + element
                if converts {
                    floats[index] = lookup![channel << 8 | Int(value)]
                } else {
                    bytes[index] = value
                }
                channel += 1
                if channel == channels { channel = 0; column += 1 }
            }
        }
    }

    /// The coefficients' stride for `axis`: Pillow's `ksize`.
    static func taps(_ axis: ResampleAxis) -> Int {
        let scale = (axis.in1 - axis.in0) / Double(max(1, axis.virtualSize))
        let support = max(scale, 1)
        return Int(support.rounded(.up)) * 2 + 1
    }

    /// Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` for the served window of `axis`
    /// (output `i` reads virtual pixel `windowStart + i`, or `windowStart + count − 1 − i` when
    /// `mirrored`): `bounds[2i]` the first source pixel, `bounds[2i + 1]` how many (0 outside
    /// the virtual image, which serves zeros).
    static func coefficients(_ axis: ResampleAxis, mirrored: Bool, taps: Int,
                             bounds: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Int32>) {
        let scale = (axis.in1 - axis.in0) / Double(max(1, axis.virtualSize))
        let filterScale = max(scale, 1)
        let support = filterScale
        let inverse = 1.0 / filterScale
        let one = Double(1 << precisionBits)
        for output in 0..<axis.count {
            let k = weights + output * taps
            let virtual = axis.windowStart + (mirrored ? axis.count - 1 - output : output)
            guard virtual >= 0 && virtual < axis.virtualSize else {
                bounds[2 * output] = 0
                bounds[2 * output + 1] = 0
                continue
            }
            let center = axis.in0 + (Double(virtual) + 0.5) * scale
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > axis.sourceSize { xmax = axis.sourceSize }
            let count = max(0, min(xmax - xmin, taps))
            var total = 0.0
            for x in 0..<count {
                var t = (Double(x + xmin) - center + 0.5) * inverse
                if t < 0 { t = -t }
                total += t < 1 ? 1 - t : 0
            }
            for x in 0..<count {
                var t = (Double(x + xmin) - center + 0.5) * inverse
                if t < 0 { t = -t }
                var w = t < 1 ? 1 - t : 0
                if total != 0 { w /= total }
                k[x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            bounds[2 * output] = xmin
            bounds[2 * output + 1] = count
        }
    }

    private static func clip(_ value: Int) -> UInt8 {
        if value >= (1 << precisionBits) << 8 { return 255 }
        if value <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: value >> precisionBits)
    }
}

extension ImagePipeline {
    /// Renders one image through the pipeline into `destination` (``outputShape(channels:)``
    /// elements of ``outputDType``), drawing from `draws`: the kernel the workers run, for a
    /// caller holding an image of its own (a decoded JPEG, a test). Allocates its scratch; the
    /// workers reuse theirs.
    /// - Precondition: `source` holds `height × width × channels` bytes and ``check(channels:)``
    ///   accepts its channels.
    public func render(_ source: ImageSource, draws: inout some TransformDraws, into destination: UnsafeMutableRawPointer) {
        let geometry = geometry(height: source.height, width: source.width, draws: &draws)
        ImageTransformKernel.render(source, geometry: geometry, output: TransformOutput(pipeline: self, channels: source.channels),
                                    scratch: TransformScratch(), into: destination)
    }
}
