/// An error turning a record into an array; each case names the record (row and id) and, where
/// there is one, the file or URL and the encoder.
public enum EncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An encoder returned an array that breaks its declared spec.
    case unexpectedOutput(encoder: String, row: Int, id: String?, expected: ArraySpec, found: ArraySpec)
    /// A record's file does not exist.
    case fileNotFound(row: Int, id: String, path: String)
    /// A record's file exists but cannot be read.
    case unreadable(row: Int, id: String, path: String, reason: String)
    /// A record's id resolves outside the data directory (`../`, an absolute path, a symlink).
    case outsideDataDirectory(row: Int, id: String, path: String, directory: String)
    /// A record's contents could not be parsed.
    case malformedData(row: Int, id: String?, location: String?, reason: String)
    /// A record lacks the column an encoder reads.
    case missingColumn(column: String, row: Int, available: [String])
    /// A label that the fitted label encoder has not seen.
    case unseenLabel(label: String, row: Int?, column: String)
    /// A value that should be a number is not.
    case notANumber(value: String, row: Int?, column: String)
    /// An encoder was used before `fit` (for example a label encoder with no classes).
    case notFitted(encoder: String)
    /// Any other failure inside an encoder.
    case failed(encoder: String, row: Int, id: String?, reason: String)

    public var description: String {
        switch self {
        case let .unexpectedOutput(encoder, row, id, expected, found):
            "encoder '\(encoder)' returned \(found) for \(Self.name(row, id)), but declares \(expected)"
        case let .fileNotFound(row, id, path):
            "\(Self.name(row, id)): file not found: \(path)"
        case let .unreadable(row, id, path, reason):
            "\(Self.name(row, id)): cannot read \(path): \(reason)"
        case let .outsideDataDirectory(row, id, path, directory):
            "\(Self.name(row, id)): path \(path) lies outside the data directory \(directory)"
        case let .malformedData(row, id, location, reason):
            "\(Self.name(row, id))\(location.map { " (\($0))" } ?? ""): \(reason)"
        case let .missingColumn(column, row, available):
            "row \(row): no column '\(column)' (columns: \(available.joined(separator: ", ")))"
        case let .unseenLabel(label, row, column):
            "\(row.map { "row \($0): " } ?? "")label '\(label)' in column '\(column)' was not seen when the encoder was fitted"
        case let .notANumber(value, row, column):
            "\(row.map { "row \($0): " } ?? "")value '\(value)' in column '\(column)' is not a number"
        case let .notFitted(encoder):
            "encoder '\(encoder)' is used before fit"
        case let .failed(encoder, row, id, reason):
            "encoder '\(encoder)' failed on \(Self.name(row, id)): \(reason)"
        }
    }

    static func name(_ row: Int, _ id: String?) -> String {
        id.map { "row \(row) (id '\($0)')" } ?? "row \(row)"
    }
}
