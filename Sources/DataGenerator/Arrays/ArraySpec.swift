/// The dtype and shape an encoder promises for each record's output.
///
/// A fixed spec gives every record the same shape. A variable-length spec lets the first
/// dimension vary from record to record (a sentence of tokens, an audio clip) while the trailing
/// dimensions stay fixed; batches of such records are padded to the longest one or handed to the
/// encoder's `finalizeBatch`. A variable-shape spec (images) lets several dimensions vary, each
/// row carrying its own shape (see ``variableShape(_:rank:fixed:)``).
public struct ArraySpec: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The element type.
    public var dtype: DType
    /// For a fixed spec the whole shape; for a variable-length spec the trailing dimensions
    /// (the shape of one element of the varying first axis).
    public var shape: [Int]
    /// Whether the first dimension varies between records.
    ///
    /// A variable-shape spec is also variable-length, over a flat stream of elements: ``shape``
    /// is empty and each row's elements are its whole array in C order.
    public var isVariableLength: Bool
    /// For a variable-shape spec, each row's dimensions, `-1` where a dimension varies from row
    /// to row (images: `[-1, -1, 3]`); `nil` otherwise.
    public var rowShape: [Int]?

    /// A fixed-shape spec.
    public init(_ dtype: DType, _ shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
        self.isVariableLength = false
    }

    /// A spec whose first dimension varies; `trailing` are the fixed dimensions after it.
    public static func variableLength(_ dtype: DType, trailing: [Int] = []) -> ArraySpec {
        var spec = ArraySpec(dtype, trailing)
        spec.isVariableLength = true
        return spec
    }

    /// A spec of `rank` dimensions that may each vary from row to row except those `fixed`
    /// gives (dimension index: size); rows are stored with their own shapes.
    public static func variableShape(_ dtype: DType, rank: Int, fixed: [Int: Int] = [:]) -> ArraySpec {
        var spec = ArraySpec(dtype, [])
        spec.isVariableLength = true
        spec.rowShape = (0..<rank).map { fixed[$0] ?? -1 }
        return spec
    }

    /// Whether rows carry their own shapes (``rowShape`` is set).
    public var isVariableShape: Bool { rowShape != nil }

    /// Whether `array` satisfies this spec.
    public func accepts(_ array: NDArray) -> Bool {
        guard array.dtype == dtype else { return false }
        if let rowShape {
            return array.rank == rowShape.count && zip(array.shape, rowShape).allSatisfy { $1 < 0 || $0 == $1 }
        }
        if isVariableLength {
            return array.rank == shape.count + 1 && Array(array.shape.dropFirst()) == shape
        }
        return array.shape == shape
    }

    /// Elements per record (fixed spec) or per step of the first axis (variable-length spec).
    public var elementsPerStep: Int { shape.reduce(1, *) }

    public var description: String {
        if let rowShape { return "\(dtype)[\(rowShape.map { $0 < 0 ? "*" : String($0) }.joined(separator: ","))]" }
        let dims = (isVariableLength ? ["*"] : []) + shape.map(String.init)
        return "\(dtype)[\(dims.joined(separator: ","))]"
    }
}
