internal import CImageKernels
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
    /// The cache unit whose decoded bytes ``Slot/unit`` holds (-1: none), and its column store.
    var unitIndex = -1
    var unitOwner: ObjectIdentifier?
    /// The variant of the C loops (CImageKernels) this scratch's renders run:
    /// `DG_KERNEL_ISA_AVX2` on a CPU with AVX2 unless `DATAGEN_KERNEL_ISA=baseline`, else
    /// `DG_KERNEL_ISA_BASELINE`. Both give the same bits; tests set it to compare them.
    var instructionSet: CInt = dg_image_kernels_default_isa()

    enum Slot: Int, CaseIterable {
        case horizontalBounds, horizontalWeights, verticalBounds, verticalWeights, rows, unit, sums, paddedStarts, paddedWeights, planes, tapWeights
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
    /// Each channel's mean and standard deviation as `table` was computed from (empty for
    /// `uint8`): `table[channel × 256 + v] == (Float(v) / 255 − mean) / std`.
    let meanAndStd: [(mean: Float, std: Float)]
    /// ``meanAndStd`` flattened (mean, std, mean, std...), as the C vertical pass reads it.
    let flatMeanAndStd: [Float]

    init(pipeline: ImagePipeline, channels: Int) {
        channelsFirst = pipeline.channelsFirst
        guard let (mean, std) = pipeline.normalization else {
            table = []
            meanAndStd = []
            flatMeanAndStd = []
            return
        }
        meanAndStd = (0..<channels).map { channel in
            (Float(mean.count == 1 ? mean[0] : mean[channel]), Float(std.count == 1 ? std[0] : std[channel]))
        }
        flatMeanAndStd = meanAndStd.flatMap { [$0.mean, $0.std] }
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
        let padded = channels == 3 ? paddedCoefficients(bounds: hBounds, weights: hWeights, taps: horizontalTaps, outWidth: outWidth,
                                                        sourceWidth: source.width, scratch: scratch) : nil
        // Horizontal pass: stored rows firstRow..<rowEnd, resampled to outWidth columns. Sums fit
        // in 32 bits (255 × a weight total of about 2^22), as in Pillow. A 3-channel image whose
        // columns pad to 2-4 taps runs the C loops, written planar for the vertical pass.
        if let padded, rowEnd > firstRow {
            let tapScratch = scratch.buffer(.tapWeights, count: ((4 * padded.taps + 1) * outWidth + 8) * 4).assumingMemoryBound(to: Int32.self)
            dg_rgb_horizontal_rows(scratch.instructionSet, pixels + firstRow * source.width * 3, source.width * 3, rowEnd - firstRow,
                                   padded.starts, padded.weights, padded.taps, outWidth, tapScratch, rows)
        }
        for y in firstRow..<rowEnd where padded == nil {
            let sourceRow = pixels + y * source.width * channels
            let target = rows + (y - firstRow) * rowBytes
            if channels == 3 {
                // Written planar (the row's reds, then greens, then blues) for the vertical pass.
                let (red, green, blue) = (target, target + outWidth, target + 2 &* outWidth)
                for column in 0..<outWidth {
                    let count = hBounds[2 &* column &+ 1]
                    var weight = hWeights + column &* horizontalTaps
                    var start = sourceRow + hBounds[2 &* column] &* 3
                    var (r, g, b) = (Int32(truncatingIfNeeded: half), Int32(truncatingIfNeeded: half), Int32(truncatingIfNeeded: half))
                    var tap = 0
                    while tap < count {
                        r &+= Int32(start[0]) &* weight.pointee
                        g &+= Int32(start[1]) &* weight.pointee
                        b &+= Int32(start[2]) &* weight.pointee
                        start += 3
                        weight += 1
                        tap &+= 1
                    }
                    red[column] = clip(r)
                    green[column] = clip(g)
                    blue[column] = clip(b)
                }
                continue
            }
            for column in 0..<outWidth {
                let first = hBounds[2 * column]
                let count = hBounds[2 * column + 1]
                let weights = hWeights + column * horizontalTaps
                let start = sourceRow + first * channels
                for channel in 0..<channels {
                    var sum = Int32(half)
                    for tap in 0..<count { sum &+= Int32(start[tap * channels + channel]) &* weights[tap] }
                    target[column * channels + channel] = clip(sum)
                }
            }
        }
        if channels == 3 {
            planarVerticalPass(rows: rows, firstRow: firstRow, outWidth: outWidth, outHeight: outHeight,
                               bounds: vBounds, weights: vWeights, taps: verticalTaps, output: output, scratch: scratch, into: destination)
            return
        }
        let sums = scratch.buffer(.sums, count: rowBytes * 4).assumingMemoryBound(to: Int32.self)
        // Vertical pass, written out.
        output.table.withUnsafeBufferPointer { table in
            verticalPass(rows: rows, sums: sums, rowBytes: rowBytes, firstRow: firstRow, outWidth: outWidth, outHeight: outHeight,
                         channels: channels, bounds: vBounds, weights: vWeights, taps: verticalTaps,
                         channelsFirst: output.channelsFirst, table: table, into: destination)
        }
    }

    /// The vertical pass of ``render(_:geometry:output:scratch:into:)``.
    private static func verticalPass(rows: UnsafeMutablePointer<UInt8>, sums: UnsafeMutablePointer<Int32>, rowBytes: Int, firstRow: Int, outWidth: Int,
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
            // Tap by tap over the whole row: a loop the compiler vectorises.
            for element in 0..<rowBytes { sums[element] = Int32(half) }
            for tap in 0..<count {
                let weight = weights[tap]
                let source = rows + (first + tap) * rowBytes
                for element in 0..<rowBytes { sums[element] &+= Int32(source[element]) &* weight }
            }
            if !channelsFirst && !converts {
                let target = bytes + row * rowBytes
                for element in 0..<rowBytes { target[element] = clip(sums[element]) }
                continue
            }
            if channels == 3, converts, let lookup {
                // The common image case without a branch or a division per element.
                let (red, green, blue) = (lookup, lookup + 256, lookup + 512)
                if channelsFirst {
                    let (r, g, b) = (floats + row * outWidth, floats + plane + row * outWidth, floats + 2 * plane + row * outWidth)
                    for column in 0..<outWidth {
                        r[column] = red[Int(clip(sums[3 * column]))]
                        g[column] = green[Int(clip(sums[3 * column + 1]))]
                        b[column] = blue[Int(clip(sums[3 * column + 2]))]
                    }
                } else {
                    let target = floats + row * rowBytes
                    for column in 0..<outWidth {
                        target[3 * column] = red[Int(clip(sums[3 * column]))]
                        target[3 * column + 1] = green[Int(clip(sums[3 * column + 1]))]
                        target[3 * column + 2] = blue[Int(clip(sums[3 * column + 2]))]
                    }
                }
                continue
            }
            var column = 0
            var channel = 0
            for element in 0..<rowBytes {
                let value = clip(sums[element])
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

    /// The horizontal coefficients of a 3-channel image padded to a fixed 2, 3 or 4 taps per
    /// column (the most any column has), every column's window moved inside the row and its
    /// extra taps weighted 0 (adding nothing), or nil when a column has more taps or the row
    /// fewer pixels. `starts[i]` is column `i`'s first byte in the source row.
    private static func paddedCoefficients(bounds: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Int32>, taps: Int, outWidth: Int,
                                           sourceWidth: Int, scratch: TransformScratch)
        -> (taps: Int, starts: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Int32>)? {
        var most = 0
        for column in 0..<outWidth { most = max(most, bounds[2 &* column &+ 1]) }
        let fixed = most <= 2 ? 2 : (most <= 3 ? 3 : 4)
        guard most <= 4, sourceWidth >= fixed else { return nil }
        let starts = scratch.buffer(.paddedStarts, count: outWidth * MemoryLayout<Int>.stride).assumingMemoryBound(to: Int.self)
        let padded = scratch.buffer(.paddedWeights, count: outWidth * fixed * 4).assumingMemoryBound(to: Int32.self)
        for column in 0..<outWidth {
            let first = bounds[2 &* column]
            let count = bounds[2 &* column &+ 1]
            let start = count == 0 ? 0 : min(first, sourceWidth - fixed)
            let shift = first - start
            let target = padded + column &* fixed
            for tap in 0..<fixed {
                let original = tap - shift
                target[tap] = original >= 0 && original < count ? weights[column &* taps &+ original] : 0
            }
            starts[column] = start &* 3
        }
        return (fixed, starts, padded)
    }

    /// The vertical pass of a 3-channel image whose horizontal pass wrote planar rows (`rows`
    /// holds, per source row, its `outWidth` reds, greens, then blues), by the C loops of
    /// CImageKernels: channel by channel over contiguous columns. A normalised value is computed
    /// as ``TransformOutput/table`` holds it, `(Float(v) / 255 − mean) / std`.
    private static func planarVerticalPass(rows: UnsafeMutablePointer<UInt8>, firstRow: Int,
                                           outWidth: Int, outHeight: Int, bounds vBounds: UnsafeMutablePointer<Int>,
                                           weights vWeights: UnsafeMutablePointer<Int32>, taps verticalTaps: Int,
                                           output: TransformOutput, scratch: TransformScratch, into destination: UnsafeMutableRawPointer) {
        // Channels last: a row's converted channels, planar, before they are interleaved.
        let planes = scratch.buffer(.planes, count: outWidth &* 3 &* 4)
        output.flatMeanAndStd.withUnsafeBufferPointer { meanAndStd in
            dg_rgb_vertical(scratch.instructionSet, rows, firstRow, outWidth, outHeight, vBounds, vWeights, verticalTaps,
                            meanAndStd.count == 6 ? meanAndStd.baseAddress : nil, output.channelsFirst ? 1 : 0, planes, destination)
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

    @inline(__always)
    private static func clip(_ value: Int32) -> UInt8 {
        let shifted = value >> Int32(precisionBits)
        return shifted < 0 ? 0 : (shifted > 255 ? 255 : UInt8(truncatingIfNeeded: shifted))
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
