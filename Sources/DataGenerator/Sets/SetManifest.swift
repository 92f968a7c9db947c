internal import FoundationEssentials

/// The manifest of a cache set (`NAME.dgset`): a JSON document naming the shards (ordinary cache
/// files, each readable alone) whose rows, one shard after another, are the set's rows.
///
/// docs/FORMAT.md ("Cache sets") gives every field. Reading checks every field's type and bounds
/// (``parse(_:path:)``); writing (``encoded()``) gives the same bytes for the same manifest.
public struct SetManifest: Sendable, Hashable {
    /// The value of the `format` key.
    public static let formatName = "datagen-set"
    /// The newest manifest version this reader knows (and the one it writes).
    public static let newestVersion = 1
    /// The largest manifest read (a million shards take about 250 MB).
    public static let maxBytes = 1 << 30

    /// One shard: where it lies and what it must hold.
    public struct Shard: Sendable, Hashable, Codable {
        /// Its path relative to the manifest's folder, `/`-separated, never absolute, never
        /// climbing out with `..`.
        public let path: String
        /// Its rows.
        public let rows: Int
        /// Its cache fingerprint (``CacheFingerprint/value``), lowercase hex SHA-256.
        public let fingerprint: String
        /// Its file's size in bytes.
        public let bytes: Int

        /// A shard entry; see each property.
        public init(path: String, rows: Int, fingerprint: String, bytes: Int) {
            self.path = path
            self.rows = rows
            self.fingerprint = fingerprint
            self.bytes = bytes
        }
    }

    /// The manifest version.
    public let version: Int
    /// The set's fingerprint: ``fingerprint(ofShards:)`` of the shards' fingerprints.
    public let fingerprint: String
    /// Every shard's rows, added up.
    public let rows: Int
    /// The columns every shard has.
    public let schema: [SetColumn]
    /// The label classes every shard has, or `nil` when the target has none.
    public let classes: [String]?
    /// The shards, in row order.
    public let shards: [Shard]

    /// A version-1 manifest of `shards` with this schema and these classes; the fingerprint
    /// and the total rows are computed.
    public init(schema: [SetColumn], classes: [String]?, shards: [Shard]) {
        version = Self.newestVersion
        self.schema = schema
        self.classes = classes
        self.shards = shards
        rows = shards.reduce(0) { $0 + $1.rows }
        fingerprint = Self.fingerprint(ofShards: shards.map(\.fingerprint))
    }

    /// The set fingerprint of shards with these fingerprints, in order: SHA-256 of the UTF-8
    /// bytes `datagen-set-v1\n`, then `<shard fingerprint>\n` per shard, as lowercase hex.
    public static func fingerprint(ofShards fingerprints: [String]) -> String {
        var hasher = SHA256Hasher()
        hasher.update(Array("datagen-set-v1\n".utf8))
        for value in fingerprints { hasher.update(Array((value + "\n").utf8)) }
        return hasher.hexDigest()
    }

