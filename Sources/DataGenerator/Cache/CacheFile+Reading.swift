extension CacheFile {
    /// Copies rows `rows` (in that order, repeats allowed) of a fixed-shape column into `buffer`,
    /// one after another: row `rows[i]` lands at byte `i × rowBytes`.
    ///
    /// Only the units holding the rows are read; each unit's CRC-32 is checked before it is first
    /// decoded. Units of one row decode straight into `buffer`; `none` units are copied from the
    /// mapping. Safe to call from many threads at once.
    /// - Throws: ``CacheError/noSuchColumn(name:available:)``, ``CacheError/rowOutOfRange(row:count:)``,
    ///   ``CacheError/bufferTooSmall(column:needed:available:)``, ``CacheError/wrongColumnKind(column:reason:)``
    ///   for a variable-length column, and the corruption errors naming the unit at fault.
    /// - Complexity: O(rows × rowBytes), plus a binary search per row for packed columns.
    public func gather(column name: String, rows: some Collection<Int>,
                       into buffer: UnsafeMutableRawBufferPointer) throws(CacheError) {
        let store = stores[try storeIndex(name)]
        guard !store.isVariableLength else {
            throw .wrongColumnKind(column: name, reason: "it is variable-length: use gatherVariable(column:rows:)")
        }
        try store.checkTables()
        let needed = rows.count * store.rowBytes
        guard buffer.count >= needed else { throw .bufferTooSmall(column: name, needed: needed, available: buffer.count) }
        do {
            // One non-generic loop over contiguous row numbers (copied first when `rows` is not contiguous).
            if try rows.withContiguousStorageIfAvailable({ try gatherFixed(store, rows: $0, into: buffer) }) == nil {
                try Array(rows).withUnsafeBufferPointer { try gatherFixed(store, rows: $0, into: buffer) }
            }
        } catch {
            throw error as! CacheError  // gatherFixed throws nothing else
        }
    }

    /// The loop of ``gather(column:rows:into:)``.
    private func gatherFixed(_ store: ColumnStore, rows: UnsafeBufferPointer<Int>,
                             into buffer: UnsafeMutableRawBufferPointer) throws(CacheError) {
        let rowBytes = store.rowBytes
        var scratch = [UInt8]()
        var scratchUnit = -1
        var scratchFirstRow = 0
        for (position, row) in rows.enumerated() {
            guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
            let destination = UnsafeMutableRawBufferPointer(rebasing: buffer[(position * rowBytes)..<((position + 1) * rowBytes)])
            let index = try store.unitIndex(ofRow: row)
            if index == scratchUnit {
                let start = (row - scratchFirstRow) * rowBytes
                scratch.withUnsafeBytes { destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + rowBytes)])) }
                continue
            }
            let unit = try store.unit(index)
            guard unit.firstRow <= row && row < unit.rowEnd else {
                throw store.corrupt("unit \(index) does not hold the row", row: row)
            }
            if unit.rowCount == 1 {
                try store.decode(unit, into: destination)
            } else if unit.isRaw {
                let start = (row - unit.firstRow) * rowBytes
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: unit.stored[start..<(start + rowBytes)]))
            } else {
                if scratch.count < unit.rawLength { scratch = [UInt8](repeating: 0, count: unit.rawLength) }
                try scratch.withMutableCacheBytes { (raw) throws(CacheError) in
                    try store.decode(unit, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<unit.rawLength]))
                }
                scratchUnit = index
                scratchFirstRow = unit.firstRow
                let start = (row - unit.firstRow) * rowBytes
                scratch.withUnsafeBytes { destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + rowBytes)])) }
            }
        }
    }

    /// The rows `rows` of a fixed-shape column as one array of shape `[rows.count] + shape`.
    /// - Throws: the errors of ``gather(column:rows:into:)``.
    public func gather(column name: String, rows: some Collection<Int>) throws(CacheError) -> NDArray {
        let store = stores[try storeIndex(name)]
        var bytes = [UInt8](repeating: 0, count: rows.count * store.rowBytes)
        try bytes.withMutableCacheBytes { (buffer) throws(CacheError) in try gather(column: name, rows: rows, into: buffer) }
        do {
            return try NDArray(dtype: store.metadata.dtype, shape: [rows.count] + store.metadata.shape, bytes: bytes)
        } catch { throw store.corrupt("\(error)") }
    }

    /// The rows `rows` of any column, concatenated, with each row's length along its first axis
    /// (for a fixed-shape column, every length is `shape.first ?? 1`).
    ///
    /// Row `rows[i]` holds `lengths[i] × stepBytes` bytes, where `stepBytes` is the byte size of
    /// one step of the first axis (``CacheColumn/rowBytes``).
    /// - Throws: the errors of ``gather(column:rows:into:)``.
    public func gatherVariable(column name: String, rows: some Collection<Int>) throws(CacheError) -> (bytes: [UInt8], lengths: [Int]) {
        let store = stores[try storeIndex(name)]
        guard store.isVariableLength else {
            var bytes = [UInt8](repeating: 0, count: rows.count * store.rowBytes)
            try bytes.withMutableCacheBytes { (buffer) throws(CacheError) in try gather(column: name, rows: rows, into: buffer) }
            return (bytes, Array(repeating: store.metadata.shape.first ?? 1, count: rows.count))
        }
        try store.checkTables()
        let step = store.rowBytes
        var bytes = [UInt8]()
        var lengths = [Int]()
        lengths.reserveCapacity(rows.count)
        var scratch = [UInt8]()
        var scratchUnit = -1
        var scratchStart = 0
        for row in rows {
            guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
            let start = try store.streamOffset(row)
            let end = try store.streamOffset(row + 1)
            guard start <= end, step == 0 ? start == end : (end - start) % step == 0 else {
                throw store.corrupt("row offsets \(start)..<\(end) do not hold whole steps of \(step) bytes", row: row)
            }
            lengths.append(step == 0 ? 0 : (end - start) / step)
            let index = try store.unitIndex(ofRow: row)
            if index != scratchUnit {
                let unit = try store.unit(index)
                guard unit.firstRow <= row && row < unit.rowEnd else {
                    throw store.corrupt("unit \(index) does not hold the row", row: row)
                }
                scratch = [UInt8](repeating: 0, count: unit.rawLength)
                try scratch.withMutableCacheBytes { (raw) throws(CacheError) in try store.decode(unit, into: raw) }
                scratchUnit = index
                scratchStart = try store.streamOffset(unit.firstRow)
            }
            guard start >= scratchStart, end - scratchStart <= scratch.count else {
                throw store.corrupt("row offsets \(start)..<\(end) leave unit \(index)", row: row)
            }
            bytes.append(contentsOf: scratch[(start - scratchStart)..<(end - scratchStart)])
        }
        return (bytes, lengths)
    }

    /// Each row's shape of a variable-shape column (images: `[height, width, channels]`), for
    /// `rows` in order.
    /// - Throws: ``CacheError/wrongColumnKind(column:reason:)`` for a column without row shapes,
    ///   ``CacheError/rowOutOfRange(row:count:)``, or corruption naming the row.
    public func rowShapes(column name: String, rows: some Collection<Int>) throws(CacheError) -> [[Int]] {
        let store = stores[try storeIndex(name)]
        guard store.metadata.rowShape != nil else {
            throw .wrongColumnKind(column: name, reason: "its rows have no shapes of their own")
        }
        var shapes = [[Int]]()
        shapes.reserveCapacity(rows.count)
        for row in rows {
            guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
            shapes.append(try store.shape(ofRow: row))
        }
        return shapes
    }

    /// Rows `rows` of a column as one array each (`shape` for a fixed column, `[length] + shape`
    /// for a variable-length one, the row's own shape for a variable-shape one; a JPEG-encoded
    /// column's rows decoded).
    public func arrays(column name: String, rows: some Collection<Int>) throws(CacheError) -> [NDArray] {
        let store = stores[try storeIndex(name)]
        if store.metadata.encoding == .jpeg { return try decodedJPEGs(store, rows: rows) }
        let (bytes, lengths) = try gatherVariable(column: name, rows: rows)
        let shapes = store.metadata.rowShape == nil ? nil : try rowShapes(column: name, rows: rows)
        var arrays = [NDArray]()
        var offset = 0
        for (position, length) in lengths.enumerated() {
            let shape = shapes?[position] ?? (store.isVariableLength ? [length] + store.metadata.shape : store.metadata.shape)
            let count = store.isVariableLength ? length * store.rowBytes : store.rowBytes
            do {
                arrays.append(try NDArray(dtype: store.metadata.dtype, shape: shape, bytes: Array(bytes[offset..<(offset + count)])))
            } catch { throw store.corrupt("\(error)") }
            offset += count
        }
        return arrays
    }

    /// One row of one column as an array.
    public func array(column name: String, row: Int) throws(CacheError) -> NDArray {
        try arrays(column: name, rows: [row])[0]
    }

    /// One row of every column, in column order (for `datagen cache show`).
    public func row(_ row: Int) throws(CacheError) -> [NDArray] {
        var result = [NDArray]()
        for store in stores { result.append(try array(column: store.name, row: row)) }
        return result
    }
}
