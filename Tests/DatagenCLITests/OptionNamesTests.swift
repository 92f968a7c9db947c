import Foundation
import Testing

/// The names users expect: `--workers`, `--target-encoding`, `--version`, Python slices for
/// `--rows`, class names in `show`, sizes with units, and refusals that name the path.
@Suite struct OptionNamesTests {
    /// A cache of 12 text records labelled `cat_0`, `cat_1`, `cat_2`, built with `extra` options.
    static func labelledCache(_ extra: [String] = []) throws -> CacheCommandTests.Fixture {
        let fixture = try CacheCommandTests.Fixture(count: 12, suffix: ".txt") { index in
            Data("\(index) \(index * 2)\n".utf8)
        }
        let build = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt", "--quiet"] + extra)
        #expect(build.status == 0, "\(build.standardError)")
        return fixture
    }

    /// The rows `cache show --rows selection --json` prints.
    static func shownRows(_ cache: String, _ selection: String) throws -> [Int] {
        let run = try CLI.run(["cache", "show", cache, "--rows", selection, "--json"])
        #expect(run.status == 0, "--rows \(selection): \(run.standardError)")
        let rows = try #require(try CacheCommandTests.json(run.standardOutput) as? [[String: Any]])
        return rows.compactMap { $0["row"] as? Int }
    }

