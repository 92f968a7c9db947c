import DataGenerator

extension CacheInfoCommand {
    /// `cache info NAME.dgset`: the set's schema, its shards (each opened and checked against the
    /// manifest) and the totals over them.
    func runSet() throws {
        let set = try CacheSet(path: file)
        let shards = try (0..<set.shardCount).map { try set.shard($0) }
        let columns = try set.columns()
        let recordsIn = shards.reduce(0) { $0 + $1.statistics.recordsIn }
        let skipped = shards.reduce(0) { $0 + $1.skipped.count }
        let fileBytes = shards.reduce(UInt64(0)) { $0 + $1.fileSize }
        if json {
            JSON.object([
                ("path", .string(file)),
                ("format", .string(SetManifest.formatName)),
                ("version", .int(set.manifest.version)),
                ("rows", .int(set.rowCount)),
                ("file_bytes", .int(Int(fileBytes))),
                ("shards", .array((0..<set.shardCount).map { index in
                    .object([
                        ("path", .string(set.shardPath(index))),
                        ("rows", .int(set.rows(ofShard: index).count)),
                        ("first_row", .int(set.rows(ofShard: index).lowerBound)),
                        ("fingerprint", .string(set.manifest.shards[index].fingerprint)),
                        ("bytes", .int(set.manifest.shards[index].bytes)),
                    ])
                })),
                ("columns", .array(columns.map { Self.json($0) })),
                ("classes", set.classes.map { .array($0.map { JSON.string($0) }) } ?? .null),
                ("fingerprint", .string(set.fingerprint)),
                ("records_in", .int(recordsIn)),
                ("skipped", .int(skipped)),
            ]).print()
            return
        }
        let bytesIn = shards.reduce(UInt64(0)) { $0 + $1.statistics.bytesIn }
        let bytesOut = shards.reduce(UInt64(0)) { $0 + $1.statistics.bytesOut }
        var lines = [
            "set             \(file)",
            "manifest        version \(set.manifest.version), \(set.shardCount) shards",
            "rows            \(set.rowCount) (of \(recordsIn) records; \(skipped) skipped)",
            "size            \(Report.bytes(fileBytes)) on disk, \(Report.bytes(bytesIn)) decompressed (ratio \(Report.fixed(bytesOut == 0 ? 1 : Double(bytesIn) / Double(bytesOut), digits: 2)))",
            "fingerprint     \(set.fingerprint)",
        ]
        if let classes = set.classes { lines.append("classes         \(classes.joined(separator: ", "))") }
        lines.append("")
        lines += Self.columnTable(columns)
        lines.append("")
        var table = [["shard", "path", "rows", "first row", "size", "fingerprint"]]
        for index in 0..<set.shardCount {
            let rows = set.rows(ofShard: index)
            table.append([String(index), set.shardPath(index), String(rows.count), String(rows.lowerBound),
                          Report.bytes(UInt64(set.manifest.shards[index].bytes)),
                          String(set.manifest.shards[index].fingerprint.prefix(16)) + "…"])
        }
        lines += Report.table(table)
        print(lines.joined(separator: "\n"))
    }
}
