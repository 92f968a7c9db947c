/// An ``ImagePipeline`` bound to one variable-shape image column of a cache: reads each row's
/// stored pixels (straight from the mapping, or decoded once per unit into a worker's scratch)
/// and renders them into a batch's buffer, row `i` at byte `i × outputRowBytes`.
final class ColumnTransformer: Sendable {
    /// The pipeline.
    let pipeline: ImagePipeline
    /// The column's name.
    let column: String
    /// The channels of every stored image.
    let channels: Int
    /// The served spec: the pipeline's output shape and dtype.
    let outputSpec: ArraySpec
    /// The bytes of one served row.
    let outputRowBytes: Int
    private let source: CacheSource
    /// The column's position among each cache file's stores (every shard of a set has the same).
    private let storeIndex: Int
    let output: TransformOutput
    private let pool = TransformScratchPool()

    /// - Throws: ``CacheError/wrongColumnKind(column:reason:)`` unless the column holds `uint8`
    ///   images of a fixed channel count (`[*, *, C]`); the pipeline's ``TransformSpecError``
    ///   when it cannot serve `C` channels.
    init(pipeline: ImagePipeline, column: CacheColumn, cache: CacheFile, source: CacheSource) throws {
        guard let rowShape = column.spec.rowShape, rowShape.count == 3, rowShape[2] > 0, column.spec.dtype == .uint8 else {
            throw CacheError.wrongColumnKind(column: column.name, reason: "transforms take variable-shape uint8 images (height × width × channels); it holds \(column.spec)")
        }
        try pipeline.check(channels: rowShape[2])
        self.pipeline = pipeline
        self.column = column.name
        channels = rowShape[2]
        outputSpec = ArraySpec(pipeline.outputDType, pipeline.outputShape(channels: channels))
        outputRowBytes = outputSpec.elementsPerStep * outputSpec.dtype.byteWidth
        self.source = source
        storeIndex = try cache.storeIndex(column.name)
        output = TransformOutput(pipeline: pipeline, channels: channels)
    }

    /// Renders `rows` (cache rows) of epoch `epoch` under `seed` into `buffer`.
    /// - Throws: ``CacheError/bufferTooSmall(column:needed:available:)``, out-of-range rows and
    ///   the corruption errors of the cache naming the row.
    func render(rows: UnsafeBufferPointer<Int>, seed: UInt64, epoch: Int, into buffer: UnsafeMutableRawBufferPointer) throws(CacheError) {
        let needed = rows.count * outputRowBytes
        guard buffer.count >= needed else { throw .bufferTooSmall(column: column, needed: needed, available: buffer.count) }
        guard needed > 0, let base = buffer.baseAddress else { return }
        try pool.withScratch { (scratch) throws(CacheError) in
            for (position, row) in rows.enumerated() {
                guard row >= 0 && row < self.source.rowCount else { throw .rowOutOfRange(row: row, count: self.source.rowCount) }
                // A set's global row is read from its shard's local row; the key is the id's (or
                // the global row's, without ids), as for one cache file of the same rows.
                let file: CacheFile
                let local: Int
                switch self.source {
                case let .file(only):
                    (file, local) = (only, row)
                case let .set(set):
                    let place = try set.locate(row: row)
                    (file, local) = (try set.shard(place.shard), place.row)
                }
                guard storeIndex < file.stores.count, file.stores[storeIndex].name == column else {
                    throw CacheError.noSuchColumn(name: column, available: file.columns.map(\.name))
                }
                let store = file.stores[storeIndex]
                let source: ImageSource
                let key: UInt64
                do throws(CacheError) {
                    if store.metadata.encoding == .jpeg {  // decodes only the box the geometry reads
                        try renderJPEG(file: file, store: store, row: local, globalRow: row, seed: seed, epoch: epoch,
                                       scratch: scratch, into: base + position * outputRowBytes)
                        continue
                    }
                    source = try image(store: store, row: local, scratch: scratch)
                    key = try file.augmentationKey(ofRow: local, globalRow: row)
                } catch {
                    guard case let .set(set) = self.source else { throw error }
                    throw set.reading(shard: try set.locate(row: row).shard, failed: error)
                }
                var draws = TransformRandom(seed: seed, epoch: epoch, key: key)
                let geometry = pipeline.geometry(height: source.height, width: source.width, draws: &draws)
                ImageTransformKernel.render(source, geometry: geometry, output: output, scratch: scratch,
                                            into: base + position * outputRowBytes)
            }
        }
    }

