public import DataGenerator

extension GeneratorDataSet {
    /// A fitted data set over an inventory CSV and a base URL: the seed library's
    /// `generator_for_urls`.
    ///
    /// Each record's body is fetched from `baseURL` joined with `idMapper(id)` (see
    /// ``URLDataEncoder``). Unlike ``forFiles(inventory:dataDirectory:identity:output:targets:idMapper:idColumn:targetColumn:transform:)``,
    /// sizes are only added when `sizeColumn` is given, since that costs one `HEAD` request per
    /// record before the first batch.
    ///
    /// - Parameters:
    ///   - inventoryPath: the CSV file.
    ///   - baseURL: an absolute http(s) URL.
    ///   - identity: a stable name of what `transform` computes.
    ///   - output: the spec of `transform`'s result.
    ///   - targets: the target chain (for example `[LabelEncoder(), OneHotEncoder()]`).
    ///   - idMapper: id → URI reference.
    ///   - idColumn: the column of ids.
    ///   - targetColumn: the column of labels.
    ///   - body: text, JSON or binary.
    ///   - options: headers, timeout, retries and bounds.
    ///   - sizeColumn: a column to fill with each body's size (`nil`, the default, adds none).
    ///   - transform: a body → the record's array.
    /// - Throws: ``URLFetchError/invalidBaseURL(url:reason:)``, inventory errors (malformed CSV,
    ///   duplicate ids), a failed size request (naming the id and URL), encoder fitting errors.
    public static func forURLs(inventory inventoryPath: String, baseURL: String,
                               identity: String, output: ArraySpec,
                               targets: [any TargetTransform],
                               idMapper: IDMapper = .identity, idColumn: String = "id",
                               targetColumn: String = "target", body: URLBodyMode = .text,
                               options: URLFetchOptions = URLFetchOptions(), sizeColumn: String? = nil,
                               transform: @escaping @Sendable (ResourceContents) throws -> NDArray) throws -> GeneratorDataSet {
        let encoder = try URLDataEncoder(baseURL: baseURL, idColumn: idColumn, idMapper: idMapper, body: body,
                                         options: options, identity: identity, output: output, transform: transform)
        var inventory = try Inventory(contentsOfCSVFile: inventoryPath, idColumn: .named(idColumn))
        if let sizeColumn {
            inventory = try inventory.enriched(by: encoder, pathColumn: nil, sizeColumn: sizeColumn)
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder,
                                       targetEncoder: RecordTargetEncoder(column: targetColumn, targets))
        try dataSet.fitEncoders()
        return dataSet
    }
}
