import Foundation
import Testing

/// `datagen cache build --shard K/N`: shards whose classes are the whole inventory's and whose rows
/// concatenate to the single-file build's.
@Suite struct ShardBuildTests {
    typealias Fixture = CacheCommandTests.Fixture

    /// `cache show --json` of every row: (id, data values, target values) per row.
    static func rows(of cache: String) throws -> [(id: String?, data: [Double], target: [Double])] {
        let info = try CLI.run(["cache", "info", cache, "--json"])
        #expect(info.status == 0, "\(info.standardError)")
        let object = try #require(try CacheCommandTests.json(info.standardOutput) as? [String: Any])
        let count = try #require(object["rows"] as? Int)
        let show = try CLI.run(["cache", "show", cache, "--rows", ":\(count)", "--json"])
        #expect(show.status == 0, "\(show.standardError)")
        let rows = try #require(try CacheCommandTests.json(show.standardOutput) as? [[String: Any]])
        return try rows.map { row in
            let values = try #require(row["values"] as? [String: [Double]])
            return (row["id"] as? String, try #require(values["data"]), try #require(values["target"]))
        }
    }

    /// `cache info --json`'s classes and row count.
    static func info(_ cache: String) throws -> (classes: [String]?, rows: Int?) {
        let info = try CLI.run(["cache", "info", cache, "--json"])
        #expect(info.status == 0, "\(info.standardError)")
        let object = try #require(try CacheCommandTests.json(info.standardOutput) as? [String: Any])
        return (object["classes"] as? [String], object["rows"] as? Int)
    }

    /// Ten records whose labels differ from shard to shard of three: a shard alone would fit
    /// fewer classes.
    static func tenRecords() throws -> Fixture {
        let labels = ["a", "a", "a", "b", "b", "b", "c", "c", "d", "d"]
        return try Fixture(count: 10, suffix: ".txt", labels: { labels[$0] }) { Data("\($0) \($0 * 10)\n".utf8) }
    }

    @Test func shardsKeepTheWholeInventorysClassesAndConcatenateToTheSingleFileBuild() throws {
        let fixture = try Self.tenRecords()
        defer { fixture.remove() }
        let whole = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--quiet"])
        #expect(whole.status == 0, "\(whole.standardError)")
        for target in ["label", "onehot"] {
            var shardRows = [(id: String?, data: [Double], target: [Double])]()
            let single = fixture.directory + "/whole-\(target).dgcache"
            #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", single, "--id-suffix", ".txt",
                                 "--target-encoding", target, "--quiet"]).status == 0)
            for index in 0..<3 {
                let shard = fixture.directory + "/\(target)-\(index).dgcache"
                let build = try CLI.run(["cache", "build", fixture.inventory, "-o", shard, "--id-suffix", ".txt",
                                         "--target-encoding", target, "--shard", "\(index)/3", "--json"])
                #expect(build.status == 0, "\(build.standardError)")
                let built = try #require(try CacheCommandTests.json(build.standardOutput) as? [String: Any])
                #expect(built["rows"] as? Int == [3, 3, 4][index])  // [K·10/3, (K+1)·10/3)
                #expect(try Self.info(shard).classes == ["a", "b", "c", "d"])
                shardRows += try Self.rows(of: shard)
            }
            let wholeRows = try Self.rows(of: single)
            #expect(wholeRows.count == 10)
            #expect(shardRows.map(\.id) == wholeRows.map(\.id))
            #expect(shardRows.map(\.data) == wholeRows.map(\.data))
            #expect(shardRows.map(\.target) == wholeRows.map(\.target))
        }
    }

    @Test func rebuildingTheSameShardIsANoOpAndAnotherShardIsNot() throws {
        let fixture = try Self.tenRecords()
        defer { fixture.remove() }
        func build(_ shard: String) throws -> [String: Any] {
            let run = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt",
                                   "--shard", shard, "--json"])
            #expect(run.status == 0, "\(run.standardError)")
            return try #require(try CacheCommandTests.json(run.standardOutput) as? [String: Any])
        }
        let first = try build("1/3")
        #expect(first["up_to_date"] as? Bool == false)
        let again = try build("1/3")
        #expect(again["up_to_date"] as? Bool == true)
        #expect(again["fingerprint"] as? String == first["fingerprint"] as? String)
        let other = try build("2/3")
        #expect(other["up_to_date"] as? Bool == false)
        #expect(other["fingerprint"] as? String != first["fingerprint"] as? String)
        #expect(other["rows"] as? Int == 4)
    }

    @Test func moreShardsThanRowsWriteValidEmptyCaches() throws {
        let fixture = try Fixture(count: 3, suffix: ".txt") { Data("\($0) 1 2\n".utf8) }
        defer { fixture.remove() }
        var total = 0, empty = 0
        for index in 0..<8 {
            let shard = fixture.directory + "/shard-\(index).dgcache"
            let build = try CLI.run(["cache", "build", fixture.inventory, "-o", shard, "--id-suffix", ".txt",
                                     "--shard", "\(index)/8", "--quiet"])
            #expect(build.status == 0, "shard \(index)/8: \(build.standardError)")
            let (classes, rows) = try Self.info(shard)
            #expect(classes == ["cat_0", "cat_1", "cat_2"])
            let count = try #require(rows)
            total += count
            if count == 0 {
                empty += 1
                #expect(try CLI.run(["cache", "verify", shard]).status == 0)
                let show = try CLI.run(["cache", "show", shard, "--json"])
                #expect(show.status == 0, "\(show.standardError)")
                #expect(try CacheCommandTests.json(show.standardOutput) as? [Any] != nil)
                #expect((try CacheCommandTests.json(show.standardOutput) as? [Any])?.isEmpty == true)
                let bench = try CLI.run(["cache", "bench", shard, "--epochs", "2"])
                #expect(bench.status == 0, "\(bench.standardError)")
                #expect(bench.standardOutput.contains("0 samples"))
            }
        }
        #expect(total == 3)
        #expect(empty == 5)
    }

    @Test func aShardWhoseRecordsAreAllSkippedIsAnEmptyCache() throws {
        let fixture = try Fixture(count: 4, suffix: ".txt") { index in Data((index < 2 ? "x y\n" : "\(index) 1\n").utf8) }
        defer { fixture.remove() }
        let build = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt",
                                 "--shape", "2", "--on-error", "skip", "--shard", "0/2", "--quiet"])
        #expect(build.status == 0, "\(build.standardError)")
        #expect(try Self.info(fixture.cache).rows == 0)
        #expect(try CLI.run(["cache", "verify", fixture.cache]).status == 0)
    }

    @Test func badShardsAreUsageErrorsNamingTheOption() throws {
        let fixture = try Fixture(count: 3, suffix: ".txt") { Data("\($0)\n".utf8) }
        defer { fixture.remove() }
        for bad in ["3/3", "-1/3", "0/0", "1", "a/b", "1/2/3", "1/-2"] {
            let run = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt",
                                   "--shard", bad])
            #expect(run.status == 2, "--shard \(bad): \(run.standardError)")
            #expect(run.standardError.contains("--shard"), "--shard \(bad): \(run.standardError)")
            #expect(!FileManager.default.fileExists(atPath: fixture.cache))
            if ["1", "a/b", "1/2/3"].contains(bad) {
                #expect(run.standardError.contains("--shard takes K/N (e.g. 0/4)") && run.standardError.contains("'\(bad)'"),
                        "--shard \(bad): \(run.standardError)")
            }
        }
    }
}
