extension CacheGroupEncoder {
    /// One record's stored JPEG for a JPEG-encoded column (its encoder returns the file's bytes,
    /// ``JPEGImageStore/encode(_:)``), with the shape it decodes to, read from its header.
    func encodeJPEG(column: ColumnPlan, record: Record) throws -> (bytes: [UInt8], shape: [Int]) {
        guard let encoder = dataSet.dataEncoders[columns.firstIndex(of: column)!] as? any DataEncoder else {
            throw EncodingError.failed(encoder: column.encoderIdentity, row: record.row, id: record.id,
                                       reason: "a JPEG-encoded column needs a per-record encoder", line: record.line)
        }
        let array: NDArray
        do { array = try encoder.encode(record) } catch let error as EncodingError {
            throw error.withLine(from: record.inventory)
        }
        let channels = column.spec.rowShape?.last ?? 3
        do {
            let shape = try array.withUnsafeBytes { (bytes) throws(ImageDecodingError) in
                try JPEGImageStore.storedShape(of: bytes, channels: channels)
            }
            return (array.bytes, shape)
        } catch {
            throw EncodingError.failed(encoder: column.encoderIdentity, row: record.row, id: record.id,
                                       reason: "the encoder's output is not a JPEG: \(error)", line: record.line)
        }
    }
}
