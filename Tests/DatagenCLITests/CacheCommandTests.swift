import Foundation
import Testing

/// `datagen cache build | info | verify | show`, end to end through the binary.
@Suite struct CacheCommandTests {
    /// A folder with an inventory of `count` records whose files hold `body(i)`.
    struct Fixture {
        let directory: String
        var inventory: String { directory + "/inventory.csv" }
        var cache: String { directory + "/out.dgcache" }

        init(count: Int, suffix: String = ".dat", labels: (Int) -> String = { "cat_\($0 % 3)" },
             body: (Int) -> Data) throws {
            directory = try CLI.temporaryDirectory()
            var csv = ",id,target\n"
            for index in 0..<count {
                csv += "\(index),rec\(index),\(labels(index))\n"
                try body(index).write(to: URL(fileURLWithPath: "\(directory)/rec\(index)\(suffix)"))
            }
            try Data(csv.utf8).write(to: URL(fileURLWithPath: inventory))
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// A version-1 `.npy` file of little-endian float32 values with the given shape.
    static func npy(_ values: [Float], shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 255), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    @Test func textBuildInfoShowVerifyRoundTrip() throws {
        let fixture = try Fixture(count: 12, suffix: ".txt") { index in
            Data("\(index) \(index + 1) \(index + 2)\n\(index * 2) 0 1\n".utf8)
        }
        defer { fixture.remove() }
        let build = try CLI.run(["cache", "build", fixture.inventory, "--output", fixture.cache, "--id-suffix", ".txt", "--json"])
        #expect(build.status == 0, "\(build.standardError)")
        #expect(build.standardOutput.split(separator: "\n").count == 1)
        let built = try #require(try Self.json(build.standardOutput) as? [String: Any])
        #expect(built["rows"] as? Int == 12)

        let info = try CLI.run(["cache", "info", fixture.cache, "--json"])
        #expect(info.status == 0)
        let object = try #require(try Self.json(info.standardOutput) as? [String: Any])
        for key in ["rows", "columns", "classes", "fingerprint", "skipped", "format_version"] {
            #expect(object[key] != nil, "info --json lacks \(key)")
        }
        #expect(object["classes"] as? [String] == ["cat_0", "cat_1", "cat_2"])
        let columns = try #require(object["columns"] as? [[String: Any]])
        #expect(columns.map { $0["name"] as? String } == ["data", "target"])
        #expect(columns[0]["shape"] as? [Int] == [2, 3])
        #expect(columns[0]["dtype"] as? String == "float32")
        for key in ["name", "dtype", "shape", "codec", "raw_bytes", "stored_bytes"] { #expect(columns[0][key] != nil) }

        let show = try CLI.run(["cache", "show", fixture.cache, "--rows", "3..<5", "--json"])
        #expect(show.status == 0)
        let rows = try #require(try Self.json(show.standardOutput) as? [[String: Any]])
        #expect(rows.count == 2)
        #expect(rows[0]["row"] as? Int == 3)
        #expect(rows[0]["id"] as? String == "rec3")
        let values = try #require(rows[0]["values"] as? [String: [Double]])
        #expect(values["data"] == [3, 4, 5, 6, 0, 1])
        #expect(values["target"] == [0])

        let verify = try CLI.run(["cache", "verify", fixture.cache])
        #expect(verify.status == 0)
        let readable = try CLI.run(["cache", "info", fixture.cache])
        #expect(readable.standardOutput.contains("float32"))
    }

    @Test func npyRawAndUtf8FormatsBuild() throws {
        let npy = try Fixture(count: 5, suffix: ".npy") { Self.npy([Float($0), 1, 2, 3], shape: [2, 2]) }
        defer { npy.remove() }
        var run = try CLI.run(["cache", "build", npy.inventory, "-o", npy.cache, "--data", "npy", "--id-suffix", ".npy",
                               "--target", "onehot", "--quiet"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardError.isEmpty)
        var show = try #require(try Self.json(try CLI.run(["cache", "show", npy.cache, "--rows", "4..<5", "--json"]).standardOutput) as? [[String: Any]])
        var values = try #require(show[0]["values"] as? [String: [Double]])
        #expect(values["data"] == [4, 1, 2, 3])
        #expect(values["target"] == [0, 1, 0])

        let raw = try Fixture(count: 4, labels: { "\($0 * 10)" }) { Data(repeating: UInt8($0), count: $0 + 1) }
        defer { raw.remove() }
        run = try CLI.run(["cache", "build", raw.inventory, "-o", raw.cache, "--data", "raw", "--id-suffix", ".dat",
                           "--target", "int", "--codec", "none", "--quiet"])
        #expect(run.status == 0, "\(run.standardError)")
        let info = try #require(try Self.json(try CLI.run(["cache", "info", raw.cache, "--json"]).standardOutput) as? [String: Any])
        let columns = try #require(info["columns"] as? [[String: Any]])
        #expect(columns[0]["variable_length"] as? Bool == true)
        #expect(columns[0]["codec"] as? String == "none")
        #expect(columns[1]["dtype"] as? String == "int64")
        show = try #require(try Self.json(try CLI.run(["cache", "show", raw.cache, "--rows", "2..<3", "--json"]).standardOutput) as? [[String: Any]])
        values = try #require(show[0]["values"] as? [String: [Double]])
        #expect(values["data"] == [2, 2, 2])
        #expect(values["target"] == [20])

        let text = try Fixture(count: 3, labels: { "\(Double($0) / 2)" }) { Data("héllo \($0)".utf8) }
        defer { text.remove() }
        run = try CLI.run(["cache", "build", text.inventory, "-o", text.cache, "--data", "utf8", "--id-suffix", ".dat",
                           "--target", "float", "--codec", "lz4hc", "--quiet"])
        #expect(run.status == 0, "\(run.standardError)")
        show = try #require(try Self.json(try CLI.run(["cache", "show", text.cache, "--rows", "1..<2", "--json"]).standardOutput) as? [[String: Any]])
        values = try #require(show[0]["values"] as? [String: [Double]])
        #expect(values["data"]?.map { UInt8($0) } == Array("héllo 1".utf8))
        #expect(values["target"] == [0.5])
        #expect(try CLI.run(["cache", "verify", text.cache]).status == 0)
    }

    @Test func targetNoneGivesADataOnlyCache() throws {
        let fixture = try Fixture(count: 3) { Data([UInt8($0), 7]) }
        defer { fixture.remove() }
        let run = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--data", "raw", "--shape", "2",
                               "--id-suffix", ".dat", "--target", "none", "--quiet"])
        #expect(run.status == 0, "\(run.standardError)")
        let info = try #require(try Self.json(try CLI.run(["cache", "info", fixture.cache, "--json"]).standardOutput) as? [String: Any])
        #expect((info["columns"] as? [[String: Any]])?.count == 1)
        #expect(info["classes"] is NSNull)
    }

    @Test func aMissingFileFailsNamingTheIdAndPath() throws {
        let fixture = try Fixture(count: 4, suffix: ".txt") { Data("\($0) 1".utf8) }
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.directory + "/rec2.txt")
        let run = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--quiet"])
        #expect(run.status == 1)
        #expect(run.standardError.split(separator: "\n").count == 1)
        #expect(run.standardError.contains("rec2"))
        #expect(run.standardError.contains("rec2.txt"))
        #expect(!FileManager.default.fileExists(atPath: fixture.cache))
    }

