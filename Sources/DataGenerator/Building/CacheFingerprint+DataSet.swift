extension CacheFingerprint {
    /// The fingerprint a cache of `dataSet` has when built with these column names.
    /// - Parameters:
    ///   - dataColumnNames: names of the data columns (default `"data"`, or `"data0"`, `"data1"`…).
    ///   - targetColumnName: name of the target column.
    /// - Throws: ``CacheError/invalidOption(_:)`` for names that do not fit the data set.
    public init(dataSet: GeneratorDataSet, dataColumnNames: [String]? = nil,
                targetColumnName: String = "target") throws(CacheError) {
        let columns = try ColumnPlan.columns(of: dataSet, dataNames: dataColumnNames, targetName: targetColumnName,
                                             codec: .lz4, codecs: [:])
        self.init(inventory: dataSet.inventory, columns: columns)
    }

    init(inventory: Inventory, columns: [ColumnPlan]) {
        self.init(rowsDigest: Self.rowsDigest(inventory), columns: columns)
    }

    static func rowsDigest(_ inventory: Inventory) -> String {
        var hasher = SHA256Hasher()
        hasher.update(field: "datagen-rows-v1")
        hasher.update(UInt64(inventory.columnNames.count))
        for name in inventory.columnNames { hasher.update(field: name) }
        hasher.update(field: inventory.idColumn ?? "")
        hasher.update(UInt64(inventory.count))
        for row in 0..<inventory.count {
            for column in inventory.storage { hasher.update(field: column[row]) }
        }
        return hasher.hexDigest()
    }
}
