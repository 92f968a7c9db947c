/// One step of an image transform, run per record and per epoch in the engine's workers on a
/// variable-shape `uint8` image column (height × width × channels), with torchvision's
/// semantics: see ``ImagePipeline`` for how steps compose and `docs/EPOCHS.md` for the spec
/// syntax.
public enum ImageTransform: Sendable, Hashable, CustomStringConvertible {
    /// torchvision's `RandomResizedCrop(size, scale, ratio)`: a random box of `scale` of the
    /// area and an aspect ratio drawn log-uniformly from `ratio` (10 tries, then the centre
    /// fallback), resized to `size` × `size` with Pillow's antialiased bilinear filter.
    case randomResizedCrop(size: Int, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = 0.75...(4.0 / 3))
    /// torchvision's `Resize(size)` with one number: the shorter side becomes `size`, the
    /// longer `int(size × long / short)`; antialiased bilinear.
    case resizeShorter(Int)
    /// torchvision's `CenterCrop(size)`: offsets `int(round((h − size) / 2))`, zero padding
    /// where the image is smaller.
    case centerCrop(Int)
    /// A horizontal flip with probability 0.5.
    case flip
    /// `(pixel / 255 − mean) / std` per channel, as `float32` (torchvision's `ToTensor` then
    /// `Normalize`); one value applies to every channel.
    case normalize(mean: [Double], std: [Double])
    /// Channels first: the output is channels × height × width instead of height × width × channels.
    case chw

    /// ImageNet's channel means (RGB), on pixels / 255.
    public static let imageNetMean = [0.485, 0.456, 0.406]
    /// ImageNet's channel standard deviations (RGB), on pixels / 255.
    public static let imageNetStd = [0.229, 0.224, 0.225]
    /// `normalize(imagenet)`.
    public static let normalizeImageNet = ImageTransform.normalize(mean: imageNetMean, std: imageNetStd)
    /// The default `scale` range of ``randomResizedCrop(size:scale:ratio:)``.
    public static let defaultScale: ClosedRange<Double> = 0.08...1
    /// The default `ratio` range of ``randomResizedCrop(size:scale:ratio:)``.
    public static let defaultRatio: ClosedRange<Double> = 0.75...(4.0 / 3)

    /// Whether the step resamples the image (one such step per pipeline).
    var resizes: Bool {
        switch self {
        case .randomResizedCrop, .resizeShorter: return true
        default: return false
        }
    }

    /// The step in the spec syntax, for example `random-resized-crop(224)` or `normalize(imagenet)`.
    public var description: String {
        switch self {
        case let .randomResizedCrop(size, scale, ratio):
            var arguments = ["\(size)"]
            if scale != Self.defaultScale { arguments.append("scale=\(Self.number(scale.lowerBound))..\(Self.number(scale.upperBound))") }
            if ratio != Self.defaultRatio { arguments.append("ratio=\(Self.number(ratio.lowerBound))..\(Self.number(ratio.upperBound))") }
            return "random-resized-crop(\(arguments.joined(separator: ",")))"
        case let .resizeShorter(size): return "resize-shorter(\(size))"
        case let .centerCrop(size): return "center-crop(\(size))"
        case .flip: return "flip"
        case let .normalize(mean, std):
            if mean == Self.imageNetMean && std == Self.imageNetStd { return "normalize(imagenet)" }
            return "normalize(mean=\(mean.map(Self.number).joined(separator: "/")),std=\(std.map(Self.number).joined(separator: "/")))"
        case .chw: return "chw"
        }
    }

    /// `value` in the spec syntax: an integer without a fraction, else Swift's shortest form.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}

/// A composition of ``ImageTransform`` steps that gives every image the same output shape:
/// what `--transform` (CLI), `transform=` (Python) and ``CachedDataSet/transforming(column:with:)``
/// take.
///
/// Geometric steps (crops, one resize, flips) apply in order, composed into a single resampling
/// of one box of the stored image, so each output pixel is computed once, straight into the
/// batch's buffer. `normalize` and `chw` choose the output's values and layout wherever they
/// appear. The pipeline must fix the output size: its last crop or resize is
/// `random-resized-crop(S)` or `center-crop(S)`, giving S × S.
///
/// ```swift
/// let pipeline = try ImagePipeline(parsing: "random-resized-crop(224),flip,normalize(imagenet),chw")
/// pipeline.outputShape(channels: 3)   // [3, 224, 224], float32
/// ```
public struct ImagePipeline: Sendable, Hashable, CustomStringConvertible {
    /// The steps, in order.
    public let steps: [ImageTransform]

