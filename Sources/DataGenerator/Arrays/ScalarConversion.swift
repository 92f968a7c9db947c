/// Dtype dispatch for element-wise conversions: a switch over ``DType`` that calls a generic
/// function with the matching Swift scalar type.
enum ScalarConversion {
    /// A generic operation over one scalar type.
    protocol Visitor {
        associatedtype Result
        func visit<T: DTypeScalar>(_ type: T.Type) -> Result
    }

    /// Calls `visitor.visit` with the Swift type of `dtype`.
    static func dispatch<V: Visitor>(_ dtype: DType, _ visitor: V) -> V.Result {
        switch dtype {
        case .bool: visitor.visit(Bool.self)
        case .uint8: visitor.visit(UInt8.self)
        case .uint16: visitor.visit(UInt16.self)
        case .uint32: visitor.visit(UInt32.self)
        case .uint64: visitor.visit(UInt64.self)
        case .int8: visitor.visit(Int8.self)
        case .int16: visitor.visit(Int16.self)
        case .int32: visitor.visit(Int32.self)
        case .int64: visitor.visit(Int64.self)
        case .float16: visitor.visit(Float16.self)
        case .float32: visitor.visit(Float.self)
        case .float64: visitor.visit(Double.self)
        }
    }

    /// Reads the elements of raw bytes holding `dtype` values as doubles.
    static func doubles(from raw: UnsafeRawBufferPointer, dtype: DType) -> [Double] {
        struct Reader: Visitor {
            let raw: UnsafeRawBufferPointer
            func visit<T: DTypeScalar>(_ type: T.Type) -> [Double] {
                let count = raw.count / MemoryLayout<T>.stride
                return (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.self).doubleValue }
            }
        }
        return dispatch(dtype, Reader(raw: raw))
    }

    /// Calls `body` with each element of `array` as a `Double`, in order.
    static func forEachDouble(in array: NDArray, _ body: (Double) -> Void) {
        array.withUnsafeBytes { raw in
            for value in doubles(from: raw, dtype: array.dtype) { body(value) }
        }
    }

    /// Writes `values` as `dtype` elements into a new byte array.
    static func bytes(of values: [Double], as dtype: DType) -> [UInt8] {
        struct Writer: Visitor {
            let values: [Double]
            func visit<T: DTypeScalar>(_ type: T.Type) -> [UInt8] {
                let converted = values.map { T(converting: $0) }
                return converted.withUnsafeBytes { Array($0) }
            }
        }
        return dispatch(dtype, Writer(values: values))
    }

    /// `array` with each element converted to `target`.
    static func convert(_ array: NDArray, to target: DType) -> NDArray {
        let converted = bytes(of: array.doubles(), as: target)
        // The byte count matches the shape by construction.
        return try! NDArray(dtype: target, shape: array.shape, bytes: converted)
    }
}