    /// The manifest's bytes: JSON, keys sorted, no insignificant whitespace, then a newline.
    public func encoded() throws(CacheError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(Document(self))) + [0x0A]
        } catch {
            throw .invalidOption("cannot encode the set manifest: \(error)")
        }
    }

    /// Reads a manifest, checking every field: its type, `format`, `version` (a newer one is
    /// ``CacheError/unsupportedVersion(path:found:supported:)``), fingerprints as lowercase hex
    /// SHA-256, rows and bytes not negative and the shards' rows adding up to `rows`, the set
    /// fingerprint matching the shards', at least one shard, relative paths that stay inside the
    /// manifest's folder, and a schema of valid, distinctly named columns. Unknown keys are
    /// ignored.
    /// - Parameter path: the manifest's path, for errors.
    /// - Throws: ``CacheError/invalidSet(path:reason:)`` naming the field at fault.
    public static func parse(_ bytes: [UInt8], path: String) throws(CacheError) -> SetManifest {
        func invalid(_ reason: String) -> CacheError { .invalidSet(path: path, reason: reason) }
        guard bytes.count <= maxBytes else { throw invalid("the manifest holds \(bytes.count) bytes, more than \(maxBytes)") }
        let data = Data(bytes)
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw invalid("it is not a JSON object with a \"format\" and a \"version\": \(Self.summary(of: error))")
        }
        guard header.format == formatName else {
            throw invalid("its \"format\" is \(header.format.debugDescription), not \"\(formatName)\"")
        }
        guard header.version >= 1 else { throw invalid("its \"version\" \(header.version) is not a version") }
        guard header.version <= newestVersion else {
            throw .unsupportedVersion(path: path, found: UInt32(clamping: header.version), supported: UInt32(newestVersion))
        }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: data) } catch {
            // The text is JSON (its header decoded): an error without a field is a number that
            // does not fit its integer field (a fraction, or beyond 64 bits).
            if case let .dataCorrupted(context)? = error as? DecodingError, context.codingPath.isEmpty {
                throw invalid("a number does not fit its integer field (a fraction, or beyond 64 bits)")
            }
            throw invalid(Self.summary(of: error))
        }
        let manifest = SetManifest(version: document.version, fingerprint: document.fingerprint, rows: document.rows,
                                   schema: document.schema, classes: document.classes, shards: document.shards)
        try manifest.check(path: path)
        return manifest
    }

    private init(version: Int, fingerprint: String, rows: Int, schema: [SetColumn], classes: [String]?, shards: [Shard]) {
        self.version = version
        self.fingerprint = fingerprint
        self.rows = rows
        self.schema = schema
        self.classes = classes
        self.shards = shards
    }

    /// The bounds of ``parse(_:path:)``.
    private func check(path: String) throws(CacheError) {
        func invalid(_ reason: String) -> CacheError { .invalidSet(path: path, reason: reason) }
        guard Self.isDigest(fingerprint) else { throw invalid("its \"fingerprint\" is not a lowercase hex SHA-256") }
        guard rows >= 0 else { throw invalid("its \"rows\" \(rows) is negative") }
        guard !shards.isEmpty else { throw invalid("it lists no shards") }
        var total = 0
        for (index, shard) in shards.enumerated() {
            let name = "shard \(index) (\(shard.path.debugDescription))"
            guard shard.rows >= 0 else { throw invalid("\(name) has \(shard.rows) rows") }
            guard shard.bytes >= 0 else { throw invalid("\(name) has \(shard.bytes) bytes") }
            guard Self.isDigest(shard.fingerprint) else { throw invalid("\(name): its fingerprint is not a lowercase hex SHA-256") }
            if let problem = Self.pathProblem(shard.path) { throw invalid("\(name): \(problem)") }
            let (sum, overflow) = total.addingReportingOverflow(shard.rows)
            guard !overflow else { throw invalid("the shards' rows overflow at shard \(index)") }
            total = sum
        }
        guard total == rows else { throw invalid("its shards hold \(total) rows, but its \"rows\" says \(rows)") }
        guard fingerprint == Self.fingerprint(ofShards: shards.map(\.fingerprint)) else {
            throw invalid("its \"fingerprint\" is not the fingerprint of its shards' fingerprints")
        }
        guard !schema.isEmpty else { throw invalid("its \"schema\" has no columns") }
        var names = Set<String>()
        for column in schema {
            guard names.insert(column.name).inserted else { throw invalid("its \"schema\" names column '\(column.name)' twice") }
            if let problem = column.problem { throw invalid("its \"schema\": column '\(column.name)': \(problem)") }
        }
    }

    /// Why `path` cannot name a shard (empty, absolute, a NUL byte, an empty, `.` or `..`
    /// component), or `nil` when it can.
    static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "its path is empty" }
        if path.hasPrefix("/") { return "its path is absolute; shard paths are relative to the manifest's folder" }
        if path.utf8.contains(0) { return "its path holds a NUL byte" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") { return "its path climbs out of the manifest's folder with '..'" }
        if components.contains(where: { $0.isEmpty || $0 == "." }) { return "its path has an empty or '.' component" }
        return nil
    }

    /// Whether `text` is 64 lowercase hex digits.
    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A decoding error in one line: the field's path and what was wrong.
    private static func summary(of error: any Error) -> String {
        guard let error = error as? DecodingError else { return "it is not valid JSON" }
        func field(_ path: [any CodingKey]) -> String {
            guard !path.isEmpty else { return "the document" }
            var text = ""
            for key in path {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return "\"" + text + "\""
        }
        switch error {
        case let .typeMismatch(type, context):
            return "\(field(context.codingPath)) is not \(Self.typeName(type))"
        case let .valueNotFound(type, context):
            return "\(field(context.codingPath)) is missing or null (\(Self.typeName(type)) expected)"
        case let .keyNotFound(key, context):
            return "\(field(context.codingPath + [key])) is missing"
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "it is not valid JSON (\(context.debugDescription))"
                                              : "\(field(context.codingPath)) is invalid (\(context.debugDescription))"
        @unknown default:
            return "it is not valid"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        default: "of the expected type"
        }
    }

    /// The keys read before the rest: `format` and `version`.
    private struct Header: Decodable {
        var format: String
        var version: Int
    }

    /// The document as stored.
    private struct Document: Codable {
        var format: String
        var version: Int
        var fingerprint: String
        var rows: Int
        var schema: [SetColumn]
        var classes: [String]?
        var shards: [Shard]

        init(_ manifest: SetManifest) {
            format = SetManifest.formatName
            version = manifest.version
            fingerprint = manifest.fingerprint
            rows = manifest.rows
            schema = manifest.schema
            classes = manifest.classes
            shards = manifest.shards
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(format, forKey: .format)
            try container.encode(version, forKey: .version)
            try container.encode(fingerprint, forKey: .fingerprint)
            try container.encode(rows, forKey: .rows)
            try container.encode(schema, forKey: .schema)
            try container.encode(classes, forKey: .classes)  // null when none: the key is always there
            try container.encode(shards, forKey: .shards)
        }
    }
}