    /// Row `row`'s image without a copy when its unit is stored raw, else from its unit decoded
    /// into `scratch` (kept for the unit's other rows).
    private func image(store: ColumnStore, row: Int, scratch: TransformScratch) throws(CacheError) -> ImageSource {
        guard let rowShapes = store.rowShapes else { throw store.corrupt("the column has no row shapes", row: row) }
        try store.checkTables()
        let height = Int(clamping: rowShapes.u64(row * 3))
        let width = Int(clamping: rowShapes.u64(row * 3 + 1))
        let depth = Int(clamping: rowShapes.u64(row * 3 + 2))
        let start = try store.streamOffset(row)
        let end = try store.streamOffset(row + 1)
        guard depth == channels, height > 0, width > 0, height <= 1 << 20, width <= 1 << 20,
              end >= start, end - start == height * width * channels else {
            throw store.corrupt("row shape [\(height), \(width), \(depth)] does not match the row's \(end - start) bytes and the column's \(channels) channels", row: row)
        }
        let index = try store.unitIndex(ofRow: row)
        let unit = try store.unit(index)
        guard unit.firstRow <= row && row < unit.rowEnd else { throw store.corrupt("unit \(index) does not hold the row", row: row) }
        let unitStart = try store.streamOffset(unit.firstRow)
        guard start >= unitStart, end - unitStart <= unit.rawLength else {
            throw store.corrupt("row offsets \(start)..<\(end) leave unit \(index)", row: row)
        }
        if unit.isRaw {
            return ImageSource(height: height, width: width, channels: channels, pixels: unit.stored.baseAddress! + (start - unitStart))
        }
        let decoded = scratch.buffer(.unit, count: unit.rawLength)
        let owner = ObjectIdentifier(store)
        if scratch.unitIndex != index || scratch.unitOwner != owner {
            scratch.unitIndex = -1
            try store.decode(unit, into: UnsafeMutableRawBufferPointer(start: decoded, count: unit.rawLength))
            scratch.unitIndex = index
            scratch.unitOwner = owner
        }
        return ImageSource(height: height, width: width, channels: channels, pixels: UnsafeRawPointer(decoded + (start - unitStart)))
    }
}

extension CacheFile {
    /// ``AugmentationRandom/key(id:row:)`` of `row`, hashed from the id's stored bytes without
    /// making a string; without ids, the key of `globalRow` (the row's number in a cache set, or
    /// `row` itself).
    func augmentationKey(ofRow row: Int, globalRow: Int? = nil) throws(CacheError) -> UInt64 {
        guard row >= 0 && row < rowCount else { throw .rowOutOfRange(row: row, count: rowCount) }
        guard let idOffsets, let idText else { return AugmentationRandom.key(id: nil, row: globalRow ?? row) }
        // Once both tables are verified, a row costs two loads and the hash: nothing is allocated.
        if !idTablesVerified.contains(0) || !idTablesVerified.contains(1) { try checkIDTables() }
        let start = idOffsets.u64(row)
        let end = idOffsets.u64(row + 1)
        guard start <= end, end <= UInt64(idText.count) else {
            throw .corrupt(path: path, column: nil, row: row, reason: "id offsets \(start)..<\(end) leave the id text")
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in UnsafeRawBufferPointer(rebasing: idText.bytes[Int(start)..<Int(end)]) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
