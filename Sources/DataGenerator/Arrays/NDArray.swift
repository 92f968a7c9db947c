/// A small n-dimensional array value: a ``DType``, a shape, and contiguous C-order storage.
///
/// Encoders return one `NDArray` per record; batches hold one per input with the records stacked
/// along a new first axis. The storage is a byte array, so any dtype fits one type, and values are
/// read back with ``scalars(as:)`` or ``withUnsafeBytes(_:)``.
///
/// ```swift
/// let image = NDArray([0.0, 0.5, 1.0, 0.25] as [Float], shape: [2, 2])
/// image.scalars(as: Float.self)   // [0.0, 0.5, 1.0, 0.25]
/// ```
public struct NDArray: Sendable, Hashable, CustomStringConvertible {
    /// The element type.
    public let dtype: DType
    /// The extent of each axis; `[]` is a scalar (one element).
    public let shape: [Int]
    /// The elements' bytes, C order, little-endian (the machine's order).
    public private(set) var bytes: [UInt8]

    /// The number of elements: the product of ``shape``.
    public var count: Int { shape.reduce(1, *) }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// Creates an array over existing bytes.
    /// - Throws: ``ArrayError/byteCountMismatch(expected:actual:)`` when `bytes` does not hold
    ///   exactly `shape.product × dtype.byteWidth` bytes, ``ArrayError/negativeDimension(_:)``.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws(ArrayError) {
        if let bad = shape.first(where: { $0 < 0 }) { throw .negativeDimension(shape: shape, bad) }
        let expected = shape.reduce(1, *) * dtype.byteWidth
        guard bytes.count == expected else {
            throw .byteCountMismatch(dtype: dtype, shape: shape, expected: expected, actual: bytes.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Creates an array of zeros.
    public init(zeros dtype: DType, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = [UInt8](repeating: 0, count: shape.reduce(1, *) * dtype.byteWidth)
    }

    /// Creates an array from scalars; `shape` defaults to one axis of `scalars.count`.
    ///
    /// - Precondition: the product of `shape` equals `scalars.count`.
    public init<T: DTypeScalar>(_ scalars: [T], shape: [Int]? = nil) {
        let shape = shape ?? [scalars.count]
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) does not hold \(scalars.count) elements")
        self.dtype = T.dtype
        self.shape = shape
        self.bytes = scalars.withUnsafeBytes { Array($0) }
    }

    /// Creates a zero-dimensional array holding one scalar.
    public init<T: DTypeScalar>(scalar: T) {
        self.init([scalar], shape: [])
    }

    /// The elements as Swift values of type `T`.
    /// - Precondition: `T.dtype == dtype`.
    public func scalars<T: DTypeScalar>(as type: T.Type) -> [T] {
        precondition(T.dtype == dtype, "array holds \(dtype), not \(T.dtype)")
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                }
                initialized = count
            }
        }
    }

    /// The elements converted to `Double`, whatever the dtype (for tests and display).
    public func doubles() -> [Double] {
        var result = [Double]()
        result.reserveCapacity(count)
        ScalarConversion.forEachDouble(in: self) { result.append($0) }
        return result
    }

    /// The same elements as another dtype, converted value by value (integers round toward zero
    /// and clamp, as ``DTypeScalar/init(converting:)``).
    public func converted(to target: DType) -> NDArray {
        if target == dtype { return self }
        return ScalarConversion.convert(self, to: target)
    }

    /// The same elements under another shape with the same element count.
    /// - Throws: ``ArrayError/reshapeMismatch(from:to:)``.
    public func reshaped(_ newShape: [Int]) throws(ArrayError) -> NDArray {
        guard newShape.allSatisfy({ $0 >= 0 }), newShape.reduce(1, *) == count else {
            throw .reshapeMismatch(from: shape, to: newShape)
        }
        return try NDArray(dtype: dtype, shape: newShape, bytes: bytes)
    }

    /// Calls `body` with the elements' bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// Calls `body` with the elements' bytes, mutable.
    public mutating func withUnsafeMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) rethrows -> R {
        try bytes.withUnsafeMutableBytes(body)
    }

    /// Stacks arrays of one dtype and shape along a new first axis: `n` arrays of shape `s`
    /// become one of shape `[n] + s`.
    /// - Throws: ``ArrayError/stackMismatch(index:expected:found:)`` naming the first array that
    ///   differs from the first one.
    public static func stack(_ arrays: [NDArray]) throws(ArrayError) -> NDArray {
        guard let first = arrays.first else { throw .emptyStack }
        var bytes = [UInt8]()
        bytes.reserveCapacity(first.bytes.count * arrays.count)
        for (index, array) in arrays.enumerated() {
            guard array.dtype == first.dtype, array.shape == first.shape else {
                throw .stackMismatch(index: index, expected: first.spec, found: array.spec)
            }
            bytes.append(contentsOf: array.bytes)
        }
        return try NDArray(dtype: first.dtype, shape: [arrays.count] + first.shape, bytes: bytes)
    }

    /// The `index`-th sub-array along the first axis (a row of a batch).
    /// - Precondition: `rank >= 1` and `0 <= index < shape[0]`.
    public func row(_ index: Int) -> NDArray {
        precondition(rank >= 1 && index >= 0 && index < shape[0], "row \(index) out of \(shape)")
        let rowShape = Array(shape.dropFirst())
        let rowBytes = rowShape.reduce(1, *) * dtype.byteWidth
        let slice = Array(bytes[(index * rowBytes)..<((index + 1) * rowBytes)])
        // The byte count matches by construction.
        return try! NDArray(dtype: dtype, shape: rowShape, bytes: slice)
    }

    /// The dtype and shape, as an encoder declares them.
    public var spec: ArraySpec { ArraySpec(dtype, shape) }

    public var description: String {
        let values = doubles().prefix(16).map { value in
            dtype.isFloatingPoint ? "\(value)" : "\(Int64(value))"
        }
        let more = count > 16 ? ", …" : ""
        return "NDArray<\(dtype)>\(shape)[\(values.joined(separator: ", "))\(more)]"
    }
}

