extension ColumnPlan {
    /// Makes the column hold rows encoded as `encoding`: a JPEG-encoded column stores its files
    /// raw (codec `none`: LZ4 does not shrink JPEG data), whatever codec the build was given.
    mutating func encodeRows(as encoding: CacheColumnEncoding) {
        self.encoding = encoding
        if encoding == .jpeg { codec = .none }
    }
}

extension CacheValidator {
    /// Checks a column's `encoding` key: only `jpeg` in a version-3 file, on a variable-shape
    /// `uint8` column of rank 3 with 1 or 3 channels whose units are stored raw (codec `none`).
    func validateEncoding(of column: ColumnMetadata) throws(CacheError) {
        guard let encoding = column.encoding, encoding != .plain else {
            if column.encoding == .plain {
                throw .corrupt(path: path, column: column.name, row: nil, reason: "the encoding 'plain' is never written")
            }
            return
        }
        guard trailerVersion >= CacheFormat.jpegColumnVersion else {
            throw .corrupt(path: path, column: column.name, row: nil,
                           reason: "a JPEG-encoded column in a version \(trailerVersion) file")
        }
        guard column.dtype == .uint8, column.codec == .none, let rowShape = column.rowShape, rowShape.count == 3,
              rowShape[0] == -1, rowShape[1] == -1, rowShape[2] == 1 || rowShape[2] == 3 else {
            throw .corrupt(path: path, column: column.name, row: nil,
                           reason: "a JPEG-encoded column must be uint8 of rowShape [-1, -1, 1 or 3] with codec none")
        }
    }
}
