/// Columns parsed from a CSV text: the header's names and each column's values.
struct CSVTable: Sendable {
    /// The header's field names, in order.
    var header: [String]
    /// One array per header field, each with one value per data row.
    var columns: [[String]]
    /// The 1-based line of the source on which each data row starts (for error messages).
    var rowLines: [Int]
}

/// A byte-level RFC 4180 CSV parser (TEMPORARY STUB: replaced by the real parser).
enum CSVParser {
    /// Parses `bytes` (UTF-8, optional BOM) into columns.
    /// - Parameter source: the name of the text for errors (a path, or "<string>").
    static func parse(_ bytes: UnsafeRawBufferPointer, source: String) throws(InventoryError) -> CSVTable {
        throw .malformedCSV(source: source, line: 1, reason: "CSV parser not yet implemented")
    }
}
