/// Target values as they pass through a chain of ``TargetTransform``s: the raw labels of a column,
/// or an array (integers after a label encoder, one-hot rows after a one-hot encoder).
public enum TargetValues: Sendable, Equatable {
    /// String labels, one per record.
    case labels([String])
    /// An array whose first axis has one entry per record.
    case array(NDArray)

    /// The number of records the values cover.
    public var count: Int {
        switch self {
        case let .labels(labels): labels.count
        case let .array(array): array.shape.first ?? 1
        }
    }
}

/// One step of a target chain (scikit-learn's `fit` / `transform` / `inverse_transform`).
public protocol TargetTransform: Sendable {
    /// A stable description of the transform and its fitted state (it keys the cache).
    var identity: String { get }
    /// Learns from all of a column's values.
    mutating func fit(_ values: TargetValues) throws
    /// Encodes values.
    func transform(_ values: TargetValues) throws -> TargetValues
    /// Decodes values produced by ``transform(_:)``.
    func inverseTransform(_ values: TargetValues) throws -> TargetValues
}

/// Maps labels to integers `0..<classes.count`, as scikit-learn's `LabelEncoder`.
///
/// Classes are sorted numerically when every label parses as a number (as pandas reads such a
/// column), otherwise by Unicode code points (as NumPy sorts strings). An unseen label is an error.
public struct LabelEncoder: TargetTransform, Hashable {
    /// The distinct labels in class order; a label's code is its position here.
    public private(set) var classes: [String]
    /// Whether ``classes`` were given once and for all: fitting then only checks that every
    /// label is one of them (so that a training and a validation set share their codes).
    public private(set) var isFixed = false
    private var codes: [String: Int64]

    /// An unfitted encoder, or one with known classes (kept in the given order) that fitting
    /// replaces.
    public init(classes: [String] = []) {
        self.classes = classes
        self.codes = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int64($0)) })
    }

    /// An encoder whose classes (and so codes) are `classes`, in that order, whatever it is
    /// fitted on: a label outside them is ``EncodingError/labelNotInClasses(label:row:id:column:classes:line:)``.
    /// Its identity is that of a fitted encoder with the same classes.
    public init(fixedClasses classes: [String]) {
        self.init(classes: classes)
        self.isFixed = true
    }

    public var identity: String { "label(classes=\(classes))@1" }

    /// Sorts the distinct labels into ``classes``.
    public mutating func fit(_ values: TargetValues) throws {
        guard case let .labels(labels) = values else {
            throw EncodingError.failed(encoder: "label", row: 0, id: nil, reason: "label encoder expects labels, not an array")
        }
        if isFixed {
            for (index, label) in labels.enumerated() where codes[label] == nil {
                throw EncodingError.labelNotInClasses(label: label, row: index, id: nil, column: "target", classes: classes)
            }
            return
        }
        self = LabelEncoder(classes: LabelEncoder.sortedClasses(labels))
    }

    /// Sorts distinct labels: numerically when all parse as numbers, else by code points.
    public static func sortedClasses(_ labels: [String]) -> [String] {
        let distinct = Array(Set(labels))
        let numbers = distinct.map { Double($0.trimmingSpaces) }
        if !distinct.isEmpty, numbers.allSatisfy({ $0 != nil && !$0!.isNaN }) {
            return zip(distinct, numbers).sorted {
                $0.1! != $1.1! ? $0.1! < $1.1! : $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars)
            }.map(\.0)
        }
        return distinct.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// Labels → `int64` codes.
    public func transform(_ values: TargetValues) throws -> TargetValues {
        guard case let .labels(labels) = values else {
            throw EncodingError.failed(encoder: identity, row: 0, id: nil, reason: "label encoder expects labels")
        }
        var result = [Int64]()
        result.reserveCapacity(labels.count)
        for (index, label) in labels.enumerated() {
            guard let code = codes[label] else {
                if isFixed {
                    throw EncodingError.labelNotInClasses(label: label, row: index, id: nil, column: "target", classes: classes)
                }
                throw EncodingError.unseenLabel(label: label, row: index, column: "target")
            }
            result.append(code)
        }
        return .array(NDArray(result))
    }

    /// Codes → labels.
    public func inverseTransform(_ values: TargetValues) throws -> TargetValues {
        guard case let .array(array) = values else { return values }
        return .labels(try array.doubles().map { code in
            let index = Int(code)
            guard index >= 0, index < classes.count, Double(index) == code else {
                throw EncodingError.failed(encoder: identity, row: 0, id: nil, reason: "code \(code) is not a class index")
            }
            return classes[index]
        })
    }
}

/// Maps integer codes to one-hot rows, as scikit-learn's `OneHotEncoder` on a column of integers
/// (the seed's `IntToOneHotEncoder`). The inverse is the argmax of each row.
public struct OneHotEncoder: TargetTransform, Hashable {
    /// The distinct codes, sorted; a code's column is its position here.
    public private(set) var categories: [Int64]
    /// The dtype of the one-hot rows (default `float32`, what training frameworks take).
    public let dtype: DType

