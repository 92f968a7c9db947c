import Testing
@testable import DataGenerator
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `Tests/Golden`: golden caches, their corrupt variants and epoch-order vectors that the Swift
/// and the Python test suites both read (written by `tools/golden/regenerate`, never by a test).
enum Golden {
    /// The folder, found from this source file.
    static let directory: String = {
        let file = #filePath
        let tests = file[..<file.lastIndex(of: "/")!]
        return String(tests[..<tests.lastIndex(of: "/")!]) + "/Golden"
    }()

    /// `golden.json`.
    static let manifest: GoldenManifest = load("golden.json")
    /// The vectors of `orders.json`.
    static let orders: [OrderVector] = load("orders.json", as: OrderVectors.self).vectors

    private static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(try FileIO.readAll(directory + "/" + name)))
        } catch {
            fatalError("Tests/Golden/\(name) cannot be read: \(error)")
        }
    }

    /// The lowercase hex SHA-256 of `rows` as int64 little-endian.
    static func digest(ofRows rows: [Int]) -> String {
        var hasher = SHA256Hasher()
        for row in rows { hasher.update(UInt64(bitPattern: Int64(row))) }
        return hasher.hexDigest()
    }

    /// The lowercase hex SHA-256 of `bytes`.
    static func digest(of bytes: [UInt8]) -> String {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.hexDigest()
    }

    /// The epoch order named as in the golden files (`full`, `window` with its parameters, `none`).
    static func order(_ name: String, rowsPerBlock: Int? = nil, blocksPerWindow: Int? = nil) -> EpochOrder {
        if name == "window", let rowsPerBlock, let blocksPerWindow {
            return .window(rowsPerBlock: rowsPerBlock, blocksPerWindow: blocksPerWindow)
        }
        return EpochOrder(name: name)!
    }
}

/// `golden.json`.
struct GoldenManifest: Decodable, Sendable {
    /// One golden cache.
    struct Cache: Decodable, Sendable, CustomTestStringConvertible {
        /// One column's schema.
        struct Column: Decodable, Sendable, Equatable {
            let name: String
            let role: String
            let dtype: String
            let shape: [Int]
            let variableLength: Bool
            let codec: String
            let layout: String
        }

        /// A run and the digest of its batches.
        struct Run: Decodable, Sendable {
            let seed: UInt64
            let order: String
            let batchSize: Int
            let epochs: Int
            let dropLast: Bool
            let sha256: String
        }

        let name: String
        let file: String
        let bytes: Int
        let sha256: String
        let rows: Int
        let fingerprint: String
        let ids: [String]?
        let classes: [String]?
        let columns: [Column]
        let digests: [Run]
        var testDescription: String { name }
    }

    /// A damaged copy of a golden cache and how readers must refuse it.
    struct Corrupt: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let file: String
        let damage: String
        /// `open`, `read` (at open or while serving the batches) or `verify`.
        let stage: String
        /// The ``CacheError`` case.
        let swift: String
        /// The message, `{path}` standing for the file's path.
        let message: String
        var testDescription: String { name }
    }

    /// A run saved after some batches, and the rows its restored run serves next.
    struct Checkpoint: Decodable, Sendable, CustomTestStringConvertible {
        let cache: String
        let seed: UInt64
        let order: String
        let batchSize: Int
        let epochs: Int
        let dropLast: Bool
        let rank: Int
        let worldSize: Int
        let batchesConsumed: Int
        let swift: IteratorState
        let nextRows: [[Int]]
        var testDescription: String { "\(cache) \(order) rank \(rank)/\(worldSize)" }
    }

    let caches: [Cache]
    let corrupt: [Corrupt]
    let checkpoints: [Checkpoint]

    /// The path of a file of the golden folder.
    static func path(_ file: String) -> String { Golden.directory + "/" + file }

    /// The golden cache named `name`.
    func cache(_ name: String) -> Cache { caches.first { $0.name == name }! }
}

/// `orders.json`.
struct OrderVectors: Decodable, Sendable {
    let vectors: [OrderVector]
}

/// The rows a shard visits in one epoch of one order.
struct OrderVector: Decodable, Sendable, CustomTestStringConvertible {
    let order: String
    let rowsPerBlock: Int?
    let blocksPerWindow: Int?
    let seed: UInt64
    let epoch: Int
    let count: Int
    let rank: Int?
    let worldSize: Int?
    let remainder: String?
    /// How many positions the shard serves.
    let rows: Int
    /// The first rows it visits.
    let first: [Int]
    /// SHA-256 of all the rows it visits, as int64 little-endian.
    let sha256: String

    var testDescription: String {
        "\(order)\(rowsPerBlock.map { "(\($0),\(blocksPerWindow!))" } ?? "") seed \(seed) epoch \(epoch) count \(count)"
            + (worldSize.map { " rank \(rank!)/\($0) \(remainder!)" } ?? "")
    }
}

@Suite("Golden vectors")
struct GoldenVectorTests {
    static func options(_ run: GoldenManifest.Cache.Run) -> BatchOptions {
        BatchOptions(batchSize: run.batchSize, epochs: run.epochs, truncate: run.dropLast,
                     order: Golden.order(run.order), seed: run.seed, workers: 0)
    }

