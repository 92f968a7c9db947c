/// Turns a batch of records into their targets: what a ``GeneratorDataSet`` calls for each batch.
public protocol TargetEncoder: Sendable {
    /// A stable description of the encoder and its fitted state (it keys the cache).
    var identity: String { get }
    /// The dtype and shape of one record's target; valid after ``fit(on:)``.
    var outputSpec: ArraySpec { get }
    /// Learns from the whole inventory (classes of a label encoder, say).
    mutating func fit(on inventory: Inventory) throws
    /// The targets of `records`, one entry per record along the first axis.
    func encodeBatch(_ records: [Record]) throws -> NDArray
}

/// Applies a chain of ``TargetTransform``s to one column of the inventory: the seed library's
/// `RecordTargetEncoder` (and, through ``label(column:)`` and ``oneHot(column:dtype:)``, its
/// `LabelRecordEncoder` and `OneHotRecordEncoder`).
///
/// ```swift
/// var targets = RecordTargetEncoder.oneHot(column: "target")
/// try targets.fit(on: inventory)
/// targets.classes                       // ["cat_0", "cat_1", "cat_2"]
/// try targets.encodeBatch(inventory.records).shape   // [10, 3]
/// ```
public struct RecordTargetEncoder: TargetEncoder {
    /// The column the targets come from.
    public let column: String
    /// The transforms, applied in order (inverted in reverse order).
    public private(set) var transforms: [any TargetTransform]
    public private(set) var outputSpec: ArraySpec

    /// A chain of `transforms` over `column`.
    public init(column: String = "target", _ transforms: [any TargetTransform]) {
        self.column = column
        self.transforms = transforms
        self.outputSpec = ArraySpec(.int64, [])
        self.outputSpec = (try? specAfterTransforms()) ?? outputSpec
    }

    /// Labels → `int64` class codes.
    public static func label(column: String = "target") -> RecordTargetEncoder {
        RecordTargetEncoder(column: column, [LabelEncoder()])
    }

    /// Labels → one-hot rows of `dtype`.
    public static func oneHot(column: String = "target", dtype: DType = .float32) -> RecordTargetEncoder {
        RecordTargetEncoder(column: column, [LabelEncoder(), OneHotEncoder(dtype: dtype)])
    }

    /// The classes of the chain's first ``LabelEncoder``, if it has one.
    public var classes: [String]? {
        (transforms.first(where: { $0 is LabelEncoder }) as? LabelEncoder)?.classes
    }

    public var identity: String {
        "target(column=\(column.debugDescription))[" + transforms.map(\.identity).joined(separator: ",") + "]"
    }

    /// Fits each transform on the output of the previous one over the whole column.
    public mutating func fit(on inventory: Inventory) throws {
        _ = try fitTransform(inventory)
    }

    /// Fits the chain on `inventory`'s column and returns its encoded values.
    public mutating func fitTransform(_ inventory: Inventory) throws -> TargetValues {
        var values = TargetValues.labels(try columnValues(inventory.records))
        for index in transforms.indices {
            try transforms[index].fit(values)
            values = try transforms[index].transform(values)
        }
        outputSpec = try specAfterTransforms()
        return values
    }

    /// The encoded values of `records`.
    public func transform(_ records: [Record]) throws -> TargetValues {
        var values = TargetValues.labels(try columnValues(records))
        for transform in transforms {
            do {
                values = try transform.transform(values)
            } catch let EncodingError.unseenLabel(label, row, _) {
                throw EncodingError.unseenLabel(label: label, row: row.map { records[$0].row }, column: column)
            } catch let EncodingError.notANumber(value, row, _) {
                throw EncodingError.notANumber(value: value, row: row.map { records[$0].row }, column: column)
            }
        }
        return values
    }

    /// Decodes values back through the chain, last transform first.
    public func inverseTransform(_ values: TargetValues) throws -> TargetValues {
        try transforms.reversed().reduce(values) { try $1.inverseTransform($0) }
    }

    /// The targets of `records` as an array.
    /// - Throws: an error when the chain ends in labels rather than numbers.
    public func encodeBatch(_ records: [Record]) throws -> NDArray {
        switch try transform(records) {
        case let .array(array): return array
        case .labels:
            throw EncodingError.failed(encoder: identity, row: records.first?.row ?? 0, id: records.first?.id,
                                       reason: "the target chain ends in labels, not numbers")
        }
    }

    private func columnValues(_ records: [Record]) throws(EncodingError) -> [String] {
        try records.map { (record) throws(EncodingError) -> String in
            guard let value = record[column] else {
                throw .missingColumn(column: column, row: record.row, available: record.inventory.columnNames)
            }
            return value
        }
    }

    /// The per-record spec, found by passing an empty batch through the chain.
    private func specAfterTransforms() throws -> ArraySpec {
        var values = TargetValues.labels([])
        for transform in transforms { values = try transform.transform(values) }
        guard case let .array(array) = values else { return ArraySpec(.int64, []) }
        return ArraySpec(array.dtype, Array(array.shape.dropFirst()))
    }
}

/// A target encoder made from a closure over a batch of records (as the seed's tests use).
public struct ClosureTargetEncoder: TargetEncoder {
    public let identity: String
    public let outputSpec: ArraySpec
    private let body: @Sendable ([Record]) throws -> NDArray

    /// An encoder calling `body` per batch; `output` is one record's spec.
    public init(identity: String, output: ArraySpec, _ body: @escaping @Sendable ([Record]) throws -> NDArray) {
        self.identity = identity
        self.outputSpec = output
        self.body = body
    }

    public mutating func fit(on inventory: Inventory) throws {}
    public func encodeBatch(_ records: [Record]) throws -> NDArray { try body(records) }
}