    /// Whether ``categories`` were given once and for all (fitting leaves them).
    public private(set) var isFixed = false

    /// An unfitted encoder, or one with known categories that fitting replaces.
    public init(categories: [Int64] = [], dtype: DType = .float32) {
        self.categories = categories
        self.dtype = dtype
    }

    /// An encoder whose columns are `categories` whatever it is fitted on (a code outside them
    /// is an error when transformed). Its identity is that of a fitted encoder with the same
    /// categories.
    public init(fixedCategories categories: [Int64], dtype: DType = .float32) {
        self.init(categories: categories, dtype: dtype)
        self.isFixed = true
    }

    public var identity: String { "onehot(categories=\(categories),dtype=\(dtype))@1" }

    /// Collects the distinct codes (unless the categories are fixed).
    public mutating func fit(_ values: TargetValues) throws {
        if isFixed { return }
        categories = Array(Set(try OneHotEncoder.codes(values, encoder: "onehot"))).sorted()
    }

    /// Codes `[n]` → one-hot rows `[n, categories.count]`.
    public func transform(_ values: TargetValues) throws -> TargetValues {
        let codes = try OneHotEncoder.codes(values, encoder: identity)
        let position = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        var hot = [Double](repeating: 0, count: codes.count * categories.count)
        for (row, code) in codes.enumerated() {
            guard let column = position[code] else {
                throw EncodingError.unseenLabel(label: String(code), row: row, column: "target")
            }
            hot[row * categories.count + column] = 1
        }
        let bytes = ScalarConversion.bytes(of: hot, as: dtype)
        return .array(try NDArray(dtype: dtype, shape: [codes.count, categories.count], bytes: bytes))
    }

    /// One-hot rows → `int64` codes (argmax of each row).
    public func inverseTransform(_ values: TargetValues) throws -> TargetValues {
        guard case let .array(array) = values, array.rank == 2, array.shape[1] == categories.count else {
            throw EncodingError.failed(encoder: identity, row: 0, id: nil,
                                       reason: "expects rows of \(categories.count) columns")
        }
        let width = categories.count
        let flat = array.doubles()
        let codes = (0..<array.shape[0]).map { row -> Int64 in
            let slice = flat[(row * width)..<((row + 1) * width)]
            let best = slice.indices.max { slice[$0] < slice[$1] } ?? row * width
            return categories[best - row * width]
        }
        return .array(NDArray(codes))
    }

    static func codes(_ values: TargetValues, encoder: String) throws -> [Int64] {
        switch values {
        case let .array(array) where array.rank == 1 && !array.dtype.isFloatingPoint:
            return array.doubles().map { Int64($0) }
        case let .labels(labels):
            return try labels.enumerated().map { row, label in
                guard let code = Int64(label.trimmingSpaces) else {
                    throw EncodingError.notANumber(value: label, row: row, column: "target")
                }
                return code
            }
        default:
            throw EncodingError.failed(encoder: encoder, row: 0, id: nil, reason: "expects one integer per record")
        }
    }
}

/// Parses labels as numbers of a dtype (`int` and `float` targets of the CLI).
public struct NumberEncoder: TargetTransform, Hashable {
    /// The dtype of the parsed values.
    public let dtype: DType

    /// Parses into `dtype` (default `float32`).
    public init(dtype: DType = .float32) { self.dtype = dtype }

    public var identity: String { "number(dtype=\(dtype))@1" }

    /// Labels → numbers; an unparsable label is ``EncodingError/notANumber(value:row:column:line:)``.
    public func transform(_ values: TargetValues) throws -> TargetValues {
        guard case let .labels(labels) = values else { return values }
        let numbers = try labels.enumerated().map { row, label in
            guard let value = Double(label.trimmingSpaces) else {
                throw EncodingError.notANumber(value: label, row: row, column: "target")
            }
            return value
        }
        return .array(try NDArray(dtype: dtype, shape: [numbers.count], bytes: ScalarConversion.bytes(of: numbers, as: dtype)))
    }

    /// Numbers → labels (their decimal text).
    public func inverseTransform(_ values: TargetValues) throws -> TargetValues {
        guard case let .array(array) = values else { return values }
        return .labels(array.doubles().map { dtype.isFloatingPoint ? String($0) : String(Int64($0)) })
    }

    public mutating func fit(_ values: TargetValues) throws {}
}

/// Leaves values unchanged (the seed's `IdentityEncoder`).
public struct IdentityEncoder: TargetTransform, Hashable {
    /// The identity transform.
    public init() {}
    public var identity: String { "identity@1" }
    public mutating func fit(_ values: TargetValues) throws {}
    public func transform(_ values: TargetValues) throws -> TargetValues { values }
    public func inverseTransform(_ values: TargetValues) throws -> TargetValues { values }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }
}