    @Test func skipPolicyListsSkippedRowsInInfo() throws {
        let fixture = try Fixture(count: 6, suffix: ".txt") { $0 == 4 ? Data("1 oops".utf8) : Data("\($0) 1".utf8) }
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.directory + "/rec1.txt")
        let run = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt",
                               "--on-error", "skip", "--json"])
        #expect(run.status == 0, "\(run.standardError)")
        let info = try #require(try Self.json(try CLI.run(["cache", "info", fixture.cache, "--json"]).standardOutput) as? [String: Any])
        #expect(info["rows"] as? Int == 4)
        let skipped = try #require(info["skipped"] as? [[String: Any]])
        #expect(skipped.map { $0["row"] as? Int } == [1, 4])
        #expect(skipped.map { $0["id"] as? String } == ["rec1", "rec4"])
        #expect((skipped[0]["reason"] as? String)?.contains("rec1.txt") == true)
        #expect((skipped[1]["reason"] as? String)?.contains("oops") == true)
    }

    @Test func verifyCatchesACorruptedByte() throws {
        let fixture = try Fixture(count: 8, suffix: ".txt") { index in
            Data((0..<100).map { "\(($0 * index) % 7)" }.joined(separator: " ").utf8)
        }
        defer { fixture.remove() }
        #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--quiet"]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: fixture.cache))
        bytes[100] ^= 0x5A  // inside the first data unit
        try bytes.write(to: URL(fileURLWithPath: fixture.cache))
        let run = try CLI.run(["cache", "verify", fixture.cache])
        #expect(run.status == 1)
        #expect(run.standardError.contains("checksum") || run.standardError.contains("corrupt"))
        #expect(run.standardError.contains("data"))
        let json = try CLI.run(["cache", "verify", fixture.cache, "--json"])
        #expect(json.status == 1)
        let object = try #require(try Self.json(json.standardOutput) as? [String: Any])
        #expect(object["ok"] as? Bool == false)
    }

    @Test func aForeignFileIsNotACache() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("hello, world".utf8).write(to: URL(fileURLWithPath: directory + "/x.csv"))
        let run = try CLI.run(["cache", "info", directory + "/x.csv"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("not a DataGenerator cache"))
    }

    @Test func rebuildingAnUpToDateCacheIsANoOpUnlessForced() throws {
        let fixture = try Fixture(count: 3, suffix: ".txt") { Data("\($0)".utf8) }
        defer { fixture.remove() }
        let arguments = ["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--json"]
        #expect(try CLI.run(arguments).status == 0)
        let again = try #require(try Self.json(try CLI.run(arguments).standardOutput) as? [String: Any])
        #expect(again["up_to_date"] as? Bool == true)
        let forced = try #require(try Self.json(try CLI.run(arguments + ["--force"]).standardOutput) as? [String: Any])
        #expect(forced["up_to_date"] as? Bool == false)
    }
}