    /// `bench --json` of `cache` with `extra` options, as an object.
    static func bench(_ cache: String, _ extra: [String], launcher: [String] = []) throws -> [String: Any] {
        let arguments = ["cache", "bench", cache, "--batch-size", "4", "--epochs", "1", "--json"] + extra
        let run: CLI.Run
        if launcher.isEmpty {
            run = try CLI.run(arguments)
        } else {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: launcher[0])
            process.arguments = Array(launcher.dropFirst()) + [CLI.executable] + arguments
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            run = CLI.Run(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self), standardError: "")
        }
        #expect(run.status == 0, "\(extra): \(run.standardError)")
        return try #require(try CacheCommandTests.json(run.standardOutput) as? [String: Any])
    }

    @Test func versionPrintsOneLineWithThePackagesVersion() throws {
        let run = try CLI.run(["--version"])
        #expect(run.status == 0)
        let file = #filePath
        let root = String(file[..<file.range(of: "/Tests/")!.lowerBound])
        let pyproject = try String(contentsOfFile: root + "/python/pyproject.toml", encoding: .utf8)
        let version = try #require(pyproject.split(separator: "\n").first { $0.hasPrefix("version = ") })
            .split(separator: "\"").dropFirst().first
        #expect(run.standardOutput == "datagen \(try #require(version))\n")
    }

    @Test func workersNamesTheThreadsOfEverySubcommandAndJobsIsAHiddenAlias() throws {
        for command in [["cache", "build"], ["cache", "bench"], ["demo"]] {
            let help = try CLI.run(command + ["--help"]).standardOutput
            #expect(help.contains("--workers <workers>"), "\(command)")
            #expect(!help.contains("--jobs"), "\(command)")
        }
        let fixture = try Self.labelledCache(["--jobs", "1"])
        defer { fixture.remove() }
        let other = fixture.directory + "/workers.dgcache"
        #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", other, "--id-suffix", ".txt", "--workers", "2", "--quiet"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == Data(contentsOf: URL(fileURLWithPath: fixture.cache)))
        #expect(try Self.bench(fixture.cache, ["--workers", "1"])["workers"] as? Int == 1)
        #expect(try Self.bench(fixture.cache, ["--jobs", "3"])["workers"] as? Int == 3)
        let both = try CLI.run(["cache", "bench", fixture.cache, "--workers", "1", "--jobs", "1"])
        #expect(both.status == 2)
        #expect(both.standardError.contains("--workers or --jobs"))
        #expect(try CLI.run(["cache", "bench", fixture.cache, "--workers", "-1"]).status == 2)
    }

    /// Serving counts the consumer as a gatherer: one worker fewer than the CPUs the process may
    /// use (not the host's), at least one.
    @Test func defaultServingWorkersAreOneFewerThanTheCPUsTheProcessMayUse() throws {
        let taskset = "/usr/bin/taskset"
        try #require(FileManager.default.isExecutableFile(atPath: taskset), "taskset (util-linux) is needed")
        let fixture = try Self.labelledCache()
        defer { fixture.remove() }
        #expect(try Self.bench(fixture.cache, [], launcher: [taskset, "-c", "0"])["workers"] as? Int == 1)
        // Two CPUs: one worker beside the consumer (a CPU quota of one would give 1 as well).
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            #expect(try Self.bench(fixture.cache, [], launcher: [taskset, "-c", "0,1"])["workers"] as? Int == 1)
        }
        #expect((try Self.bench(fixture.cache, [])["workers"] as? Int ?? 0) >= 1)
    }

    @Test func targetEncodingNamesTheEncodingAndCategoricalIsOnehot() throws {
        let help = try CLI.run(["cache", "build", "--help"]).standardOutput
        #expect(help.contains("--target-encoding <target-encoding>"))
        #expect(!help.contains("--target <"))
        let fixture = try Self.labelledCache(["--target-encoding", "onehot"])
        defer { fixture.remove() }
        let original = try Data(contentsOf: URL(fileURLWithPath: fixture.cache))
        for spelling in [["--target-encoding", "categorical"], ["--target", "onehot"], ["--target", "categorical"]] {
            let other = fixture.directory + "/other.dgcache"
            let run = try CLI.run(["cache", "build", fixture.inventory, "-o", other, "--id-suffix", ".txt", "--quiet", "--force"] + spelling)
            #expect(run.status == 0, "\(spelling): \(run.standardError)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == original, "\(spelling)")
        }
        let both = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--target", "label", "--target-encoding", "label"])
        #expect(both.status == 2)
        let unknown = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--target-encoding", "target"])
        #expect(unknown.status == 2)
        #expect(unknown.standardError.contains("categorical"))
    }

    @Test func showRowsTakesPythonSlicesAndHalfOpenRanges() throws {
        let fixture = try Self.labelledCache()
        defer { fixture.remove() }
        let cases: [(String, [Int])] = [
            ("0:3", [0, 1, 2]), (":3", [0, 1, 2]), ("5:", Array(5..<12)), ("-3:", [9, 10, 11]),
            (":-10", [0, 1]), ("10:100", [10, 11]), ("::5", [0, 5, 10]), ("::-5", [11, 6, 1]), ("4:2", []),
            ("7", [7]), ("-1", [11]), ("0..<3", [0, 1, 2]), ("10..<", [10, 11]),
        ]
        for (selection, rows) in cases {
            #expect(try Self.shownRows(fixture.cache, selection) == rows, "--rows \(selection)")
        }
        let text = try CLI.run(["cache", "show", fixture.cache, "--rows", "-2:"])
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("row 10 (id 'rec10')") && text.standardOutput.contains("row 11 (id 'rec11')"))
    }

    @Test func showRefusesDoubleDotRangesWithAHintAndRowsBeyondTheCache() throws {
        let fixture = try Self.labelledCache()
        defer { fixture.remove() }
        let ambiguous = try CLI.run(["cache", "show", fixture.cache, "--rows", "0..3"])
        #expect(ambiguous.status == 2)
        #expect(ambiguous.standardOutput.isEmpty)
        #expect(ambiguous.standardError.contains("`0..3` is ambiguous; write 0:4 or '0..<4'"))
        for selection in ["0...3", "2..", "three", "1:2:3:4", "1:2:0"] {
            #expect(try CLI.run(["cache", "show", fixture.cache, "--rows", selection]).status == 2, "--rows \(selection)")
        }
        for selection in ["12", "-13", "0..<13"] {
            let beyond = try CLI.run(["cache", "show", fixture.cache, "--rows", selection])
            #expect(beyond.status == 2, "--rows \(selection)")
            #expect(beyond.standardError.split(separator: "\n").count == 1)
            #expect(beyond.standardError.contains("12 rows"))
        }
    }

    @Test func showPrintsClassNamesBesideCodes() throws {
        let label = try Self.labelledCache()
        defer { label.remove() }
        let text = try CLI.run(["cache", "show", label.cache, "--rows", "4"])
        #expect(text.standardOutput.contains("[1] (\"cat_1\")"), "\(text.standardOutput)")
        let rows = try #require(try CacheCommandTests.json(try CLI.run(["cache", "show", label.cache, "--rows", "3:6", "--json"]).standardOutput) as? [[String: Any]])
        #expect(rows.map { $0["label"] as? String } == ["cat_0", "cat_1", "cat_2"])
        #expect(rows.map { ($0["values"] as? [String: [Double]])?["target"] } == [[0], [1], [2]])

        let onehot = try Self.labelledCache(["--target-encoding", "onehot"])
        defer { onehot.remove() }
        let hot = try #require(try CacheCommandTests.json(try CLI.run(["cache", "show", onehot.cache, "--rows", "5", "--json"]).standardOutput) as? [[String: Any]])
        #expect(hot.first?["label"] as? String == "cat_2")

        let numbers = try CacheCommandTests.Fixture(count: 3, suffix: ".txt", labels: { "\($0 * 10)" }) { Data("\($0)\n".utf8) }
        defer { numbers.remove() }
        #expect(try CLI.run(["cache", "build", numbers.inventory, "-o", numbers.cache, "--id-suffix", ".txt", "--target-encoding", "int", "--quiet"]).status == 0)
        let plain = try #require(try CacheCommandTests.json(try CLI.run(["cache", "show", numbers.cache, "--json"]).standardOutput) as? [[String: Any]])
        #expect(plain.count == 3 && plain.allSatisfy { $0["label"] == nil })
    }

    @Test func memoryBudgetTakesUnitsAndABareNumberStaysMiB() throws {
        let fixture = try Self.labelledCache()
        defer { fixture.remove() }
        let cases: [(String, Int)] = [
            ("512MB", 512_000_000), ("2GiB", 2 << 30), ("1.5G", 1_500_000_000), ("300KB", 300_000),
            ("4096B", 4096), ("64kib", 64 << 10), ("44", 44 << 20), ("0", 0),
        ]
        var digests = Set<String>()
        for (text, bytes) in cases {
            let object = try Self.bench(fixture.cache, ["--memory-budget", text])
            #expect(object["memory_budget_bytes"] as? Int == bytes, "--memory-budget \(text)")
            digests.insert(object["digest"] as? String ?? "")
        }
        #expect(digests.count == 1)
        let garbage = try CLI.run(["cache", "bench", fixture.cache, "--memory-budget", "12XB"])
        #expect(garbage.status == 2)
        #expect(garbage.standardError.contains("--memory-budget"))
        #expect(garbage.standardError.contains("'12XB' is not a size"))
    }

    @Test func outputNamingADirectoryIsRefusedBeforeAnyRecordIsRead() throws {
        // The records' files do not exist: reading any would fail naming it instead.
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(",id,target\n0,missing0,a\n1,missing1,b\n".utf8).write(to: URL(fileURLWithPath: directory + "/inventory.csv"))
        for output in [directory, directory + "/"] {
            let run = try CLI.run(["cache", "build", directory + "/inventory.csv", "-o", output])
            #expect(run.status == 1)
            #expect(run.standardError == "datagen: error: cannot write the cache to \(output): it is a directory; name the cache file to write, e.g. \(directory)/train.dgcache\n")
        }
        let missing = try CLI.run(["cache", "build", directory + "/inventory.csv", "-o", directory + "/no/such/c.dgcache"])
        #expect(missing.status == 1)
        #expect(missing.standardError == "datagen: error: cannot write the cache to \(directory)/no/such/c.dgcache: its directory \(directory)/no/such does not exist\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["inventory.csv"])
    }

    @Test func aFinishedBuildLeavesNoSideFiles() throws {
        let fixture = try Self.labelledCache()
        defer { fixture.remove() }
        let leftovers = { try FileManager.default.contentsOfDirectory(atPath: fixture.directory).filter { !$0.hasPrefix("rec") }.sorted() }
        #expect(try leftovers() == ["inventory.csv", "out.dgcache"])
        let again = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".txt"])
        #expect(again.standardError.contains("up to date"))
        #expect(try leftovers() == ["inventory.csv", "out.dgcache"])
    }
}
