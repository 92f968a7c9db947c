/// What a cache file knows of the data set it was built from: the driver layer's view (the cache
/// layer itself knows no data sets).
extension CacheFile {
    /// Opens the cache at `path` and checks that it was built from `dataSet` (its rows, encoders
    /// and schema, with these column names).
    /// - Throws: ``CacheError/stale(path:differences:)`` naming what differs (the rows, each
    ///   encoder whose identity changed, the schema), and the errors of ``init(path:)``.
    public convenience init(path: String, for dataSet: GeneratorDataSet, dataColumnNames: [String]? = nil,
                            targetColumnName: String = "target") throws(CacheError) {
        try self.init(path: path)
        let plans = try ColumnPlan.columns(of: dataSet, dataNames: dataColumnNames, targetName: targetColumnName,
                                           codec: .lz4, codecs: [:])
        let expected = CacheFingerprint(inventory: dataSet.inventory, columns: plans)
        guard fingerprint != expected else { return }
        var differences = [String]()
        if fingerprint.rows != expected.rows {
            differences.append("the inventory rows differ (the cache was built from \(statistics.recordsIn) records, the data set has \(dataSet.size))")
        }
        if fingerprint.encoders != expected.encoders {
            let named = plans.compactMap { plan -> String? in
                guard let column = stores.first(where: { $0.name == plan.name }),
                      column.metadata.encoder != plan.encoderIdentity else { return nil }
                return "the encoder of column '\(plan.name)' differs (cache: '\(column.metadata.encoder)', data set: '\(plan.encoderIdentity)')"
            }
            differences += named.isEmpty ? ["the encoders differ"] : named
        }
        if fingerprint.schema != expected.schema {
            let cached = columns.map { "\($0.name): \($0.spec)" }.joined(separator: ", ")
            let wanted = plans.map { "\($0.name): \($0.spec)" }.joined(separator: ", ")
            differences.append("the schema differs (cache: \(cached); data set: \(wanted))")
        }
        throw .stale(path: path, differences: differences)
    }

    /// The rows whose source file changed (size, modification time, or gone) since the build,
    /// found through `dataSet`'s encoder of ``sourceColumn`` (the future `cache verify --sources`).
    /// Rows whose source could not be examined at build time (URLs) are not reported.
    /// - Throws: ``CacheError/stale(path:differences:)`` when `dataSet` does not hold the rows the
    ///   cache was built from.
    /// - Complexity: O(rows) `stat` calls.
    public func changedSources(in dataSet: GeneratorDataSet) throws(CacheError) -> [ChangedSource] {
        guard let column = sourceColumn else { return [] }
        let dataColumns = stores.filter { $0.metadata.role == .data }.map(\.name)
        guard let index = dataColumns.firstIndex(of: column), index < dataSet.dataEncoders.count,
              let locator = dataSet.dataEncoders[index] as? any ResourceLocating else {
            throw .stale(path: path, differences: ["the data set has no file-reading encoder for column '\(column)'"])
        }
        let skippedRows = Set(skipped.map(\.row))
        let rows = (0..<dataSet.size).filter { !skippedRows.contains($0) }
        guard rows.count == rowCount, statistics.recordsIn == dataSet.size else {
            throw .stale(path: path, differences: ["the inventory rows differ (the cache was built from \(statistics.recordsIn) records, the data set has \(dataSet.size))"])
        }
        var changes = [ChangedSource]()
        for (row, inventoryRow) in rows.enumerated() {
            guard let stamp = try sourceStamp(ofRow: row), let size = stamp.size else { continue }
            let record = dataSet.inventory[inventoryRow]
            guard let location = try? locator.location(of: record) else { continue }
            let now = SourceStamp.of(location)
            let change: String? = if now.size == nil { "missing" }
                else if now.size != size { "size \(size) → \(now.size!)" }
                else if now.modified != stamp.modified { "modified" }
                else { nil }
            if let change { changes.append(ChangedSource(row: row, id: try id(ofRow: row), path: location, change: change)) }
        }
        return changes
    }
}
