/// An error turning a record into an array; each case names the record (row, the CSV line it
/// starts on when the inventory came from a CSV, and id) and, where there is one, the file or URL
/// and the encoder.
///
/// Records are named `row R (line L), id 'x'`: R counts the inventory's records from 0, L is the
/// 1-based line of the CSV where the record starts (the header is line 1). The `line` of each case
/// defaults to `nil`; encoders that hold the ``Record`` pass ``Record/line``, and a data set fills
/// it in for encoders that do not (``withLine(from:)``).
public enum EncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An encoder returned an array that breaks its declared spec.
    case unexpectedOutput(encoder: String, row: Int, id: String?, expected: ArraySpec, found: ArraySpec, line: Int? = nil)
    /// A record's file does not exist.
    case fileNotFound(row: Int, id: String, path: String, line: Int? = nil)
    /// A record's file exists but cannot be read.
    case unreadable(row: Int, id: String, path: String, reason: String, line: Int? = nil)
    /// A record's id resolves outside the data directory (`../`, an absolute path, a symlink)
    /// while paths are confined to it (``PathPolicy/confinedToDataDirectory``).
    case outsideDataDirectory(row: Int, id: String, path: String, directory: String, line: Int? = nil)
    /// A record's contents could not be parsed.
    case malformedData(row: Int, id: String?, location: String?, reason: String, line: Int? = nil)
    /// A record lacks the column an encoder reads.
    case missingColumn(column: String, row: Int, available: [String], line: Int? = nil)
    /// A label that the fitted label encoder has not seen.
    case unseenLabel(label: String, row: Int?, column: String, line: Int? = nil)
    /// A label outside the classes a label encoder was given (``LabelEncoder/init(fixedClasses:)``,
    /// the CLI's `--classes-from` and `--from-folders`).
    case labelNotInClasses(label: String, row: Int, id: String?, column: String, classes: [String], line: Int? = nil)
    /// An empty label cell: no class is named `""`.
    case emptyLabel(row: Int, id: String?, column: String, line: Int? = nil)
    /// A value that should be a number is not.
    case notANumber(value: String, row: Int?, column: String, line: Int? = nil)
    /// An encoder was used before `fit` (for example a label encoder with no classes).
    case notFitted(encoder: String)
    /// Any other failure inside an encoder.
    case failed(encoder: String, row: Int, id: String?, reason: String, line: Int? = nil)

    public var description: String {
        switch self {
        case let .unexpectedOutput(encoder, row, id, expected, found, line):
            "encoder '\(encoder)' returned \(found) for \(Self.name(row, id, line: line)), but declares \(expected)"
        case let .fileNotFound(row, id, path, line):
            "\(Self.name(row, id, line: line)): file not found: \(path)"
        case let .unreadable(row, id, path, reason, line):
            "\(Self.name(row, id, line: line)): cannot read \(path): \(reason)"
        case let .outsideDataDirectory(row, id, path, directory, line):
            "\(Self.name(row, id, line: line)): path \(path) lies outside the data directory \(directory); drop --confine-to-data-dir (in Swift, paths: .asGiven) to read paths as given"
        case let .malformedData(row, id, location, reason, line):
            "\(Self.name(row, id, line: line))\(location.map { " (\($0))" } ?? ""): \(reason)"
        case let .missingColumn(column, row, available, line):
            "\(Self.name(row, nil, line: line)): no column '\(column)' (columns: \(available.joined(separator: ", ")))"
        case let .unseenLabel(label, row, column, line):
            "\(row.map { "\(Self.name($0, nil, line: line)): " } ?? "")label '\(label)' in column '\(column)' was not seen when the encoder was fitted"
        case let .labelNotInClasses(label, row, id, column, classes, line):
            "\(Self.name(row, id, line: line)): label '\(label)' in column '\(column)' is not one of the \(classes.count) classes given (\(Self.list(classes)))"
        case let .emptyLabel(row, id, column, line):
            "\(Self.name(row, id, line: line)): the label in column '\(column)' is empty (give every record a class, or leave the record out)"
        case let .notANumber(value, row, column, line):
            "\(row.map { "\(Self.name($0, nil, line: line)): " } ?? "")value '\(value)' in column '\(column)' is not a number"
        case let .notFitted(encoder):
            "encoder '\(encoder)' is used before fit"
        case let .failed(encoder, row, id, reason, line):
            "encoder '\(encoder)' failed on \(Self.name(row, id, line: line)): \(reason)"
        }
    }

    /// A record's name in messages: `row R`, then ` (line L)` when it came from a CSV, then its id
    /// (`row 3 (line 5), id 'x'`; without a line, `row 3 (id 'x')`).
    static func name(_ row: Int, _ id: String?, line: Int? = nil) -> String {
        switch (line, id) {
        case let (line?, id?): "row \(row) (line \(line)), id '\(id)'"
        case let (line?, nil): "row \(row) (line \(line))"
        case let (nil, id?): "row \(row) (id '\(id)')"
        case (nil, nil): "row \(row)"
        }
    }

    /// Up to the first 10 of `items`, comma-separated.
    static func list(_ items: [String]) -> String {
        items.prefix(10).joined(separator: ", ") + (items.count > 10 ? ", … (\(items.count - 10) more)" : "")
    }

    /// The row the error names, if it names one.
    public var row: Int? {
        switch self {
        case let .unexpectedOutput(_, row, _, _, _, _), let .fileNotFound(row, _, _, _), let .unreadable(row, _, _, _, _),
             let .outsideDataDirectory(row, _, _, _, _), let .malformedData(row, _, _, _, _), let .missingColumn(_, row, _, _),
             let .emptyLabel(row, _, _, _), let .failed(_, row, _, _, _), let .labelNotInClasses(_, row, _, _, _, _):
            row
        case let .unseenLabel(_, row, _, _), let .notANumber(_, row, _, _):
            row
        case .notFitted:
            nil
        }
    }

    /// The CSV line the error names, if it names one.
    public var line: Int? {
        switch self {
        case let .unexpectedOutput(_, _, _, _, _, line), let .fileNotFound(_, _, _, line), let .unreadable(_, _, _, _, line),
             let .outsideDataDirectory(_, _, _, _, line), let .malformedData(_, _, _, _, line), let .missingColumn(_, _, _, line),
             let .unseenLabel(_, _, _, line), let .emptyLabel(_, _, _, line), let .notANumber(_, _, _, line),
             let .failed(_, _, _, _, line), let .labelNotInClasses(_, _, _, _, _, line):
            line
        case .notFitted:
            nil
        }
    }

    /// The error with the CSV line of its row filled in from `inventory` (the inventory its row
    /// counts in), when it names a row but no line yet.
    public func withLine(from inventory: Inventory) -> EncodingError {
        guard line == nil, let row, let line = inventory.line(ofRow: row) else { return self }
        return withLine(line)
    }

    /// The error naming `line` as its record's CSV line.
    func withLine(_ line: Int?) -> EncodingError {
        switch self {
        case let .unexpectedOutput(encoder, row, id, expected, found, _):
            .unexpectedOutput(encoder: encoder, row: row, id: id, expected: expected, found: found, line: line)
        case let .fileNotFound(row, id, path, _): .fileNotFound(row: row, id: id, path: path, line: line)
        case let .unreadable(row, id, path, reason, _): .unreadable(row: row, id: id, path: path, reason: reason, line: line)
        case let .outsideDataDirectory(row, id, path, directory, _):
            .outsideDataDirectory(row: row, id: id, path: path, directory: directory, line: line)
        case let .malformedData(row, id, location, reason, _):
            .malformedData(row: row, id: id, location: location, reason: reason, line: line)
        case let .missingColumn(column, row, available, _): .missingColumn(column: column, row: row, available: available, line: line)
        case let .unseenLabel(label, row, column, _): .unseenLabel(label: label, row: row, column: column, line: line)
        case let .emptyLabel(row, id, column, _): .emptyLabel(row: row, id: id, column: column, line: line)
        case let .labelNotInClasses(label, row, id, column, classes, _):
            .labelNotInClasses(label: label, row: row, id: id, column: column, classes: classes, line: line)
        case let .notANumber(value, row, column, _): .notANumber(value: value, row: row, column: column, line: line)
        case .notFitted: self
        case let .failed(encoder, row, id, reason, _): .failed(encoder: encoder, row: row, id: id, reason: reason, line: line)
        }
    }
}
