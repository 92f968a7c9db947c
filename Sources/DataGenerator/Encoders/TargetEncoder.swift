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

    /// The same chain with its ``LabelEncoder`` given `classes` once and for all
    /// (``LabelEncoder/init(fixedClasses:)``), and a ``OneHotEncoder`` after it given one column
    /// per class: the codes no longer depend on which labels an inventory holds, so that a
    /// training and a validation inventory agree.
    public func fixingClasses(_ classes: [String]) -> RecordTargetEncoder {
        var fixed = [any TargetTransform]()
        var afterLabels = false
        for transform in transforms {
            if transform is LabelEncoder {
                fixed.append(LabelEncoder(fixedClasses: classes))
                afterLabels = true
            } else if afterLabels, let oneHot = transform as? OneHotEncoder {
                fixed.append(OneHotEncoder(fixedCategories: (0..<Int64(classes.count)).map { $0 }, dtype: oneHot.dtype))
            } else {
                fixed.append(transform)
            }
        }
        return RecordTargetEncoder(column: column, fixed)
    }

    /// The classes of the chain's first ``LabelEncoder``, if it has one.
    public var classes: [String]? {
        (transforms.first(where: { $0 is LabelEncoder }) as? LabelEncoder)?.classes
    }

    public var identity: String {
        "target(column=\(column.debugDescription))[" + transforms.map(\.identity).joined(separator: ",") + "]"
    }

    /// Fits each transform on the output of the previous one over the whole column.
    /// - Throws: ``EncodingError/emptyLabel(row:id:column:line:)`` for an empty label, and the
    ///   transforms' errors.
    public mutating func fit(on inventory: Inventory) throws {
        _ = try fitTransform(inventory)
    }

    /// Fits the chain on `inventory`'s column and returns its encoded values.
    public mutating func fitTransform(_ inventory: Inventory) throws -> TargetValues {
        let records = inventory.records
        var values = TargetValues.labels(try columnValues(records))
        for index in transforms.indices {
            do {
                try transforms[index].fit(values)
                values = try transforms[index].transform(values)
            } catch let error as EncodingError {
                throw naming(error, in: records)
            }
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
            } catch let error as EncodingError {
                throw naming(error, in: records)
            }
        }
        return values
    }

    /// A transform's error about the label at a position of `records`, naming the record instead
    /// (its row, id and CSV line) and this encoder's column.
    private func naming(_ error: EncodingError, in records: [Record]) -> EncodingError {
        func record(_ position: Int?) -> Record? {
            position.flatMap { records.indices.contains($0) ? records[$0] : nil }
        }
        switch error {
        case let .unseenLabel(label, position, _, _):
            return .unseenLabel(label: label, row: record(position)?.row ?? position, column: column, line: record(position)?.line)
        case let .notANumber(value, position, _, _):
            return .notANumber(value: value, row: record(position)?.row ?? position, column: column, line: record(position)?.line)
        case let .labelNotInClasses(label, position, _, _, classes, _):
            let named = record(position)
            return .labelNotInClasses(label: label, row: named?.row ?? position, id: named?.id, column: column,
                                      classes: classes, line: named?.line)
        default:
            return error
        }
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
                                       reason: "the target chain ends in labels, not numbers", line: records.first?.line)
        }
    }

    /// The target column's values of `records`. When the chain starts with a ``LabelEncoder``,
    /// an empty value is ``EncodingError/emptyLabel(row:id:column:line:)`` (naming the record and
    /// its CSV line), never a class `""`.
    private func columnValues(_ records: [Record]) throws(EncodingError) -> [String] {
        let labels = transforms.first is LabelEncoder
        return try records.map { (record) throws(EncodingError) -> String in
            guard let value = record[column] else {
                throw .missingColumn(column: column, row: record.row, available: record.inventory.columnNames,
                                     line: record.line)
            }
            if labels && value.isEmpty {
                throw .emptyLabel(row: record.row, id: record.id, column: column, line: record.line)
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
