import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import DataGenerator

/// The `.dgset` manifest: what writing it checks, what reading it refuses, and the shard errors.
@Suite struct CacheSetManifestTests {
    static let digest = String(repeating: "ab", count: 32)

    /// A valid manifest's text with `shards` entries of `rows` rows (paths `s0.dgcache`…), edited by `edit`.
    static func manifest(rows: [Int] = [2, 0, 3], edit: (inout [String: String]) -> Void = { _ in }) -> String {
        let fingerprints = rows.indices.map { _ in digest }
        var fields = [
            "format": "\"datagen-set\"",
            "version": "1",
            "fingerprint": "\"\(SetManifest.fingerprint(ofShards: fingerprints))\"",
            "rows": "\(rows.reduce(0, +))",
            "schema": #"[{"name":"data","role":"data","encoder":"e@1","dtype":"float32","shape":[2],"variableLength":false}]"#,
            "classes": "null",
            "shards": "[" + rows.enumerated().map { #"{"path":"s\#($0.offset).dgcache","rows":\#($0.element),"fingerprint":"\#(digest)","bytes":100}"# }
                .joined(separator: ",") + "]",
        ]
        edit(&fields)
        return "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    /// The reason `parse` gives for `text`, or nil when it parses.
    static func refusal(_ text: String) -> CacheError? {
        do {
            _ = try SetManifest.parse(Array(text.utf8), path: "x.dgset")
            return nil
        } catch {
            return error
        }
    }

    @Test func aValidManifestParsesAndIgnoresUnknownKeys() throws {
        let manifest = try SetManifest.parse(Array(Self.manifest { $0["later"] = #"{"any": [1]}"# }.utf8), path: "x.dgset")
        #expect(manifest.rows == 5 && manifest.shards.map(\.rows) == [2, 0, 3])
        #expect(manifest.schema.map(\.name) == ["data"] && manifest.classes == nil)
        // Written and read back, the same manifest.
        #expect(try SetManifest.parse(manifest.encoded(), path: "x.dgset") == manifest)
    }

    @Test func theSetFingerprintHashesTheShardsFingerprintsInOrder() {
        // sha256(b"datagen-set-v1\n" + b"ab…ab\n"), as docs/FORMAT.md gives it (Python's hashlib).
        #expect(SetManifest.fingerprint(ofShards: [Self.digest]) == "b54d7be7263a84869e8caca42d7f9651371409fd7ec87131502a1af60bee5474")
        #expect(SetManifest.fingerprint(ofShards: ["a", "b"]) != SetManifest.fingerprint(ofShards: ["b", "a"]))
        #expect(SetManifest.fingerprint(ofShards: ["ab"]) != SetManifest.fingerprint(ofShards: ["a", "b"]))
    }

    @Test(arguments: [
        ("not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        (Self.manifest { $0["format"] = "\"datagen-cache\"" }, "\"format\""),
        (Self.manifest { $0["version"] = "0" }, "\"version\" 0"),
        (Self.manifest { $0["version"] = "\"1\"" }, "\"version\""),
        (Self.manifest { $0["rows"] = "-5" }, "negative"),
        (Self.manifest { $0["rows"] = "6" }, "hold 5 rows"),
        (Self.manifest { $0["rows"] = "5.5" }, "does not fit its integer field"),
        (Self.manifest { $0["rows"] = "1e30" }, "does not fit its integer field"),
        (Self.manifest(rows: [2, -2, 5]), "-2 rows"),
        (Self.manifest { $0["shards"] = "[]"; $0["rows"] = "0"; $0["fingerprint"] = "\"\(SetManifest.fingerprint(ofShards: []))\"" }, "no shards"),
        (Self.manifest { $0["fingerprint"] = "\"\(Self.digest)\"" }, "not the fingerprint of its shards"),
        (Self.manifest { $0["fingerprint"] = "\"ABC\"" }, "lowercase hex"),
        (Self.manifest { $0["shards"] = #"[{"path":"../up.dgcache","rows":5,"fingerprint":"\#(Self.digest)","bytes":1}]"# }, "'..'"),
        (Self.manifest { $0["shards"] = #"[{"path":"/etc/passwd","rows":5,"fingerprint":"\#(Self.digest)","bytes":1}]"# }, "absolute"),
        (Self.manifest { $0["shards"] = #"[{"path":"a/../../b","rows":5,"fingerprint":"\#(Self.digest)","bytes":1}]"# }, "'..'"),
        (Self.manifest { $0["shards"] = #"[{"path":"","rows":5,"fingerprint":"\#(Self.digest)","bytes":1}]"# }, "empty"),
        (Self.manifest { $0["shards"] = #"[{"path":"s.dgcache","rows":5,"fingerprint":"\#(Self.digest)","bytes":-1}]"# }, "-1 bytes"),
        (Self.manifest { $0["shards"] = #"[{"path":"s.dgcache","rows":5,"fingerprint":"\#(Self.digest)"}]"# }, "\"shards[0].bytes\" is missing"),
        (Self.manifest { $0["schema"] = "[]" }, "no columns"),
        (Self.manifest { $0["schema"] = #"[{"name":"d","role":"data","encoder":"e","dtype":"float32","shape":[-1],"variableLength":false}]"# }, "shape"),
        (Self.manifest { $0["schema"] = #"[{"name":"d","role":"data","encoder":"e","dtype":"complex","shape":[],"variableLength":false}]"# }, "\"schema[0].dtype\""),
        (Self.manifest { $0["classes"] = "[1, 2]" }, "\"classes[0]\""),
    ])
    func aHostileManifestIsRefusedNamingTheField(text: String, reason: String) {
        guard case let .invalidSet(path, found)? = Self.refusal(text) else {
            Issue.record("\(text.prefix(80)) gave \(String(describing: Self.refusal(text)))")
            return
        }
        #expect(path == "x.dgset")
        #expect(found.contains(reason), "\(found)")
    }

    @Test func aFileTooLargeForAManifestIsRefusedWithoutReadingIt() throws {
        try CacheFixtures.withDirectory { directory in
            let path = directory + "/huge.dgset"
            try FileIO.write(Array("{".utf8), to: path)
            #expect(truncate(path, 3 << 30) == 0)  // sparse: 3 GiB that were never written
            let error = CacheFixtures.cacheError { _ = try CacheSet(path: path) }
            #expect(error == .invalidSet(path: path, reason: "it holds \(3 << 30) bytes, more than a manifest's \(SetManifest.maxBytes)"))
            #expect(CacheFixtures.cacheError { _ = try CacheSet(path: directory + "/absent.dgset") }
                    == .io(path: directory + "/absent.dgset", operation: "read", errno: ENOENT))
        }
    }

    @Test func aNewerVersionIsRefusedNamingIt() {
        let error = Self.refusal(Self.manifest { $0["version"] = "7"; $0["shards"] = "\"whatever a later version holds\"" })
        #expect(error == .unsupportedVersion(path: "x.dgset", found: 7, supported: 1))
        #expect(error?.description == "x.dgset has set manifest version 7 (this reader reads 1)")
    }

    @Test func creatingASetRefusesShardsThatDisagreeOrLieOutsideItsFolder() throws {
        try CacheFixtures.withDirectory { directory in
            _ = try SetFixtures.build(in: directory)
            let shards = (0..<4).map { directory + "/shard-\($0).dgcache" }
            // Other classes: a shard fitted on its own rows.
            let alone = try SetFixtures.dataSet().subset(rows: 0..<2)
            var fitted = alone
            try fitted.fitEncoders()
            _ = try CacheBuilder(dataSet: fitted, output: directory + "/alone.dgcache",
                                 options: CacheBuildOptions(onError: .skip)).build()
            let differs = CacheFixtures.cacheError { try CacheSet.create(at: directory + "/bad.dgset", shards: shards + [directory + "/alone.dgcache"]) }
            #expect(differs?.description.contains("shard 4 (\(directory)/alone.dgcache) has other label classes than shard 0") == true, "\(String(describing: differs))")
            #expect(!WritableFile.exists(directory + "/bad.dgset"))
            // Outside the folder, listed twice, none, and a corrupt shard named.
            #expect(mkdir(directory + "/sub", 0o755) == 0)
            let outside = CacheFixtures.cacheError { try CacheSet.create(at: directory + "/sub/s.dgset", shards: [shards[0]]) }
            #expect(outside?.description.contains("does not lie inside the manifest's folder") == true)
            let twice = CacheFixtures.cacheError { try CacheSet.create(at: directory + "/t.dgset", shards: [shards[0], directory + "/./shard-0.dgcache"]) }
            #expect(twice?.description.contains("is shard 0 again") == true)
            #expect(CacheFixtures.cacheError { try CacheSet.create(at: directory + "/n.dgset", shards: []) } == .invalidOption("a cache set needs at least one shard"))
            var bytes = try FileIO.readAll(shards[2])
            bytes[80] ^= 0xFF
            try FileIO.write(bytes, to: directory + "/broken.dgcache")
            let corrupt = CacheFixtures.cacheError { try CacheSet.create(at: directory + "/c.dgset", shards: [shards[0], directory + "/broken.dgcache"]) }
            guard case let .shard(set, index, path, _)? = corrupt else { Issue.record("\(String(describing: corrupt))"); return }
            #expect(set == directory + "/c.dgset" && index == 1 && path == directory + "/broken.dgcache")
        }
    }

    @Test func aMissingReplacedOrCorruptShardIsNamedWhenItsRowsAreFirstRead() throws {
        try CacheFixtures.withDirectory { directory in
            let (wholePath, setPath) = try SetFixtures.build(in: directory)
            let options = BatchOptions(batchSize: 10, epochs: 1)
            // Shards open lazily: a set opens with a shard missing, and fails when its rows are read.
            try WritableFile.rename(directory + "/shard-2.dgcache", to: directory + "/moved.dgcache")
            let set = try CacheSet(path: setPath)
            #expect(!(0..<4).contains { set.isOpen(shard: $0) })
            let served = try CachedDataSet(set: set)
            #expect(set.isOpen(shard: 0) && !set.isOpen(shard: 2))
            let missing = CacheFixtures.cacheError { _ = try served.batches(options).collect() }
            #expect(missing == .shard(set: setPath, index: 2, path: directory + "/shard-2.dgcache",
                                      error: .io(path: directory + "/shard-2.dgcache", operation: "open", errno: ENOENT)))
            #expect(missing!.description.hasSuffix("; restore it, or rebuild it with --shard K/N and rerun `datagen cache set create`"))
            // Replaced: another cache under the shard's name.
            try WritableFile.rename(wholePath, to: directory + "/shard-2.dgcache")
            let replaced = CacheFixtures.cacheError { _ = try CachedDataSet(path: setPath).batches(options).collect() }
            guard case let .shard(_, 2, _, .stale(_, differences))? = replaced else { Issue.record("\(String(describing: replaced))"); return }
            #expect(differences.contains { $0.hasPrefix("its fingerprint is ") })
            let said = replaced!.description
            #expect(said.hasPrefix("\(setPath): shard 2 (\(directory)/shard-2.dgcache): it was replaced since the set was written (its size"), "\(said)")
            #expect(said.components(separatedBy: "replaced since").count == 2, "says it once: \(said)")
            #expect(said.hasSuffix("); restore it, or rebuild it with --shard K/N and rerun `datagen cache set create`"), "\(said)")
            // Corrupt: the shard's own error, wrapped naming the shard.
            var bytes = try FileIO.readAll(directory + "/moved.dgcache")
            let trailer = bytes.count - 64
            bytes[trailer] ^= 0x01  // the index offset: the cache is refused at open
            try FileIO.write(bytes, to: directory + "/shard-2.dgcache")
            let corrupt = CacheFixtures.cacheError { _ = try CachedDataSet(path: setPath).batches(options).collect() }
            guard case let .shard(_, 2, path, inner)? = corrupt else { Issue.record("\(String(describing: corrupt))"); return }
            #expect(path == directory + "/shard-2.dgcache")
            #expect(inner != .io(path: path, operation: "open", errno: ENOENT))
            #expect(corrupt!.description.hasPrefix("\(setPath): shard 2 (\(path)): "))
            // verify() names the bad shard too.
            let verified = CacheFixtures.cacheError { _ = try CacheSet(path: setPath).verify() }
            guard case .shard(_, 2, _, _)? = verified else { Issue.record("\(String(describing: verified))"); return }
            // Corrupt in a unit (found by its checksum while serving): named the same way, of the same kind.
            var damaged = try FileIO.readAll(directory + "/moved.dgcache")
            let unit = try CacheFile(path: directory + "/moved.dgcache").stores[0].unit(0)
            damaged[Int(unit.offset) + 1] ^= 0xFF
            try FileIO.write(damaged, to: directory + "/shard-2.dgcache")
            let served2 = CacheFixtures.cacheError { _ = try CachedDataSet(path: setPath).batches(options).collect() }
            guard case let .shard(_, 2, unitPath, .checksumMismatch(checked, _, _, _))? = served2 else {
                Issue.record("\(String(describing: served2))"); return
            }
            #expect(unitPath == directory + "/shard-2.dgcache" && checked == unitPath)
            #expect(served2!.description.hasPrefix("\(setPath): shard 2 (\(unitPath)): \(unitPath): checksum mismatch"), "\(served2!)")
        }
    }

    @Test func shardsBelowTheManifestsFolderAreRecordedRelativeToItAndTheFolderMoves() throws {
        try CacheFixtures.withDirectory { directory in
            let (_, setPath) = try SetFixtures.build(in: directory)
            #expect(mkdir(directory + "/set", 0o755) == 0 && mkdir(directory + "/set/parts", 0o755) == 0)
            for index in 0..<4 {
                try WritableFile.rename(directory + "/shard-\(index).dgcache", to: directory + "/set/parts/shard-\(index).dgcache")
            }
            // Given through a detour (`parts/../parts`), recorded as the plain relative path.
            let created = try CacheSet.create(at: directory + "/set/all.dgset",
                                              shards: (0..<4).map { directory + "/set/parts/../parts/shard-\($0).dgcache" })
            #expect(created.manifest.shards.map(\.path) == (0..<4).map { "parts/shard-\($0).dgcache" })
            #expect(created.fingerprint == (try CacheSet(path: setPath)).fingerprint)
            // The whole folder moved: the set still opens and serves every row.
            try WritableFile.rename(directory + "/set", to: directory + "/moved")
            let moved = try CachedDataSet(path: directory + "/moved/all.dgset")
            #expect(try moved.batches(BatchOptions(batchSize: 4, epochs: 1, truncate: false)).collect().map(\.rows.count) == [4, 4, 2])
        }
    }

    @Test func aSymlinkedShardIsFollowedAndCheckedLikeAnyShard() throws {
        try CacheFixtures.withDirectory { directory in
            let (wholePath, setPath) = try SetFixtures.build(in: directory)
            let expected = try SetFixtures.digest(try CachedDataSet(path: wholePath), BatchOptions(batchSize: 3, epochs: 1, order: .full, seed: 2))
            // A shard moved to another folder, a link left in its place: served as before.
            #expect(mkdir(directory + "/elsewhere", 0o755) == 0)
            try WritableFile.rename(directory + "/shard-3.dgcache", to: directory + "/elsewhere/shard-3.dgcache")
            #expect(symlink(directory + "/elsewhere/shard-3.dgcache", directory + "/shard-3.dgcache") == 0)
            let served = try CachedDataSet(path: setPath)
            #expect(try SetFixtures.digest(served, BatchOptions(batchSize: 3, epochs: 1, order: .full, seed: 2)) == expected)
            // A set created over the link records the link's name.
            let relinked = try CacheSet.create(at: directory + "/linked.dgset", shards: (0..<4).map { directory + "/shard-\($0).dgcache" })
            #expect(relinked.manifest.shards[3].path == "shard-3.dgcache")
            // A link to another cache is refused as replaced.
            #expect(unlink(directory + "/shard-3.dgcache") == 0)
            #expect(symlink(directory + "/shard-0.dgcache", directory + "/shard-3.dgcache") == 0)
            let replaced = CacheFixtures.cacheError { _ = try CachedDataSet(path: setPath).batches(BatchOptions(batchSize: 10, epochs: 1)).collect() }
            guard case .shard(_, 3, _, .stale)? = replaced else { Issue.record("\(String(describing: replaced))"); return }
        }
    }

    @Test func aSetOpensInMemoryOfItsShardsNotItsRows() throws {
        // 2,000 shards of a billion rows each: parsing needs no shard and no per-row memory.
        let count = 2_000
        let shards = (0..<count).map { SetManifest.Shard(path: "p/s\($0).dgcache", rows: 1_000_000_000, fingerprint: Self.digest, bytes: 1) }
        let schema = [SetColumn(try #require(SetManifest.parse(Array(Self.manifest().utf8), path: "x").schema.first))]
        let manifest = SetManifest(schema: schema, classes: ["a"], shards: shards)
        let parsed = try SetManifest.parse(manifest.encoded(), path: "big.dgset")
        let set = CacheSet(path: "dir/big.dgset", manifest: parsed)
        #expect(set.rowCount == 2_000_000_000_000)
        #expect(try set.locate(row: 1_999_999_999_999) == (1_999, 999_999_999))
        #expect(try set.locate(row: 1_000_000_000) == (1, 0))
        #expect(set.shardPath(7) == "dir/p/s7.dgcache")
        #expect(throws: CacheError.rowOutOfRange(row: -1, count: 2_000_000_000_000)) { try set.locate(row: -1) }
    }
}

extension SetColumn {
    /// A copy (the test builds a schema from a parsed one).
    init(_ column: SetColumn) { self = column }
}