/// An error building or reshaping an ``NDArray``.
public enum ArrayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes given do not fill the shape exactly.
    case byteCountMismatch(dtype: DType, shape: [Int], expected: Int, actual: Int)
    /// A shape has a negative dimension.
    case negativeDimension(shape: [Int], Int)
    /// A reshape changes the number of elements.
    case reshapeMismatch(from: [Int], to: [Int])
    /// Arrays to stack differ in dtype or shape; `index` is the first that differs.
    case stackMismatch(index: Int, expected: ArraySpec, found: ArraySpec)
    /// Nothing to stack.
    case emptyStack

    public var description: String {
        switch self {
        case let .byteCountMismatch(dtype, shape, expected, actual):
            "\(actual) bytes do not fill a \(dtype) array of shape \(shape) (\(expected) bytes)"
        case let .negativeDimension(shape, bad):
            "shape \(shape) has a negative dimension \(bad)"
        case let .reshapeMismatch(from, to):
            "cannot reshape an array of shape \(from) to \(to): the element counts differ"
        case let .stackMismatch(index, expected, found):
            "cannot stack array \(index): it is \(found), the first is \(expected)"
        case .emptyStack:
            "cannot stack an empty list of arrays"
        }
    }
}

extension NDArray {
    /// An array of `dtype` and `shape` whose bytes `fill` writes (all of them) into uninitialised
    /// storage: no zero-filling before a gather.
    init<E: Error>(dtype: DType, shape: [Int],
                   filling fill: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) {
        let count = shape.reduce(1, *) * dtype.byteWidth
        var failure: E?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(E) {
                try fill(UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            } catch {
                buffer.initialize(repeating: 0)
                initialized = count
                failure = error
            }
        }
        if let failure { throw failure }
        self = try! NDArray(dtype: dtype, shape: shape, bytes: bytes)  // sizes match by construction
    }
}