/// `datagen cache bench`: throughput figures and a digest that agrees across modes and workers.
@Suite struct CacheBenchCommandTests {
    @Test func digestAgreesBetweenCachedUncachedAndAnyWorkers() throws {
        let fixture = try CacheCommandTests.Fixture(count: 150, suffix: ".txt") { index in
            Data((0..<30).map { String(($0 * 3 + index) % 17) }.joined(separator: " ").utf8)
        }
        defer { fixture.remove() }
        #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--quiet"]).status == 0)
        let common = ["cache", "bench", fixture.cache, "--batch-size", "16", "--epochs", "2", "--seed", "5", "--json"]
        var digests = Set<String>()
        for extra in [["--workers", "1"], ["--workers", "3"], ["--memory-budget", "0"],
                      ["--uncached", fixture.inventory, "--id-suffix", ".txt", "--workers", "2"]] {
            let run = try CLI.run(common + extra)
            #expect(run.status == 0, "\(run.standardError)")
            #expect(run.standardOutput.split(separator: "\n").count == 1)
            let object = try #require(try CacheCommandTests.json(run.standardOutput) as? [String: Any])
            for key in ["mode", "samples", "batches", "open_seconds", "epoch_seconds", "samples_per_second", "peak_rss_bytes", "digest"] {
                #expect(object[key] != nil, "bench --json lacks \(key)")
            }
            #expect(object["samples"] as? Int == 150)
            #expect(object["batches"] as? Int == 20)
            #expect(object["mode"] as? String == (extra.contains("--uncached") ? "uncached" : "cached"))
            #expect((object["epoch_seconds"] as? [Double])?.count == 2)
            #expect((object["peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
            digests.insert(try #require(object["digest"] as? String))
        }
        #expect(digests.count == 1)
        let other = try CLI.run(["cache", "bench", fixture.cache, "--batch-size", "16", "--epochs", "2", "--seed", "6", "--json"])
        let otherDigest = (try CacheCommandTests.json(other.standardOutput) as? [String: Any])?["digest"] as? String
        #expect(otherDigest != nil && !digests.contains(otherDigest!))
    }

    @Test func aUint8CacheServedAsScaledFloat32EqualsAFloat32BuildOfTheSameScale() throws {
        let fixture = try CacheCommandTests.Fixture(count: 90, suffix: ".txt") { index in
            Data((0..<12).map { String(($0 * 37 + index * 11) % 256) }.joined(separator: " ").utf8)
        }
        defer { fixture.remove() }
        let bytes = fixture.cache + ".u8", floats = fixture.cache + ".f32"
        let scale = "0.00392156862745098"
        #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", bytes, "--id-suffix", ".txt", "--dtype", "uint8", "--quiet"]).status == 0)
        #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", floats, "--id-suffix", ".txt", "--scale", scale, "--quiet"]).status == 0)
        let common = ["--batch-size", "16", "--epochs", "2", "--seed", "3", "--workers", "2", "--json"]
        let served = try CLI.run(["cache", "bench", bytes, "--serve-as", "float32", "--serve-scale", scale] + common)
        #expect(served.status == 0, "\(served.standardError)")
        let stored = try CLI.run(["cache", "bench", floats] + common)
        let left = try #require(try CacheCommandTests.json(served.standardOutput) as? [String: Any])
        let right = try #require(try CacheCommandTests.json(stored.standardOutput) as? [String: Any])
        #expect(left["digest"] as? String == right["digest"] as? String)
        #expect(left["path"] as? String == "lending")
        let wrong = try CLI.run(["cache", "bench", bytes, "--serve-as", "float33"] + common)
        #expect(wrong.status == 2 && wrong.standardError.contains("float33"))
    }
}
