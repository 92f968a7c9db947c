public import DataGenerator
internal import FoundationEssentials

/// A parsed JSON document: what a `.json` URL body decodes to when no `Decodable` type fits.
///
/// Numbers are `Double`s (as in JavaScript); objects keep no key order.
public enum JSONValue: Sendable, Equatable, Decodable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The member `key` of an object (`nil` for a missing key or a value that is not an object).
    public subscript(key: String) -> JSONValue? {
        if case let .object(members) = self { return members[key] }
        return nil
    }

    /// The number, or `nil` for another kind of value.
    public var number: Double? {
        if case let .number(value) = self { return value }
        return nil
    }

    /// The elements, or `nil` for another kind of value.
    public var array: [JSONValue]? {
        if case let .array(values) = self { return values }
        return nil
    }

    /// The string, or `nil` for another kind of value.
    public var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }
}

extension ResourceContents {
    /// The bytes parsed as a JSON document.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming the row, id and URL.
    public func json() throws(EncodingError) -> JSONValue {
        try decodeJSON(JSONValue.self)
    }

    /// The bytes decoded as JSON into `type`.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming the row, id and
    ///   URL, with the decoder's reason.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws(EncodingError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw .malformedData(row: row, id: id, location: location, reason: "not valid JSON: \(error)")
        }
    }
}
