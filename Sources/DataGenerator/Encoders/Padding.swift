/// Padding of variable-length arrays to a common length, for batches.
public enum Padding {
    /// Where padding goes.
    public enum Side: String, Sendable, Codable {
        /// After the values (the default of Keras' `pad_sequences` is `pre`; ours is `end`).
        case end
        /// Before the values.
        case start
    }

    /// Pads arrays of the same rank and dtype (images of different sizes) with zeros to the
    /// largest size along every axis, each array at the start of its slot (an image at the top
    /// left), and stacks them: `[arrays.count] + largest`.
    /// - Returns: the padded batch and each array's own shape.
    /// - Throws: ``ArrayError/stackMismatch(index:expected:found:)`` for an array that breaks `spec`.
    public static func paddedToLargest(_ arrays: [NDArray], spec: ArraySpec) throws(ArrayError) -> (array: NDArray, shapes: [[Int]]) {
        for (index, array) in arrays.enumerated() where !spec.accepts(array) {
            throw .stackMismatch(index: index, expected: spec, found: array.spec)
        }
        let rank = spec.rowShape?.count ?? arrays.first?.rank ?? 0
        var largest = [Int](repeating: 0, count: rank)
        for array in arrays {
            for axis in 0..<rank { largest[axis] = max(largest[axis], array.shape[axis]) }
        }
        let width = spec.dtype.byteWidth
        let slot = largest.reduce(width, *)
        var bytes = [UInt8](repeating: 0, count: arrays.count * slot)
        for (position, array) in arrays.enumerated() {
            copy(array, into: &bytes, at: position * slot, largest: largest, width: width)
        }
        let array = try NDArray(dtype: spec.dtype, shape: [arrays.count] + largest, bytes: bytes)
        return (array, arrays.map(\.shape))
    }

    /// Copies `array` (C order) into the region of `bytes` starting at `base` laid out as `largest`.
    private static func copy(_ array: NDArray, into bytes: inout [UInt8], at base: Int, largest: [Int], width: Int) {
        let shape = array.shape
        guard let last = shape.last, !shape.contains(0) else { return }
        let run = last * width  // contiguous bytes of one innermost line
        var outerStrides = [Int](repeating: 0, count: shape.count)  // destination strides in bytes
        var step = width
        for axis in (0..<shape.count).reversed() {
            outerStrides[axis] = step
            step *= largest[axis]
        }
        let lines = shape.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: max(0, shape.count - 1))
        array.bytes.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBufferPointer { destination in
                for line in 0..<lines {
                    var offset = base
                    for axis in index.indices { offset += index[axis] * outerStrides[axis] }
                    for k in 0..<run { destination[offset + k] = source[line * run + k] }
                    var axis = index.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < shape[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
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
