import Foundation
import Testing

/// `datagen cache set create` and `cache info|verify|show|bench` on a set: shards built with
/// `--shard K/N` join into a set that serves the single-file build's rows and batches.
@Suite struct CacheSetCommandTests {
    typealias Fixture = CacheCommandTests.Fixture

    /// `command --json`'s object, expecting success.
    static func object(_ arguments: [String]) throws -> [String: Any] {
        let run = try CLI.run(arguments + ["--json"])
        #expect(run.status == 0, "\(arguments): \(run.standardError)")
        return try #require(try CacheCommandTests.json(run.standardOutput) as? [String: Any])
    }

    /// Builds the whole cache and `count` shards (`part-K.dgcache`) of `fixture`; returns the shards.
    static func buildShards(_ fixture: Fixture, count: Int) throws -> [String] {
        let whole = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--quiet"])
        #expect(whole.status == 0, "\(whole.standardError)")
        return try (0..<count).map { index in
            let shard = fixture.directory + "/part-\(index).dgcache"
            let build = try CLI.run(["cache", "build", fixture.inventory, "-o", shard, "--id-suffix", ".txt",
                                     "--shard", "\(index)/\(count)", "--quiet"])
            #expect(build.status == 0, "\(build.standardError)")
            return shard
        }
    }

    @Test func aSetOfShardsIncludingAnEmptyOneServesTheSingleFilesRowsAndBatches() throws {
        // 3 records in 4 shards: shard 0 has no rows ([0, 0)), the others one each.
        let fixture = try Fixture(count: 3, suffix: ".txt", labels: { ["x", "y", "z"][$0] }) { Data("\($0) \($0 * 3)\n".utf8) }
        defer { fixture.remove() }
        let shards = try Self.buildShards(fixture, count: 4)
        let manifest = fixture.directory + "/all.dgset"
        let created = try Self.object(["cache", "set", "create", manifest] + shards)
        #expect(created["shards"] as? Int == 4 && created["rows"] as? Int == 3)
        let info = try Self.object(["cache", "info", manifest])
        let listed = try #require(info["shards"] as? [[String: Any]])
        #expect(listed.map { $0["rows"] as? Int } == [0, 1, 1, 1])
        #expect(listed.map { $0["first_row"] as? Int } == [0, 0, 1, 2])
        #expect(info["rows"] as? Int == 3 && info["classes"] as? [String] == ["x", "y", "z"])
        #expect(info["fingerprint"] as? String == created["fingerprint"] as? String)
        let columns = try #require(info["columns"] as? [[String: Any]])
        #expect(columns.map { $0["name"] as? String } == ["data", "target"])
        #expect(columns.first?["raw_bytes"] as? Int == 3 * 2 * 4)  // 3 rows of float32 [2], over the shards
        let verified = try Self.object(["cache", "verify", manifest])
        #expect(verified["ok"] as? Bool == true)
        #expect(try ShardBuildTests.rows(of: manifest).map(\.id) == ShardBuildTests.rows(of: fixture.cache).map(\.id))
        #expect(try ShardBuildTests.rows(of: manifest).map(\.data) == ShardBuildTests.rows(of: fixture.cache).map(\.data))
        for (order, workers) in [("none", "0"), ("full", "2"), ("window", "1")] {
            let bench = ["cache", "bench", "--epochs", "2", "--batch-size", "2", "--shuffle", order, "--workers", workers, "--seed", "4"]
            let fromSet = try Self.object(bench + [manifest])
            let fromFile = try Self.object(bench + [fixture.cache])
            #expect(fromSet["digest"] as? String == fromFile["digest"] as? String, "\(order) with \(workers) workers")
            #expect(fromSet["samples"] as? Int == 3)
        }
    }

    @Test func createAndVerifyNameTheShardAtFault() throws {
        let fixture = try Fixture(count: 6, suffix: ".txt", labels: { ["a", "b", "c"][$0 / 2] }) { Data("\($0) 1\n".utf8) }
        defer { fixture.remove() }
        let shards = try Self.buildShards(fixture, count: 2)
        // A shard built from part of the inventory alone fits fewer classes: refused, naming it.
        let partCSV = fixture.directory + "/part.csv"
        let csv = try String(contentsOfFile: fixture.inventory, encoding: .utf8).split(separator: "\n").prefix(3).joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: partCSV))
        let alone = fixture.directory + "/alone.dgcache"
        #expect(try CLI.run(["cache", "build", partCSV, "-o", alone, "--id-suffix", ".txt", "--quiet"]).status == 0)
        let mixed = try CLI.run(["cache", "set", "create", fixture.directory + "/mixed.dgset", shards[0], alone])
        #expect(mixed.status == 1)
        #expect(mixed.standardError.contains("shard 1 (\(alone)) has other label classes than shard 0"), "\(mixed.standardError)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/mixed.dgset"))
        // A name without .dgset is a usage error.
        #expect(try CLI.run(["cache", "set", "create", fixture.directory + "/x.json", shards[0]]).status == 2)
        // A shard damaged after the set was written: verify names it.
        let manifest = fixture.directory + "/ok.dgset"
        #expect(try CLI.run(["cache", "set", "create", manifest] + shards).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: shards[1]))
        bytes[70] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: shards[1]))
        let verify = try CLI.run(["cache", "verify", manifest, "--json"])
        #expect(verify.status == 1)
        let result = try #require(try CacheCommandTests.json(verify.standardOutput) as? [String: Any])
        #expect(result["ok"] as? Bool == false)
        #expect((result["error"] as? String)?.contains("shard 1 (\(shards[1]))") == true, "\(result)")
        // A missing shard: info names it.
        try FileManager.default.removeItem(atPath: shards[0])
        let info = try CLI.run(["cache", "info", manifest])
        #expect(info.status == 1)
        #expect(info.standardError.contains("shard 0 (\(shards[0]))") && info.standardError.contains("No such file"), "\(info.standardError)")
    }
}
