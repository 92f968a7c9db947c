extension CachedDataSet {
    /// A copy that delivers fixed-shape column `name` as `dtype`, every stored value multiplied
    /// by `scale` first, with the conversion fused into the gather: a cache of `uint8` pixels
    /// served as `float32` with `scale: 1.0 / 255` stays four times smaller than its output and
    /// costs no second pass over the batch.
    ///
    /// Applies to ``batches(_:)``, ``dataBatches(_:)``, ``targetBatches(_:)``,
    /// ``forEachBatch(_:_:)``, ``data()`` and ``targets()``; the values are those of
    /// ``ServeConversion``. Augmentations see the converted values. A second call for the same
    /// column replaces the first (the conversion always starts from the stored values).
    ///
    /// ```swift
    /// let pixels = try cached.serving(column: "data", as: .float32, scale: 1.0 / 255)
    /// ```
    /// - Throws: ``CacheError/noSuchColumn(name:available:)``, or
    ///   ``CacheError/wrongColumnKind(column:reason:)`` for a variable-length column.
    public func serving(column name: String, as dtype: DType, scale: Double = 1) throws(CacheError) -> CachedDataSet {
        guard let column = (dataColumns + (targetColumn.map { [$0] } ?? [])).first(where: { $0.name == name }) else {
            throw .noSuchColumn(name: name, available: cache.columns.map(\.name))
        }
        guard !column.spec.isVariableLength else {
            throw .wrongColumnKind(column: name, reason: "serve-time conversion applies to fixed-shape columns")
        }
        var copy = self
        let conversion = ServeConversion(dtype: dtype, scale: scale)
        copy.conversions[name] = conversion
        copy.kernels[name] = ServeKernel(source: column.spec.dtype, conversion: conversion,
                                         elementsPerRow: column.spec.elementsPerStep)
        return copy
    }

    /// The shape and dtype data column `input` is delivered with (its stored spec, the dtype of
    /// its ``serving(column:as:scale:)`` conversion, or its transform's output).
    public func servedSpec(input: Int) -> ArraySpec {
        servedSpec(of: dataColumns[input])
    }

    /// The spec `column` is delivered with.
    func servedSpec(of column: CacheColumn) -> ArraySpec {
        if let transformer = transformers[column.name] { return transformer.outputSpec }
        guard let conversion = conversions[column.name] else { return column.spec }
        return ArraySpec(conversion.dtype, column.spec.shape)
    }

    /// The bytes of one delivered row of fixed-shape `column`.
    func servedRowBytes(_ column: CacheColumn) -> Int {
        if let transformer = transformers[column.name] { return transformer.outputRowBytes }
        guard let conversion = conversions[column.name] else { return column.rowBytes }
        return column.spec.elementsPerStep * conversion.dtype.byteWidth
    }
}