    @Test("each epoch order visits the golden rows, one position at a time and a batch at a time",
          arguments: Golden.orders)
    func epochOrdersVisitTheGoldenRows(_ vector: OrderVector) throws {
        let shard = try Shard(rank: vector.rank ?? 0, worldSize: vector.worldSize ?? 1,
                              remainder: Shard.Remainder(rawValue: vector.remainder ?? "drop")!)
        let order = Golden.order(vector.order, rowsPerBlock: vector.rowsPerBlock, blocksPerWindow: vector.blocksPerWindow)
        let plan = try BatchPlan(options: BatchOptions(batchSize: 0, epochs: 1, truncate: false, order: order,
                                                       seed: vector.seed, shard: shard, workers: 0),
                                 rowCount: vector.count)
        let rows = plan.rows(epoch: vector.epoch, index: 0)
        #expect(rows.count == vector.rows)
        #expect(Array(rows.prefix(vector.first.count)) == vector.first)
        #expect(Golden.digest(ofRows: rows) == vector.sha256)
        var filled = [Int](repeating: -1, count: plan.batchSize)
        let count = filled.withUnsafeMutableBufferPointer { plan.fillRows(epoch: vector.epoch, index: 0, into: $0) }
        #expect(Array(filled.prefix(count)) == rows)
        if vector.worldSize == nil {
            let permutation = EpochPermutation(order: order, seed: vector.seed, epoch: vector.epoch, count: vector.count)
            #expect(permutation.rows == rows)
        }
    }

    @Test("the golden caches open with their recorded rows, ids, classes, fingerprint and schema, and verify",
          arguments: Golden.manifest.caches)
    func goldenCachesDescribeTheirRows(_ expected: GoldenManifest.Cache) throws {
        let path = GoldenManifest.path(expected.file)
        let bytes = try FileIO.readAll(path)
        #expect(bytes.count == expected.bytes)
        #expect(Golden.digest(of: bytes) == expected.sha256)
        let cache = try CacheFile(path: path)
        #expect(cache.rowCount == expected.rows)
        #expect(cache.fingerprint.value == expected.fingerprint)
        #expect(try cache.ids() == expected.ids)
        #expect(cache.classes == expected.classes)
        #expect(cache.columns.map { [$0.name, $0.role.rawValue, $0.spec.dtype.rawValue, $0.codec.rawValue] }
                == expected.columns.map { [$0.name, $0.role, $0.dtype, $0.codec] })
        _ = try cache.verify()
    }

    @Test("the golden caches serve the golden digests, as owned and as lent batches",
          arguments: Golden.manifest.caches)
    func goldenCachesServeTheGoldenDigests(_ expected: GoldenManifest.Cache) throws {
        let cached = try CachedDataSet(path: GoldenManifest.path(expected.file))
        for run in expected.digests {
            let options = Self.options(run)
            var owned = BatchDigest()
            let cursor = try cached.batches(options)
            while let batch = try cursor.next() { owned.add(batch) }
            #expect(owned.hexDigest() == run.sha256, "\(run)")
            if cached.canLendBatches {
                var lent = BatchDigest()
                try cached.forEachBatch(options) { batch in
                    lent.add(batch)
                    return true
                }
                #expect(lent.hexDigest() == run.sha256, "\(run) (lent)")
            }
        }
    }

    /// The stage at which the file is refused (`open`, `read` or `verify`) and the error, or nil.
    static func firstRefusal(_ path: String) -> (stage: String, error: any Error)? {
        let cached: CachedDataSet
        do { cached = try CachedDataSet(path: path) } catch { return ("open", error) }
        do {
            let cursor = try cached.batches(size: 4, epochs: 1, truncate: false, order: .none, workers: 0)
            while try cursor.next() != nil {}
        } catch { return ("read", error) }
        do { _ = try cached.cache.verify() } catch { return ("verify", error) }
        return nil
    }

    /// The name of a ``CacheError`` case, as `golden.json` writes it.
    static func caseName(_ error: any Error) -> String {
        guard let error = error as? CacheError else { return "not a CacheError: \(type(of: error))" }
        return switch error {
        case .notACache: "notACache"
        case .truncated: "truncated"
        case .unsupportedVersion: "unsupportedVersion"
        case .corrupt: "corrupt"
        case .checksumMismatch: "checksumMismatch"
        default: "\(error)"
        }
    }

    @Test("each corrupt variant is refused at its stage with the golden error case and message",
          arguments: Golden.manifest.corrupt)
    func corruptVariantsAreRefusedAsRecorded(_ variant: GoldenManifest.Corrupt) throws {
        let path = GoldenManifest.path(variant.file)
        let refusal = try #require(Self.firstRefusal(path), "\(variant.damage) went unnoticed")
        // A fault recorded at "read" may be found at open by a reader that checks more eagerly.
        let allowed = variant.stage == "read" ? ["open", "read"] : [variant.stage]
        #expect(allowed.contains(refusal.stage), "refused at \(refusal.stage): \(refusal.error)")
        #expect(Self.caseName(refusal.error) == variant.swift)
        #expect("\(refusal.error)" == variant.message.replacing("{path}", with: path))
    }

    @Test("a run saves the golden checkpoint, and restoring it serves the golden rows",
          arguments: Golden.manifest.checkpoints)
    func checkpointsRestoreToTheGoldenRows(_ expected: GoldenManifest.Checkpoint) throws {
        let cached = try CachedDataSet(path: GoldenManifest.path(Golden.manifest.cache(expected.cache).file))
        let options = BatchOptions(batchSize: expected.batchSize, epochs: expected.epochs, truncate: expected.dropLast,
                                   order: Golden.order(expected.order), seed: expected.seed,
                                   shard: try Shard(rank: expected.rank, worldSize: expected.worldSize), workers: 0)
        let cursor = try cached.batches(options)
        for _ in 0..<expected.batchesConsumed { _ = try cursor.next() }
        #expect(cursor.checkpoint == expected.swift)
        #expect(try cursor.next()?.rows == expected.nextRows.first)

        // The saved form, read back as a checkpoint file would be, restores the same run.
        let restored = try cached.batches(options, resumingFrom: expected.swift)
        for rows in expected.nextRows {
            #expect(try restored.next()?.rows == rows)
        }
    }
}
