/// How a record's file or URL body is read: the CLI's `--data text|npy|raw|utf8|image`.
public enum ResourceFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// Numbers as text (`numpy.savetxt`): see ``TextArrayDecoder``.
    case text
    /// A NumPy `.npy` file: see ``NPYDecoder``.
    case npy
    /// The bytes themselves as `uint8`.
    case raw
    /// UTF-8 text as variable-length `uint8` (validated).
    case utf8
    /// A JPEG or PNG image as `uint8 [height, width, channels]`, each row its own shape: see
    /// ``ImageDecoder``.
    case image
}

/// Turns the bytes of a record's resource into its array, in one of the built-in
/// ``ResourceFormat``s, then scales, casts and reshapes it as asked.
///
/// ```swift
/// let decoder = ResourceDecoder(format: .text, dtype: .float32, shape: [784], scale: 1 / 255)
/// let encoder = FileDataEncoder(directory: "mnist", idMapper: IDMapper(suffix: ".txt"),
///                               identity: decoder.identity, output: try decoder.outputSpec(sample: nil),
///                               transform: { try decoder.decode($0) })
/// ```
public struct ResourceDecoder: Sendable, Hashable {
    /// The resource's format.
    public var format: ResourceFormat
    /// The dtype of the result, or `nil` for the format's own (`float32` for text, the file's for
    /// `npy`, `uint8` for `raw` and `utf8`).
    public var dtype: DType?
    /// The shape of the result, or `nil` for the shape as read.
    public var shape: [Int]?
    /// The factor every value is multiplied by before the cast, or `nil` for none.
    public var scale: Double?
    /// How images are decoded (format ``ResourceFormat/image`` only).
    public var image: ImageDecoder

    /// A decoder for `format`; `image` configures the ``ResourceFormat/image`` format.
    public init(format: ResourceFormat, dtype: DType? = nil, shape: [Int]? = nil, scale: Double? = nil,
                image: ImageDecoder = ImageDecoder()) {
        self.format = format
        self.dtype = dtype
        self.shape = shape
        self.scale = scale
        self.image = image
    }

    /// A stable description for encoder identities (keys the cache).
    public var identity: String {
        switch format {
        case .image: image.identity
        case .text: TextArrayDecoder(dtype: dtype ?? .float32, shape: shape, scale: scale).identity
        case .npy: NPYDecoder(dtype: dtype, shape: shape, scale: scale).identity
        case .raw, .utf8:
            "\(format.rawValue)(dtype=\(dtype.map { "\($0)" } ?? "uint8"),shape=\(shape.map { "\($0)" } ?? "variable"),scale=\(scale.map { "\($0)" } ?? "none"))@1"
        }
    }

    /// The array of `contents`.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming the record, the
    ///   location and what is wrong.
    public func decode(_ contents: ResourceContents) throws(EncodingError) -> NDArray {
        switch format {
        case .image:
            return try image.decode(contents)
        case .text:
            return try TextArrayDecoder(dtype: dtype ?? .float32, shape: shape, scale: scale).decode(contents)
        case .npy:
            return try NPYDecoder(dtype: dtype, shape: shape, scale: scale).decode(contents)
        case .raw, .utf8:
            if format == .utf8 { _ = try contents.text() }
            var array = NDArray(contents.bytes)
            if let scale {
                let target = dtype ?? .float32
                array = try! NDArray(dtype: target, shape: array.shape,  // same element count
                                     bytes: ScalarConversion.bytes(of: array.doubles().map { $0 * scale }, as: target))
            } else if let dtype {
                array = array.converted(to: dtype)
            }
            if let shape {
                do { array = try array.reshaped(shape) } catch {
                    throw .malformedData(row: contents.row, id: contents.id, location: contents.location,
                                         reason: "\(contents.bytes.count) bytes do not fit shape \(shape)")
                }
            }
            return array
        }
    }

    /// The spec of every record's array.
    ///
    /// Fixed when a shape is given; `raw` and `utf8` without a shape are variable-length; `text`
    /// and `npy` without a shape take the dtype and shape of `sample` (the first record), which
    /// every other record must then match.
    /// - Throws: ``EncodingError`` when a sample is needed but `nil` or unreadable.
    public func outputSpec(sample: ResourceContents?) throws(EncodingError) -> ArraySpec {
        switch format {
        case .image:
            return image.outputSpec
        case .raw, .utf8:
            let type = dtype ?? (scale != nil ? .float32 : .uint8)
            return shape.map { ArraySpec(type, $0) } ?? .variableLength(type)
        case .text, .npy:
            if let shape, format == .text || dtype != nil {
                return ArraySpec(dtype ?? .float32, shape)
            }
            guard let sample else {
                throw .failed(encoder: identity, row: 0, id: nil, reason: "the output shape is read from the first record, but there is none")
            }
            return try decode(sample).spec
        }
    }
}
