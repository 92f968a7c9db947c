/// An error loading or transforming an ``Inventory``; each case names the source, line, row or
/// column at fault.
public enum InventoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A CSV text that RFC 4180 does not allow (unterminated quote, wrong number of fields, …).
    case malformedCSV(source: String, line: Int, reason: String)
    /// Two rows share an id; rows are counted from 0 over the data rows, `lines` are 1-based
    /// lines of the source when it was a CSV text.
    case duplicateID(id: String, column: String, firstRow: Int, secondRow: Int)
    /// A column that the inventory does not have.
    case missingColumn(String, available: [String])
    /// Two columns with the same name.
    case duplicateColumn(String)
    /// Columns of different lengths given to build an inventory.
    case columnLengthMismatch(column: String, expected: Int, found: Int)
    /// A record lacks a value that the inventory's columns require.
    case missingValue(column: String, row: Int)
    /// A split whose ratios are out of range.
    case invalidSplit(String)
    /// A file that could not be read.
    case unreadableFile(path: String, reason: String)
    /// A row index outside the inventory.
    case rowOutOfRange(Int, count: Int)
    /// An inventory with no records (a CSV holding only its header, an empty folder): there is
    /// nothing to build from.
    case noRecords(source: String)
    /// A class folder layout (``ClassFolderInventory``) that cannot be read: `path` names the folder.
    case unreadableFolder(path: String, reason: String)

    public var description: String {
        switch self {
        case let .malformedCSV(source, line, reason):
            "\(source):\(line): malformed CSV: \(reason)"
        case let .duplicateID(id, column, firstRow, secondRow):
            "duplicate id '\(id)' in column '\(column)': rows \(firstRow) and \(secondRow)"
        case let .missingColumn(name, available):
            "no column '\(name)' (columns: \(available.joined(separator: ", ")))"
        case let .duplicateColumn(name):
            "column '\(name)' appears twice"
        case let .columnLengthMismatch(column, expected, found):
            "column '\(column)' has \(found) values, expected \(expected)"
        case let .missingValue(column, row):
            "row \(row) has no value for column '\(column)'"
        case let .invalidSplit(reason):
            "invalid split: \(reason)"
        case let .unreadableFile(path, reason):
            "cannot read \(path): \(reason)"
        case let .rowOutOfRange(row, count):
            "row \(row) is outside the inventory of \(count) rows"
        case let .noRecords(source):
            "\(source) holds no records (nothing but a header, or no files): nothing to build"
        case let .unreadableFolder(path, reason):
            "cannot read the class folder \(path): \(reason)"
        }
    }
}
