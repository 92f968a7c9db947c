extension CacheFile {
    /// Rows `rows` of a JPEG-encoded column, each decoded to its recorded shape
    /// (``JPEGImageStore/decodeStored(_:channels:expected:into:)``).
    /// - Throws: ``CacheError/corrupt(path:column:row:reason:)`` naming the row, its id and the
    ///   column when a stored JPEG does not decode or does not match its recorded shape.
    func decodedJPEGs(_ store: ColumnStore, rows: some Collection<Int>) throws(CacheError) -> [NDArray] {
        let (bytes, lengths) = try gatherVariable(column: store.name, rows: rows)
        var arrays = [NDArray]()
        arrays.reserveCapacity(rows.count)
        var offset = 0
        for (row, length) in zip(rows, lengths) {
            let shape = try store.shape(ofRow: row)
            let channels = shape[2]
            var pixels = [UInt8](repeating: 0, count: shape[0] * shape[1] * channels)
            let range = offset..<(offset + length)
            offset += length
            do {
                try bytes.withUnsafeBytes { source in
                    try pixels.withUnsafeMutableBytes { destination in
                        _ = try JPEGImageStore.decodeStored(UnsafeRawBufferPointer(rebasing: source[range]), channels: channels,
                                                        expected: (shape[0], shape[1]), into: destination)
                    }
                }
            } catch {
                throw try jpegError(store, row: row, error as? ImageDecodingError ?? .corrupt(format: .jpeg, reason: "\(error)"))
            }
            arrays.append(try! NDArray(dtype: .uint8, shape: shape, bytes: pixels))  // sized from the shape
        }
        return arrays
    }

    /// The error for `row`'s stored JPEG, naming its id too.
    func jpegError(_ store: ColumnStore, row: Int, _ error: ImageDecodingError) throws(CacheError) -> CacheError {
        let id = try self.id(ofRow: row).map { " (id '\($0)')" } ?? ""
        return store.corrupt("the stored JPEG of row \(row)\(id) does not decode: \(error)", row: row)
    }

    /// Decodes every stored JPEG of a JPEG-encoded column, one row at a time, checking that
    /// each decodes whole to its recorded shape (part of ``verify()``).
    func verifyJPEGs(_ store: ColumnStore) throws(CacheError) {
        for row in 0..<rowCount { _ = try decodedJPEGs(store, rows: [row]) }
    }
}