/// One column of a cache set's schema: what every shard's column must be (the fields of the
/// column in a cache's metadata that do not depend on the file: no codec, units or tables).
public struct SetColumn: Sendable, Hashable, Codable {
    /// The column's name.
    public let name: String
    /// Whether it is a model input or the target.
    public let role: CacheColumnRole
    /// The identity of the encoder that produced it.
    public let encoder: String
    /// The dtype of its values.
    public let dtype: DType
    /// A fixed column's row shape, or a variable-length column's trailing shape.
    public let shape: [Int]
    /// Whether the first axis varies from row to row.
    public let variableLength: Bool
    /// A variable-shape column's dimensions, `-1` where they vary; `nil` for other columns.
    public let rowShape: [Int]?

    /// The schema entry of a cache's column.
    public init(_ column: CacheColumn) {
        name = column.name
        role = column.role
        encoder = column.encoderIdentity
        dtype = column.spec.dtype
        shape = column.spec.shape
        variableLength = column.spec.isVariableLength
        rowShape = column.spec.rowShape
    }

    /// Why the entry cannot describe a column, or `nil`.
    var problem: String? {
        if shape.count > 32 || shape.contains(where: { $0 < 0 || $0 > 1 << 40 }) { return "its shape \(shape) is not valid" }
        if let rowShape {
            guard variableLength, shape.isEmpty, (1...32).contains(rowShape.count),
                  rowShape.allSatisfy({ $0 >= -1 && $0 <= 1 << 40 }) else { return "its rowShape \(rowShape) is not valid" }
        }
        if role == .target && variableLength { return "a target column cannot be variable-length" }
        return nil
    }
}
