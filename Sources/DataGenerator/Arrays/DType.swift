/// The element type of an ``NDArray``: the numeric types NumPy and the ML frameworks share.
///
/// Raw values are NumPy's names (`"float32"`), which the CLI, the cache file's schema and the
/// Python package all use.
public enum DType: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case bool
    case uint8, uint16, uint32, uint64
    case int8, int16, int32, int64
    case float16, float32, float64

    /// The size of one element in bytes.
    public var byteWidth: Int {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .float16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool {
        self == .float16 || self == .float32 || self == .float64
    }

    /// A stable one-byte code for binary formats (the cache file's schema).
    public var code: UInt8 {
        switch self {
        case .bool: 1
        case .uint8: 2
        case .uint16: 3
        case .uint32: 4
        case .uint64: 5
        case .int8: 6
        case .int16: 7
        case .int32: 8
        case .int64: 9
        case .float16: 10
        case .float32: 11
        case .float64: 12
        }
    }

    /// The type with the given ``code``, or `nil` for an unknown code.
    public init?(code: UInt8) {
        guard let match = DType.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }

    public var description: String { rawValue }
}

/// A Swift scalar type that an ``NDArray`` can hold.
public protocol DTypeScalar: BitwiseCopyable, Sendable, Equatable {
    /// The ``DType`` this Swift type stores as.
    static var dtype: DType { get }
    /// Converts from a `Double`, rounding toward zero and clamping to the type's range for integers.
    init(converting value: Double)
    /// The value as a `Double`.
    var doubleValue: Double { get }
}

extension Bool: DTypeScalar {
    public static var dtype: DType { .bool }
    public init(converting value: Double) { self = value != 0 }
    public var doubleValue: Double { self ? 1 : 0 }
}

extension UInt8: DTypeScalar { public static var dtype: DType { .uint8 } }
extension UInt16: DTypeScalar { public static var dtype: DType { .uint16 } }
extension UInt32: DTypeScalar { public static var dtype: DType { .uint32 } }
extension UInt64: DTypeScalar { public static var dtype: DType { .uint64 } }
extension Int8: DTypeScalar { public static var dtype: DType { .int8 } }
extension Int16: DTypeScalar { public static var dtype: DType { .int16 } }
extension Int32: DTypeScalar { public static var dtype: DType { .int32 } }
extension Int64: DTypeScalar { public static var dtype: DType { .int64 } }
extension Float16: DTypeScalar { public static var dtype: DType { .float16 } }
extension Float: DTypeScalar { public static var dtype: DType { .float32 } }
extension Double: DTypeScalar { public static var dtype: DType { .float64 } }

extension DTypeScalar where Self: FixedWidthInteger {
    /// Converts from a `Double`, rounding toward zero and clamping to the type's range (NaN → 0).
    public init(converting value: Double) {
        if value.isNaN {
            self = 0
        } else if value <= Double(Self.min) {
            self = Self.min
        } else if value >= Double(Self.max) {
            self = Self.max
        } else {
            self = Self(value.rounded(.towardZero))
        }
    }
    /// The value as a `Double`.
    public var doubleValue: Double { Double(self) }
}

extension DTypeScalar where Self: BinaryFloatingPoint {
    /// Converts from a `Double` with the usual floating-point rounding.
    public init(converting value: Double) { self = Self(value) }
    /// The value as a `Double`.
    public var doubleValue: Double { Double(self) }
}
