/// Padding of variable-length arrays to a common length, for batches.
public enum Padding {
    /// Where padding goes.
    public enum Side: String, Sendable, Codable {
        /// After the values (the default of Keras' `pad_sequences` is `pre`; ours is `end`).
        case end
        /// Before the values.
        case start
    }

    /// Pads `arrays` (each `[length] + spec.shape`) to the longest length and stacks them.
    /// - Returns: the padded batch and each array's original length.
    /// - Throws: ``ArrayError/stackMismatch(index:expected:found:)`` for an array that breaks `spec`.
    public static func padded(_ arrays: [NDArray], spec: ArraySpec, value: Double,
                              side: Side) throws(ArrayError) -> (array: NDArray, lengths: [Int]) {
        for (index, array) in arrays.enumerated() where !spec.accepts(array) {
            throw .stackMismatch(index: index, expected: spec, found: array.spec)
        }
        let lengths = arrays.map { $0.shape.first ?? 0 }
        let longest = lengths.max() ?? 0
        let step = spec.elementsPerStep * spec.dtype.byteWidth
        let padStep = ScalarConversion.bytes(of: Array(repeating: value, count: spec.elementsPerStep), as: spec.dtype)
        var bytes = [UInt8]()
        bytes.reserveCapacity(arrays.count * longest * step)
        for (array, length) in zip(arrays, lengths) {
            let pad = longest - length
            if side == .start { for _ in 0..<pad { bytes.append(contentsOf: padStep) } }
            bytes.append(contentsOf: array.bytes)
            if side == .end { for _ in 0..<pad { bytes.append(contentsOf: padStep) } }
        }
        let array = try NDArray(dtype: spec.dtype, shape: [arrays.count, longest] + spec.shape, bytes: bytes)
        return (array, lengths)
    }
}
