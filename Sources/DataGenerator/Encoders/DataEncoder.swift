/// What every data encoder declares: a stable identity, the spec of its output, and an optional
/// fitting pass over the inventory.
///
/// Conform to ``DataEncoder`` (one record at a time) or ``BatchDataEncoder`` (a batch at once),
/// not to this protocol directly.
public protocol DataEncoding: Sendable {
    /// A stable string naming the encoder, its version and its parameters, such as
    /// `"text(dtype=float32,shape=28x28,scale=0.00392)@1"`. It keys the cache: change it whenever
    /// the encoder's output for the same record changes.
    var identity: String { get }
    /// The dtype and shape of one record's output.
    var outputSpec: ArraySpec { get }
    /// Learns from the whole inventory before encoding (optional; the default does nothing).
    mutating func fit(on inventory: Inventory) throws
    /// What its cache column's rows are: the arrays (the default), or JPEG files of images of
    /// ``outputSpec`` (``JPEGImageStore``).
    var columnEncoding: CacheColumnEncoding { get }
}

extension DataEncoding {
    /// Does nothing.
    public mutating func fit(on inventory: Inventory) throws {}
    /// ``CacheColumnEncoding/plain``.
    public var columnEncoding: CacheColumnEncoding { .plain }
}

/// An encoder that turns one record into one array, as the seed library's `DataEncoder`.
///
/// The data set checks each output against ``DataEncoding/outputSpec`` and stacks a batch's
/// outputs with ``finalizeBatch(_:records:)``.
public protocol DataEncoder: DataEncoding {
    /// The record's array.
    func encode(_ record: Record) throws -> NDArray
    /// Combines a batch's arrays into one. The default stacks fixed-shape outputs and pads
    /// variable-length ones with zeros at the end to the batch's longest.
    func finalizeBatch(_ arrays: [NDArray], records: [Record]) throws -> NDArray
}

extension DataEncoder {
    /// Stacks fixed-shape arrays; pads variable-length ones at the end to the longest, with zeros.
    public func finalizeBatch(_ arrays: [NDArray], records: [Record]) throws -> NDArray {
        if outputSpec.isVariableShape {
            return try Padding.paddedToLargest(arrays, spec: outputSpec).array
        }
        if outputSpec.isVariableLength {
            return try Padding.padded(arrays, spec: outputSpec, value: 0, side: .end).array
        }
        return try NDArray.stack(arrays)
    }
}

/// An encoder that turns a whole batch of records into one array at once, as the seed library's
/// `BatchDataEncoder` (`transform_batch`). Its output's first axis has one entry per record.
public protocol BatchDataEncoder: DataEncoding {
    /// The batch's array, records along the first axis.
    func encodeBatch(_ records: [Record]) throws -> NDArray
}

/// A per-record encoder made from a closure.
///
/// ```swift
/// let lengths = ClosureEncoder(identity: "length@1", output: ArraySpec(.int32, [])) { record in
///     NDArray(scalar: Int32(record["text"]?.count ?? 0))
/// }
/// ```
public struct ClosureEncoder: DataEncoder {
    public let identity: String
    public let outputSpec: ArraySpec
    private let body: @Sendable (Record) throws -> NDArray

    /// An encoder that calls `body` for each record.
    /// - Parameters:
    ///   - identity: a stable name for what `body` computes (it keys the cache).
    ///   - output: the spec every result satisfies.
    public init(identity: String, output: ArraySpec, _ body: @escaping @Sendable (Record) throws -> NDArray) {
        self.identity = identity
        self.outputSpec = output
        self.body = body
    }

    public func encode(_ record: Record) throws -> NDArray { try body(record) }
}

/// A batch encoder made from a closure.
public struct ClosureBatchEncoder: BatchDataEncoder {
    public let identity: String
    public let outputSpec: ArraySpec
    private let body: @Sendable ([Record]) throws -> NDArray

    /// An encoder that calls `body` for each batch; `output` is the spec of one record's entry.
    public init(identity: String, output: ArraySpec, _ body: @escaping @Sendable ([Record]) throws -> NDArray) {
        self.identity = identity
        self.outputSpec = output
        self.body = body
    }

    public func encodeBatch(_ records: [Record]) throws -> NDArray { try body(records) }
}
