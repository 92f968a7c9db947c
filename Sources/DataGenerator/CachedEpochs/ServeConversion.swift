/// How a stored fixed-shape column is delivered: each element converted to ``dtype`` after being
/// multiplied by ``scale``, inside the gather (no second pass over the batch).
///
/// The delivered value of a stored element `x` is `dtype(converting: Double(x) × scale)`: the
/// product is computed in `Double`, then rounded to a float type, or rounded toward zero and
/// clamped for an integer type (as ``DTypeScalar/init(converting:)``). A `uint8` column of pixels
/// served as `float32` with `scale: 1.0 / 255` keeps the cache four times smaller than its output.
public struct ServeConversion: Sendable, Hashable, CustomStringConvertible {
    /// The delivered dtype.
    public let dtype: DType
    /// The factor applied to every stored value before the conversion.
    public let scale: Double

    /// Delivers as `dtype`, each stored value multiplied by `scale` first.
    public init(dtype: DType, scale: Double = 1) {
        self.dtype = dtype
        self.scale = scale
    }

    /// For example `float32 × 0.00392156862745098`.
    public var description: String { "\(dtype) × \(scale)" }
}

/// The element loop of one conversion, chosen once per column: `convert(source, target, n)`
/// converts `n` elements.
///
/// A `uint8` source goes through a 256-entry table of the delivered values (so the
/// conversion costs one load and one store per element); other sources compute each value.
struct ServeKernel: Sendable {
    let sourceRowBytes: Int
    let targetRowBytes: Int
    let elementsPerRow: Int
    let convert: @Sendable (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void

    init(source: DType, conversion: ServeConversion, elementsPerRow: Int) {
        self.elementsPerRow = elementsPerRow
        sourceRowBytes = elementsPerRow * source.byteWidth
        targetRowBytes = elementsPerRow * conversion.dtype.byteWidth
        convert = ScalarConversion.dispatch(source, SourceVisitor(target: conversion.dtype, scale: conversion.scale))
    }

    /// Converts `rows` whole rows.
    func convertRows(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, rows: Int) {
        convert(source, target, rows * elementsPerRow)
    }

    private struct SourceVisitor: ScalarConversion.Visitor {
        let target: DType
        let scale: Double
        func visit<S: DTypeScalar>(_ source: S.Type) -> @Sendable (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void {
            ScalarConversion.dispatch(target, TargetVisitor<S>(scale: scale))
        }
    }

    private struct TargetVisitor<S: DTypeScalar>: ScalarConversion.Visitor {
        let scale: Double
        func visit<T: DTypeScalar>(_ target: T.Type) -> @Sendable (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void {
            let scale = self.scale
            if S.self == UInt8.self {
                let table = (0..<256).map { T(converting: Double($0) * scale) }
                return { source, destination, count in
                    let from = source.assumingMemoryBound(to: UInt8.self)
                    let to = destination.assumingMemoryBound(to: T.self)
                    table.withUnsafeBufferPointer { table in
                        for index in 0..<count { to[index] = table[Int(from[index])] }
                    }
                }
            }
            return { source, destination, count in
                let to = destination.assumingMemoryBound(to: T.self)
                for index in 0..<count {
                    let value = source.loadUnaligned(fromByteOffset: index * MemoryLayout<S>.stride, as: S.self)
                    to[index] = T(converting: value.doubleValue * scale)
                }
            }
        }
    }
}
