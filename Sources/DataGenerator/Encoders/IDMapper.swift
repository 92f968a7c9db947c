/// Maps a record's id to the name of its file or the path of its URL, e.g. `id` → `id.txt`.
///
/// A mapper has an ``identity`` so that a cache built through it is keyed by the mapping.
public struct IDMapper: Sendable, CustomStringConvertible {
    /// A stable description of the mapping (part of the encoder's identity).
    public let identity: String
    private let body: @Sendable (String) -> String

    /// Adds `prefix` before and `suffix` after the id.
    public init(prefix: String = "", suffix: String = "") {
        identity = "prefix=\(prefix.debugDescription),suffix=\(suffix.debugDescription)"
        body = { prefix + $0 + suffix }
    }

    /// A custom mapping; `identity` must change whenever `body` does.
    public init(identity: String, _ body: @escaping @Sendable (String) -> String) {
        self.identity = identity
        self.body = body
    }

    /// The id unchanged.
    public static let identity = IDMapper()

    /// The mapped name for `id`.
    public func callAsFunction(_ id: String) -> String { body(id) }

    public var description: String { identity }
}

/// The contents of a record's file or URL, handed to a resource encoder's transform.
public struct ResourceContents: Sendable {
    /// The record's row in the inventory.
    public let row: Int
    /// The record's id.
    public let id: String
    /// The file path or URL the bytes came from.
    public let location: String
    /// The raw bytes.
    public let bytes: [UInt8]

    /// Creates contents (encoders do this; tests may too).
    public init(row: Int, id: String, location: String, bytes: [UInt8]) {
        self.row = row
        self.id = id
        self.location = location
        self.bytes = bytes
    }

    /// The bytes as UTF-8 text.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` for invalid UTF-8.
    public func text() throws(EncodingError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformedData(row: row, id: id, location: location, reason: "not valid UTF-8 text")
        }
        return text
    }
}