    /// A pipeline of `steps`.
    /// - Throws: ``TransformSpecError/invalidPipeline(spec:reason:)`` when the steps do not fix
    ///   the output size, resize twice, normalise or reorder channels twice, or take invalid
    ///   sizes or ranges.
    public init(_ steps: [ImageTransform]) throws(TransformSpecError) {
        self.steps = steps
        try validate()
    }

    /// Parses a spec such as `random-resized-crop(224),flip,normalize(imagenet),chw`.
    /// - Throws: ``TransformSpecError``, naming the position and what was expected.
    ///   A second resize is refused with the position of that step.
    public init(parsing spec: String) throws(TransformSpecError) {
        let parsed = try TransformSpecParser.parse(spec)
        let resizes = parsed.filter(\.step.resizes)
        if resizes.count > 1 {
            throw .invalidPipeline(spec: spec, reason: "\(Self.resizesOnce) (the second resize, '\(resizes[1].step)', is at character \(resizes[1].position + 1))")
        }
        try self.init(parsed.map(\.step))
    }

    /// Why a pipeline with two resizes is refused.
    static let resizesOnce = "a pipeline resizes once: random-resized-crop or resize-shorter, not both nor twice"

    /// The spec of the pipeline, which parses back to it.
    public var description: String { steps.map(\.description).joined(separator: ",") }

    /// The side of the square output.
    public var outputSize: Int {
        var size = 0
        for step in steps {
            switch step {
            case let .randomResizedCrop(side, _, _), let .centerCrop(side): size = side
            case .resizeShorter: size = 0
            default: break
            }
        }
        return size
    }

    /// The normalisation, when the output is `float32`.
    public var normalization: (mean: [Double], std: [Double])? {
        for case let .normalize(mean, std) in steps { return (mean, std) }
        return nil
    }

    /// Whether the output is channels first.
    public var channelsFirst: Bool { steps.contains(.chw) }

    /// The output's dtype: `float32` when the pipeline normalises, else `uint8`.
    public var outputDType: DType { normalization == nil ? .uint8 : .float32 }

    /// The shape of one transformed image of `channels` channels.
    public func outputShape(channels: Int) -> [Int] {
        channelsFirst ? [channels, outputSize, outputSize] : [outputSize, outputSize, channels]
    }

    /// Checks that the pipeline can serve images of `channels` channels (a normalisation gives
    /// one value or one per channel).
    /// - Throws: ``TransformSpecError/invalidPipeline(spec:reason:)``.
    public func check(channels: Int) throws(TransformSpecError) {
        guard channels > 0 else { throw .invalidPipeline(spec: description, reason: "images need at least one channel") }
        if let (mean, _) = normalization, mean.count != 1 && mean.count != channels {
            throw .invalidPipeline(spec: description, reason: "normalize gives \(mean.count) values for images of \(channels) channels")
        }
    }

    private func validate() throws(TransformSpecError) {
        let spec = description
        func refuse(_ reason: String) -> TransformSpecError { .invalidPipeline(spec: spec, reason: reason) }
        var resizes = 0
        for step in steps {
            switch step {
            case let .randomResizedCrop(size, scale, ratio):
                guard (1...Self.maximumSide).contains(size) else { throw refuse("random-resized-crop size \(size) is not in 1...\(Self.maximumSide)") }
                guard scale.lowerBound > 0, scale.upperBound.isFinite else { throw refuse("random-resized-crop scale \(scale) must be positive and finite") }
                guard ratio.lowerBound > 0, ratio.upperBound.isFinite else { throw refuse("random-resized-crop ratio \(ratio) must be positive and finite") }
            case let .resizeShorter(size):
                guard (1...Self.maximumSide).contains(size) else { throw refuse("resize-shorter size \(size) is not in 1...\(Self.maximumSide)") }
            case let .centerCrop(size):
                guard (1...Self.maximumSide).contains(size) else { throw refuse("center-crop size \(size) is not in 1...\(Self.maximumSide)") }
            case let .normalize(mean, std):
                guard !mean.isEmpty, mean.count == std.count else { throw refuse("normalize needs as many means as standard deviations, at least one") }
                guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 != 0 }) else {
                    throw refuse("normalize needs finite means and finite, non-zero standard deviations")
                }
            case .flip, .chw: break
            }
            if step.resizes { resizes += 1 }
        }
        guard resizes <= 1 else { throw refuse(Self.resizesOnce) }
        guard steps.filter({ if case .normalize = $0 { true } else { false } }).count <= 1 else { throw refuse("normalize appears twice") }
        guard steps.filter({ $0 == .chw }).count <= 1 else { throw refuse("chw appears twice") }
        guard outputSize > 0 else {
            throw refuse("the output must have one size for every image: end the crops with random-resized-crop(S) or center-crop(S)")
        }
    }

    /// The largest output side or resize target accepted.
    public static let maximumSide = 16384
}
