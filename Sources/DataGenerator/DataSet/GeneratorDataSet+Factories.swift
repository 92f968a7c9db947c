extension GeneratorDataSet {
    /// A fitted data set over an inventory CSV and a data directory: the seed library's
    /// `generator_for_files`.
    ///
    /// Each record's file is `dataDirectory/idMapper(id)`; the inventory is enriched with each
    /// file's size (column `size`, so that ``sort(by:ascending:)`` can order by it) and both
    /// encoders are fitted.
    ///
    /// - Parameters:
    ///   - inventoryPath: the CSV file.
    ///   - dataDirectory: where the records' files are.
    ///   - identity: a stable name of what `transform` computes.
    ///   - output: the spec of `transform`'s result.
    ///   - targets: the target chain (for example `[LabelEncoder(), OneHotEncoder()]`).
    ///   - idMapper: id → file name.
    ///   - idColumn: the column of ids.
    ///   - targetColumn: the column of labels.
    ///   - paths: how ids resolve: as given (default) or confined to `dataDirectory`
    ///     (``PathPolicy/confinedToDataDirectory``, for untrusted inventories).
    ///   - transform: file contents → the record's array.
    /// - Throws: inventory errors (malformed CSV, duplicate ids), a missing file (naming its id
    ///   and path), encoder fitting errors.
    public static func forFiles(inventory inventoryPath: String, dataDirectory: String,
                                identity: String, output: ArraySpec,
                                targets: [any TargetTransform],
                                idMapper: IDMapper = .identity, idColumn: String = "id",
                                targetColumn: String = "target", paths: PathPolicy = .asGiven,
                                transform: @escaping @Sendable (ResourceContents) throws -> NDArray) throws -> GeneratorDataSet {
        let encoder = FileDataEncoder(directory: dataDirectory, idColumn: idColumn, idMapper: idMapper,
                                      identity: identity, output: output, paths: paths, transform: transform)
        let inventory = try Inventory(contentsOfCSVFile: inventoryPath, idColumn: .named(idColumn))
            .enriched(by: encoder, pathColumn: nil, sizeColumn: "size")
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder,
                                       targetEncoder: RecordTargetEncoder(column: targetColumn, targets))
        try dataSet.fitEncoders()
        return dataSet
    }
}
