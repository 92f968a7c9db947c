/// The dtype and shape an encoder promises for each record's output.
///
/// A fixed spec gives every record the same shape. A variable-length spec lets the first
/// dimension vary from record to record (a sentence of tokens, an audio clip) while the trailing
/// dimensions stay fixed; batches of such records are padded to the longest one or handed to the
/// encoder's `finalizeBatch`.
public struct ArraySpec: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The element type.
    public var dtype: DType
    /// For a fixed spec the whole shape; for a variable-length spec the trailing dimensions
    /// (the shape of one element of the varying first axis).
    public var shape: [Int]
    /// Whether the first dimension varies between records.
    public var isVariableLength: Bool

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

    /// Whether `array` satisfies this spec.
    public func accepts(_ array: NDArray) -> Bool {
        guard array.dtype == dtype else { return false }
        if isVariableLength {
            return array.rank == shape.count + 1 && Array(array.shape.dropFirst()) == shape
        }
        return array.shape == shape
    }

    /// Elements per record (fixed spec) or per step of the first axis (variable-length spec).
    public var elementsPerStep: Int { shape.reduce(1, *) }

    public var description: String {
        let dims = (isVariableLength ? ["*"] : []) + shape.map(String.init)
        return "\(dtype)[\(dims.joined(separator: ","))]"
    }
}
