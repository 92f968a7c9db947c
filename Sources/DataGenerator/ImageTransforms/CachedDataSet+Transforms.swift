extension CachedDataSet {
    /// A copy that serves variable-shape image column `name` through `pipeline` every epoch, in
    /// the worker threads, straight into the batch's buffers: each batch holds
    /// `[rows] + pipeline.outputShape(channels:)` (`float32` when the pipeline normalises, else
    /// `uint8`), with no padding and no shapes. The randomness of row `r` in epoch `e` is
    /// keyed by (seed, `e`, the row's id) as augmentations' is, so batches are the same for any
    /// worker count, shard or resume, and differ from epoch to epoch.
    ///
    /// Applies to every path that serves batches: ``batches(_:)``, ``forEachBatch(_:_:)``,
    /// ``BatchRing``, and ``data()`` (epoch 0, seed 0). A second call for the same column
    /// replaces the first.
    ///
    /// ```swift
    /// let train = try cached.transforming(column: "image",
    ///                                     with: ImagePipeline(parsing: "random-resized-crop(224),flip,normalize(imagenet),chw"))
    /// ```
    /// - Throws: ``CacheError/noSuchColumn(name:available:)``,
    ///   ``CacheError/wrongColumnKind(column:reason:)`` for a column that is not variable-shape
    ///   `uint8` images, and ``TransformSpecError`` when the pipeline does not fit the images' channels.
    public func transforming(column name: String, with pipeline: ImagePipeline) throws -> CachedDataSet {
        guard let column = dataColumns.first(where: { $0.name == name }) else {
            if let other = cache.columns.first(where: { $0.name == name }) {
                throw CacheError.wrongColumnKind(column: name, reason: "not an image column, it holds the \(other.role)s (\(other.spec)); transforms take a variable-shape uint8 image data column")
            }
            throw CacheError.noSuchColumn(name: name, available: cache.columns.map(\.name))
        }
        var copy = self
        copy.transformers[name] = try ColumnTransformer(pipeline: pipeline, column: column, cache: cache, source: source)
        return copy
    }

    /// A copy that serves data column `input` through the pipeline of `spec`
    /// (`random-resized-crop(224),flip,normalize(imagenet),chw`).
    /// - Throws: the parser's ``TransformSpecError`` and the errors of ``transforming(column:with:)``.
    public func transforming(input: Int = 0, spec: String) throws -> CachedDataSet {
        guard input >= 0 && input < dataColumns.count else {
            throw DataSetError.invalidOption("no data column \(input); the cache has \(dataColumns.count)")
        }
        return try transforming(column: dataColumns[input].name, with: ImagePipeline(parsing: spec))
    }

    /// The pipelines columns are served through, by column name.
    public var transforms: [String: ImagePipeline] { transformers.mapValues(\.pipeline) }

    /// The single variable-shape data column, the one a transform applies to by default.
    /// - Throws: ``DataSetError/invalidOption(_:)`` naming the candidates when there is none or
    ///   several.
    public func defaultTransformColumn() throws -> String {
        let images = dataColumns.filter { $0.spec.isVariableShape }
        guard images.count == 1 else {
            throw DataSetError.invalidOption(images.isEmpty
                ? "a transform needs a variable-shape image column; the data columns are \(dataColumns.map { "\($0.name) \($0.spec)" }.joined(separator: ", "))"
                : "several image columns (\(images.map(\.name).joined(separator: ", "))): name the one to transform")
        }
        return images[0].name
    }

    /// Rows `rows` (cache rows) of transformed column `name` as served in epoch `epoch` under
    /// `seed`: `[rows.count] + ` its served shape.
    /// - Throws: ``DataSetError/invalidOption(_:)`` when the column has no transform, and the
    ///   cache's errors naming the row.
    public func transformedRows(column name: String, rows: [Int], seed: UInt64, epoch: Int) throws -> NDArray {
        guard let transformer = transformers[name] else { throw DataSetError.invalidOption("column '\(name)' has no transform") }
        return try transformedBatch(transformer, rows: rows, seed: seed, epoch: epoch)
    }

    /// Rows `rows` of a transformed column in epoch `epoch` under `seed`, as one array.
    func transformedBatch(_ transformer: ColumnTransformer, rows: [Int], seed: UInt64, epoch: Int) throws -> NDArray {
        try NDArray(dtype: transformer.outputSpec.dtype, shape: [rows.count] + transformer.outputSpec.shape) { (buffer) throws(CacheError) in
            try rows.withUnsafeBufferPointer { (indices) throws(CacheError) in
                try transformer.render(rows: indices, seed: seed, epoch: epoch, into: buffer)
            }
        }
    }
}
