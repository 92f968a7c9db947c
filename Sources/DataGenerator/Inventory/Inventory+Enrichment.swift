extension Inventory {
    /// A copy with each record's resolved path (or URL) and byte size added as columns, as the
    /// seed library's `enrich_inventory`.
    ///
    /// - Parameters:
    ///   - locator: resolves each record (a ``FileDataEncoder``, a URL encoder).
    ///   - pathColumn: the column for the location, or `nil` to leave it out.
    ///   - sizeColumn: the column for the size in bytes, or `nil` to leave it out.
    /// - Throws: the first record's ``EncodingError`` (a missing file names the id and path):
    ///   nothing is skipped silently.
    public func enriched(by locator: some ResourceLocating, pathColumn: String? = "path",
                         sizeColumn: String? = "size") throws -> Inventory {
        var paths = [String]()
        var sizes = [String]()
        for record in records {
            if pathColumn != nil { paths.append(try locator.location(of: record)) }
            if sizeColumn != nil { sizes.append(String(try locator.byteSize(of: record))) }
        }
        var result = self
        if let pathColumn { result = try result.adding(column: pathColumn, values: paths) }
        if let sizeColumn { result = try result.adding(column: sizeColumn, values: sizes) }
        return result
    }
}
