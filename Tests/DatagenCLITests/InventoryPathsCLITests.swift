import Foundation
import Testing

/// Inventories as users write them, through the binary: paths as given (or confined with
/// `--confine-to-data-dir`), `--from-folders` and `--classes-from`, and errors naming records by
/// row and CSV line.
@Suite struct InventoryPathsCLITests {
    /// A scratch folder: `data/` with `a.txt`, `outside/o.txt` beside it, and `data/link` → `../outside`.
    struct Scratch {
        let directory: String
        var data: String { directory + "/data" }

        init() throws {
            directory = try CLI.temporaryDirectory()
            try FileManager.default.createDirectory(atPath: directory + "/data/sub", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: directory + "/outside", withIntermediateDirectories: true)
            try write("1 2 3\n", "data/a.txt")
            try write("4 5 6\n", "outside/o.txt")
            try FileManager.default.createSymbolicLink(atPath: directory + "/data/link", withDestinationPath: "../outside")
        }

        func write(_ text: String, _ path: String) throws {
            let url = URL(fileURLWithPath: directory + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        /// `cache show FILE --json`'s ids, the first value of each row's data and its target (the
        /// first 5 rows, all that these caches hold).
        func shown(_ cache: String) throws -> [(id: String, first: Double, target: Double?)] {
            let run = try CLI.run(["cache", "show", cache, "--json"])
            #expect(run.status == 0, "\(run.standardError)")
            let rows = try #require(try CacheCommandTests.json(run.standardOutput) as? [[String: Any]])
            return rows.map { row in
                let values = row["values"] as? [String: Any]
                return (row["id"] as? String ?? "", (values?["data"] as? [Double])?.first ?? .nan,
                        (values?["target"] as? [Double])?.first)
            }
        }
    }

    @Test func absoluteParentAndSymlinkedFolderIdsAreReadAsGiven() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let ids = ["a.txt", "../outside/o.txt", scratch.directory + "/outside/o.txt", "link/o.txt", "sub/../a.txt"]
        try scratch.write("id,target\n" + ids.map { "\($0),x\n" }.joined(), "data/inventory.csv")
        let cache = scratch.directory + "/out.dgcache"
        let run = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", cache, "--shape", "3", "--quiet"])
        #expect(run.status == 0, "\(run.standardError)")
        let rows = try scratch.shown(cache)
        #expect(rows.map(\.id) == ids)
        #expect(rows.map(\.first) == [1, 4, 4, 4, 1])
    }

