import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// What a `dg_cache *` points to: an open cache served as a ``CachedDataSet``, reopened in a
/// forked child before use.
final class CacheHandle {
    let path: String
    let memoryBudget: Int
    private(set) var dataSet: CachedDataSet
    private var pid: pid_t

    init(path: String, memoryBudget: Int) throws {
        self.path = path
        self.memoryBudget = memoryBudget
        dataSet = try Self.open(path, memoryBudget)
        pid = getpid()
    }

    private static func open(_ path: String, _ budget: Int) throws -> CachedDataSet {
        var dataSet = try CachedDataSet(path: path)
        if budget > 0 { dataSet.memoryBudget = budget }
        return dataSet
    }

    /// The data set, reopened first when this process is a fork of the one that opened it.
    func current() throws -> CachedDataSet {
        if getpid() != pid {
            dataSet = try Self.open(path, memoryBudget)
            pid = getpid()
        }
        return dataSet
    }

    /// The columns in schema order: the data columns, then the target.
    var columns: [CacheColumn] { dataSet.dataColumns + (dataSet.targetColumn.map { [$0] } ?? []) }

    /// The schema and metadata as one JSON object (see `dg_info_json`).
    func infoJSON() throws -> String {
        let source = try current().source
        var json = JSONText()
        json.beginObject()
        json.key("rows"); json.int(source.rowCount)
        json.key("fingerprint"); json.string(source.fingerprint)
        json.key("classes")
        if let classes = source.classes {
            json.beginArray()
            for name in classes { json.string(name) }
            json.endArray()
        } else {
            json.null()
        }
        json.key("has_ids"); json.bool(try source.hasIDs())
        if case let .set(set) = source {
            // A cache set: its shards, in row order (paths as the manifest resolves them).
            json.key("set")
            json.beginObject()
            json.key("manifest"); json.string(set.path)
            json.key("shards")
            json.beginArray()
            for index in 0..<set.shardCount {
                let rows = set.rows(ofShard: index)
                json.beginObject()
                json.key("path"); json.string(set.shardPath(index))
                json.key("rows"); json.int(rows.count)
                json.key("first_row"); json.int(rows.lowerBound)
                json.key("fingerprint"); json.string(set.manifest.shards[index].fingerprint)
                json.key("bytes"); json.int(set.manifest.shards[index].bytes)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.key("columns")
        json.beginArray()
        for column in columns {
            json.beginObject()
            json.key("name"); json.string(column.name)
            json.key("role"); json.string(column.role.rawValue)
            json.key("dtype"); json.string(column.spec.dtype.rawValue)
            json.key("shape")
            json.beginArray()
            if column.spec.isVariableLength { json.null() }
            for dimension in column.spec.shape { json.int(dimension) }
            json.endArray()
            json.key("variable_length"); json.bool(column.spec.isVariableLength)
            if let rowShape = column.spec.rowShape {
                // Variable-shape columns only: each row's dimensions, null where they vary.
                json.key("row_shape")
                json.beginArray()
                for dimension in rowShape { if dimension < 0 { json.null() } else { json.int(dimension) } }
                json.endArray()
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.text
    }
}

/// A minimal JSON writer (no Foundation): objects, arrays, strings, integers, booleans, null.
struct JSONText {
    private(set) var text = ""
    private var needsComma = false

    private mutating func separate() {
        if needsComma { text += "," }
        needsComma = true
    }

    mutating func beginObject() { separate(); text += "{"; needsComma = false }
    mutating func endObject() { text += "}"; needsComma = true }
    mutating func beginArray() { separate(); text += "["; needsComma = false }
    mutating func endArray() { text += "]"; needsComma = true }
    mutating func key(_ name: String) { string(name); text += ":"; needsComma = false }
    mutating func int(_ value: Int) { separate(); text += String(value) }
    mutating func bool(_ value: Bool) { separate(); text += value ? "true" : "false" }
    mutating func null() { separate(); text += "null" }

    mutating func string(_ value: String) {
        separate()
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
