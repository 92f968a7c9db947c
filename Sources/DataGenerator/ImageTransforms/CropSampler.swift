#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A box of an image in whole pixels: rows `top ..< top + height`, columns `left ..< left + width`.
public struct CropBox: Sendable, Hashable, CustomStringConvertible {
    /// The first row.
    public var top: Int
    /// The first column.
    public var left: Int
    /// The number of rows.
    public var height: Int
    /// The number of columns.
    public var width: Int

    /// A box at (`top`, `left`) of `height` × `width` pixels.
    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }

    /// `top,left,height,width`.
    public var description: String { "\(top),\(left),\(height),\(width)" }
}

/// The random numbers a transform draws, in order: a uniform real and a uniform integer.
public protocol TransformDraws {
    /// A uniform value in `lower ..< upper`.
    mutating func uniform(_ lower: Double, _ upper: Double) -> Double
    /// A uniform integer in `0 ..< bound` (`bound` ≥ 1).
    mutating func integer(below bound: Int) -> Int
}

/// The draws of one record in one epoch: ``AugmentationRandom``'s stream, 53 bits per real.
public struct TransformRandom: TransformDraws, Sendable {
    private var random: AugmentationRandom

    /// The stream of record `key` in `epoch` under `seed` (as augmentations draw).
    public init(seed: UInt64, epoch: Int, key: UInt64) {
        random = AugmentationRandom(seed: seed, epoch: epoch, key: key)
    }

    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * (Double(random.next() >> 11) * 0x1p-53)
    }

    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0)
        let range = UInt64(bound)
        var product = random.next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = random.next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }
}

/// torchvision's box and size rules, as pure functions of the image's size and the draws.
public enum CropSampler {
    /// torchvision's `RandomResizedCrop.get_params`: up to 10 tries of an area fraction drawn
    /// uniformly from `scale` and an aspect ratio drawn log-uniformly from `ratio`, the sides
    /// rounded half to even (Python's `round`); a box that fits takes a uniform position.
    /// After 10 misses, the centre box of the whole image clamped to the ratio range.
    public static func randomResizedCrop(height: Int, width: Int, scale: ClosedRange<Double>,
                                         ratio: ClosedRange<Double>, draws: inout some TransformDraws) -> CropBox {
        let area = Double(height) * Double(width)
        let logLower = log(ratio.lowerBound)
        let logUpper = log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * draws.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(draws.uniform(logLower, logUpper))
            let w = pythonRound((targetArea * aspect).squareRoot())
            let h = pythonRound((targetArea / aspect).squareRoot())
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = draws.integer(below: height - h + 1)
                let left = draws.integer(below: width - w + 1)
                return CropBox(top: top, left: left, height: h, width: w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width
        var h = height
        if inRatio < ratio.lowerBound {
            h = pythonRound(Double(w) / ratio.lowerBound)
        } else if inRatio > ratio.upperBound {
            w = pythonRound(Double(h) * ratio.upperBound)
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// torchvision's `Resize(size)` with one number: the shorter side becomes `size`, the
    /// longer `int(size × long / short)`.
    public static func resizedShorter(height: Int, width: Int, to size: Int) -> (height: Int, width: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(size * long) / Double(short))
        return width <= height ? (newLong, size) : (size, newLong)
    }

    /// torchvision's `CenterCrop(size)`: offsets `int(round((h − size) / 2))`; where the image
    /// is smaller it is padded first (`(size − h) // 2` before), so the box starts before 0.
    public static func centerCrop(height: Int, width: Int, size: Int) -> CropBox {
        func offset(_ side: Int) -> Int {
            guard size > side else { return pythonRound(Double(side - size) / 2) }
            return -((size - side) / 2)
        }
        return CropBox(top: offset(height), left: offset(width), height: size, width: size)
    }

    /// Python's `round` to an integer (half to even).
    static func pythonRound(_ value: Double) -> Int { Int(value.rounded(.toNearestOrEven)) }
}

/// One axis of a transform's single resampling: the box `in0 ..< in1` of a stored image side of
/// `sourceSize` pixels is resampled to `virtualSize` pixels, of which `count` from
/// `windowStart` are served (pixels outside `0 ..< virtualSize` are zeros).
struct ResampleAxis: Sendable, Hashable {
    var sourceSize: Int
    var in0: Double
    var in1: Double
    var virtualSize: Int
    var windowStart: Int
    var count: Int
}

/// Where every output pixel of one image comes from: the composition of a pipeline's crops,
/// resize and flips, for one image size and one record's draws.
struct ImageGeometry: Sendable, Hashable {
    var x: ResampleAxis
    var y: ResampleAxis
    /// Whether the output's columns run right to left.
    var mirrored: Bool

    /// The stored image's box that the resize reads (source pixels, possibly beyond the image
    /// when a crop larger than the image came first).
    var sourceBox: (left: Double, top: Double, right: Double, bottom: Double) { (x.in0, y.in0, x.in1, y.in1) }
}

extension ImagePipeline {
    /// The geometry of one `height` × `width` image under `draws`, drawing in step order.
    func geometry(height: Int, width: Int, draws: inout some TransformDraws) -> ImageGeometry {
        var box = (x0: 0.0, y0: 0.0, x1: Double(width), y1: Double(height))
        var virtual = (width: width, height: height)
        var window = CropBox(top: 0, left: 0, height: height, width: width)
        var mirrored = false
        func crop(_ part: CropBox) {
            let left = mirrored ? window.width - part.left - part.width : part.left
            window = CropBox(top: window.top + part.top, left: window.left + left, height: part.height, width: part.width)
        }
        func resize(height: Int, width: Int) {
            // Before the (only) resize the virtual image is the stored one, so the window is a source box.
            box = (Double(window.left), Double(window.top), Double(window.left + window.width), Double(window.top + window.height))
            virtual = (width, height)
            window = CropBox(top: 0, left: 0, height: height, width: width)
        }
        for step in steps {
            switch step {
            case let .randomResizedCrop(size, scale, ratio):
                crop(CropSampler.randomResizedCrop(height: window.height, width: window.width, scale: scale, ratio: ratio, draws: &draws))
                resize(height: size, width: size)
            case let .resizeShorter(size):
                let resized = CropSampler.resizedShorter(height: window.height, width: window.width, to: size)
                resize(height: resized.height, width: resized.width)
            case let .centerCrop(size):
                crop(CropSampler.centerCrop(height: window.height, width: window.width, size: size))
            case .flip:
                if draws.uniform(0, 1) < 0.5 { mirrored.toggle() }
            case .normalize, .chw:
                break
            }
        }
        return ImageGeometry(
            x: ResampleAxis(sourceSize: width, in0: box.x0, in1: box.x1, virtualSize: virtual.width,
                            windowStart: window.left, count: window.width),
            y: ResampleAxis(sourceSize: height, in0: box.y0, in1: box.y1, virtualSize: virtual.height,
                            windowStart: window.top, count: window.height),
            mirrored: mirrored)
    }
}