    @Test func confineToDataDirRefusesEachOutsideIdNamingRowLineAndTheWayOut() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for outside in ["../outside/o.txt", scratch.directory + "/outside/o.txt", "link/o.txt", "sub/../../outside/o.txt"] {
            try scratch.write("id,target\na.txt,x\n\"\(outside)\",y\n", "data/inventory.csv")
            let cache = scratch.directory + "/out.dgcache"
            let run = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", cache, "--shape", "3",
                                   "--confine-to-data-dir", "--quiet"])
            #expect(run.status == 1, "\(outside): \(run.standardError)")
            #expect(run.standardError.contains("row 1 (line 3), id '\(outside)'"), "\(run.standardError)")
            #expect(run.standardError.contains("outside the data directory"), "\(run.standardError)")
            #expect(run.standardError.contains("drop --confine-to-data-dir"), "\(run.standardError)")
            #expect(run.standardError.contains("--on-error skip"), "\(run.standardError)")
            #expect(!FileManager.default.fileExists(atPath: cache))
            let skipped = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", cache, "--shape", "3",
                                       "--confine-to-data-dir", "--on-error", "skip", "--quiet"])
            #expect(skipped.status == 0, "\(skipped.standardError)")
            #expect(try scratch.shown(cache).map(\.id) == ["a.txt"])
            try FileManager.default.removeItem(atPath: cache)
        }
    }

    @Test func benchUncachedTakesConfineToDataDir() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("id,target\na.txt,x\n../outside/o.txt,y\n", "data/inventory.csv")
        let inventory = scratch.data + "/inventory.csv", cache = scratch.directory + "/out.dgcache"
        #expect(try CLI.run(["cache", "build", inventory, "-o", cache, "--shape", "3", "--quiet"]).status == 0)
        let common = ["cache", "bench", cache, "--uncached", inventory, "--shape", "3", "--batch-size", "2", "--epochs", "1", "--json"]
        let asGiven = try CLI.run(common)
        #expect(asGiven.status == 0, "\(asGiven.standardError)")
        let confined = try CLI.run(common + ["--confine-to-data-dir"])
        #expect(confined.status == 1)
        #expect(confined.standardError.contains("outside the data directory"), "\(confined.standardError)")
    }

    @Test func aMissingFileNamesRowAndLineAndTheSkipOption() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("id,target\na.txt,x\n\"a.txt\n\",y\nmissing.txt,x\n", "data/inventory.csv")
        try scratch.write("7 8 9\n", "data/a.txt\n")
        let run = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", scratch.directory + "/out.dgcache",
                               "--shape", "3", "--quiet"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("row 2 (line 5), id 'missing.txt'"), "\(run.standardError)")
        #expect(run.standardError.contains("not found"), "\(run.standardError)")
        #expect(run.standardError.contains("(use --on-error skip"), "\(run.standardError)")
    }

    @Test func aBadFirstRecordIsLeftToTheErrorPolicy() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("id,target\nmissing.txt,x\na.txt,y\n", "data/inventory.csv")
        let cache = scratch.directory + "/out.dgcache"
        for shape in [["--shape", "3"], []] {
            let failed = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", cache, "--quiet"] + shape)
            #expect(failed.status == 1)
            #expect(failed.standardError.contains("row 0 (line 2), id 'missing.txt'"), "\(failed.standardError)")
            #expect(failed.standardError.contains("(use --on-error skip"), "\(failed.standardError)")
            let skipped = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", cache, "--on-error", "skip", "--quiet"] + shape)
            #expect(skipped.status == 0, "\(skipped.standardError)")
            #expect(try scratch.shown(cache).map(\.id) == ["a.txt"])
            try FileManager.default.removeItem(atPath: cache)
        }
    }

    @Test func anEmptyLabelNamesItsLine() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("id,target\na.txt,x\nsub/../a.txt,\n", "data/inventory.csv")
        let run = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", scratch.directory + "/out.dgcache",
                               "--shape", "3", "--quiet"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("row 1 (line 3), id 'sub/../a.txt'"), "\(run.standardError)")
        #expect(run.standardError.contains("label in column 'target' is empty"), "\(run.standardError)")
    }

    @Test func aHeaderOnlyInventorySaysNoRecords() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("id,target\n", "data/inventory.csv")
        let run = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "-o", scratch.directory + "/out.dgcache", "--quiet"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("\(scratch.data)/inventory.csv holds no records"), "\(run.standardError)")
        #expect(run.standardError.split(separator: "\n").count == 1)
    }

    @Test func fromFoldersBuildsImageFolderLayoutsAndClassesFromKeepsCodes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for (path, text) in [("train/dog/b.txt", "2 0 0"), ("train/dog/a.txt", "1 0 0"), ("train/cat/c.txt", "3 0 0"),
                             ("train/cat/.DS_Store", "junk"), ("train/.cache/x.txt", "9 9 9"), ("train/notes.txt", "9 9 9"),
                             ("val/dog/v.txt", "5 0 0")] {
            try scratch.write(text, path)
        }
        let train = scratch.directory + "/train.dgcache", val = scratch.directory + "/val.dgcache"
        let built = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/train", "-o", train, "--shape", "3", "--quiet"])
        #expect(built.status == 0, "\(built.standardError)")
        let rows = try scratch.shown(train)
        #expect(rows.map(\.id) == ["cat/c.txt", "dog/a.txt", "dog/b.txt"])
        #expect(rows.map(\.first) == [3, 1, 2])
        #expect(rows.map(\.target) == [0, 1, 1])
        let info = try #require(try CacheCommandTests.json(try CLI.run(["cache", "info", train, "--json"]).standardOutput) as? [String: Any])
        #expect(info["classes"] as? [String] == ["cat", "dog"])
        // Alone, the validation folder would make dog class 0; with the training classes it stays 1.
        let validation = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/val", "-o", val, "--shape", "3",
                                      "--classes-from", train, "--quiet"])
        #expect(validation.status == 0, "\(validation.standardError)")
        #expect(try scratch.shown(val).map(\.target) == [1])
        try scratch.write("dog\ncat\n", "classes.txt")
        let listed = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/val", "-o", val, "--shape", "3",
                                  "--classes-from", scratch.directory + "/classes.txt", "--force", "--quiet"])
        #expect(listed.status == 0, "\(listed.standardError)")
        #expect(try scratch.shown(val).map(\.target) == [0])
        try scratch.write("6 0 0", "val/bird/w.txt")
        let unknown = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/val", "-o", val, "--shape", "3",
                                   "--classes-from", train, "--quiet"])
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("row 0 (id 'bird/w.txt')"), "\(unknown.standardError)")
        #expect(unknown.standardError.contains("label 'bird'") && unknown.standardError.contains("cat, dog"), "\(unknown.standardError)")
    }

    @Test func fromFoldersServesEveryFormat() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let npy = CacheCommandTests.npy([1, 2], shape: [2])
        try FileManager.default.createDirectory(atPath: scratch.directory + "/n/x", withIntermediateDirectories: true)
        try npy.write(to: URL(fileURLWithPath: scratch.directory + "/n/x/a.npy"))
        try scratch.write("héllo", "u/x/a.txt")
        try scratch.write("ab", "r/x/a.bin")
        for (folder, extra) in [("n", ["--data", "npy"]), ("u", ["--data", "utf8"]), ("r", ["--data", "raw", "--shape", "2"])] {
            let cache = scratch.directory + "/\(folder).dgcache"
            let run = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/" + folder, "-o", cache, "--quiet"] + extra)
            #expect(run.status == 0, "\(folder): \(run.standardError)")
            #expect(try scratch.shown(cache).count == 1, "\(folder)")
        }
    }

    @Test func fromFoldersWithoutALabelTargetIgnoresTheFolderClassesButRefusesClassesFrom() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("1 2 3", "train/7/a.txt")
        try scratch.write("cat\n", "classes.txt")
        let cache = scratch.directory + "/out.dgcache"
        let numbers = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/train", "-o", cache, "--shape", "3",
                                   "--target-encoding", "int", "--quiet"])
        #expect(numbers.status == 0, "\(numbers.standardError)")
        #expect(try scratch.shown(cache).map(\.target) == [7])
        let refused = try CLI.run(["cache", "build", "--from-folders", scratch.directory + "/train", "-o", cache, "--shape", "3",
                                   "--target-encoding", "int", "--classes-from", scratch.directory + "/classes.txt", "--force"])
        #expect(refused.status == 2)
        #expect(refused.standardError.contains("--classes-from \(scratch.directory)/classes.txt fixes label classes"), "\(refused.standardError)")
    }

    @Test func theInventoryArgumentAndFromFoldersAreExclusiveUsageErrors() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("id,target\na.txt,x\n", "data/inventory.csv")
        let neither = try CLI.run(["cache", "build", "-o", scratch.directory + "/out.dgcache"])
        #expect(neither.status == 2)
        #expect(neither.standardError.contains("give the inventory CSV or --from-folders DIR"), "\(neither.standardError)")
        let both = try CLI.run(["cache", "build", scratch.data + "/inventory.csv", "--from-folders", scratch.data,
                                "-o", scratch.directory + "/out.dgcache"])
        #expect(both.status == 2)
        #expect(both.standardError.contains("not both"), "\(both.standardError)")
        let help = try CLI.run(["cache", "build", "--help"])
        for option in ["--from-folders", "--classes-from", "--confine-to-data-dir"] {
            #expect(help.standardOutput.contains(option), "help lacks \(option)")
        }
    }
}
