// Cache sets at scale: how long a manifest of 1,000 shards takes to open and what it holds in
// memory, and the same for a set of 10^8 rows. Every measurement runs in a fresh process (this
// executable again, `set-open measure MANIFEST`), so that the builds' memory and caches of open
// files do not count.
//
//   datagen-bench set-open [DIR]     (default DIR: /tmp/datagen-set-bench, removed at the end)

import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

func runSetOpenBenchmark(arguments: [String]) throws {
    if arguments.first == "measure", arguments.count >= 2 {
        try measureSetOpen(manifest: arguments[1], batches: arguments.count > 2 ? Int(arguments[2]) ?? 0 : 0)
        return
    }
    let directory = arguments.first ?? "/tmp/datagen-set-bench"
    _ = system("rm -rf '\(directory)'")
    guard mkdir(directory, 0o755) == 0, mkdir(directory + "/thousand", 0o755) == 0,
          mkdir(directory + "/hundred-million", 0o755) == 0 else {
        throw CacheError.invalidOutput(path: directory, reason: "cannot create it")
    }
    defer { _ = system("rm -rf '\(directory)'") }

    // 1,000 distinct shards: an inventory of 100,000 records cut as `--shard K/1000`, each built.
    let records = 100_000, shards = 1_000
    let dataSet = try setBenchDataSet(records: records)
    var start = monotonicSeconds()
    var paths = [String]()
    for index in 0..<shards {
        let path = directory + "/thousand/part-\(index).dgcache"
        let rows = (index * records / shards)..<((index + 1) * records / shards)
        _ = try CacheBuilder(dataSet: try dataSet.subset(rows: rows), output: path,
                             options: CacheBuildOptions(workers: 0)).build()
        paths.append(path)
    }
    let built = monotonicSeconds() - start
    start = monotonicSeconds()
    try CacheSet.create(at: directory + "/thousand/thousand.dgset", shards: paths)
    let created = monotonicSeconds() - start
    print("1,000 shards of 100 rows (uint8[16] + int64 label): built in \(format3(built)) s; `cache set create` (verifies every shard) \(format3(created)) s")
    try runMeasurement(directory + "/thousand/thousand.dgset", batches: 0)
    // The single file of the same 100,000 rows, for the epoch's rate.
    _ = try CacheBuilder(dataSet: dataSet, output: directory + "/thousand/whole.dgcache", options: CacheBuildOptions(workers: 2)).build()
    print("the single file of the same rows:")
    try runMeasurement(directory + "/thousand/whole.dgcache", batches: 0)

    // 10^8 rows: one shard of 10^5 rows, hard-linked 1,000 times (the manifest cannot tell).
    let big = try setBenchDataSet(records: 100_000)
    let first = directory + "/hundred-million/part-0.dgcache"
    _ = try CacheBuilder(dataSet: big, output: first, options: CacheBuildOptions(workers: 2)).build()
    var links = [first]
    for index in 1..<1_000 {
        let path = directory + "/hundred-million/part-\(index).dgcache"
        guard link(first, path) == 0 else { throw CacheError.io(path: path, operation: "link", errno: errno) }
        links.append(path)
    }
    start = monotonicSeconds()
    try CacheSet.create(at: directory + "/hundred-million/hundred-million.dgset", shards: links)
    print("10^8 rows: 1,000 links to one 100,000-row shard (\(try CacheFile(path: first).fileSize) bytes); `cache set create` \(format3(monotonicSeconds() - start)) s")
    try runMeasurement(directory + "/hundred-million/hundred-million.dgset", batches: 100)
}

/// `records` records whose data is 16 bytes keyed on the id and whose label is one of 10 classes.
private func setBenchDataSet(records: Int) throws -> GeneratorDataSet {
    let inventory = try Inventory(columns: [("id", (0..<records).map { "r\($0)" }),
                                            ("label", (0..<records).map { String($0 % 10) })])
    let bytes = ClosureEncoder(identity: "set-bench@1", output: ArraySpec(.uint8, [16])) { record in
        var state = UInt64(Int(record.id!.dropFirst())!) &* 0x9E37_79B9_7F4A_7C15 | 1
        return try NDArray(dtype: .uint8, shape: [16], bytes: (0..<16).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state & 0x0F)
        })
    }
    var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: [bytes], targetEncoder: RecordTargetEncoder.label(column: "label"))
    try dataSet.fitEncoders()
    return dataSet
}

/// Runs `measure` in a fresh process of this executable.
private func runMeasurement(_ manifest: String, batches: Int) throws {
    fflush(nil)
    let status = system("'\(CommandLine.arguments[0])' set-open measure '\(manifest)' \(batches)")
    guard status == 0 else { throw CacheError.invalidOption("the measurement of \(manifest) failed (\(status))") }
}

/// Opens `manifest` and reports the time and anonymous memory of each step: the manifest, a
/// data set over it, a row of every shard (every shard opened),
/// and a run of `batches` full-order batches of 256 (or one epoch when 0).
private func measureSetOpen(manifest: String, batches: Int) throws {
    if !CacheSet.isManifest(manifest) {
        var served = try CachedDataSet(path: manifest)
        served.memoryBudget = 256 << 20
        try serve(served, batches: batches, memory: try setBenchMemory())
        return
    }
    let before = try setBenchMemory()
    var start = monotonicSeconds()
    let set = try CacheSet(path: manifest)
    let opened = monotonicSeconds() - start
    let afterOpen = try setBenchMemory()
    print("  open the manifest (\(set.shardCount) shards, \(set.rowCount) rows): \(format3(opened * 1000)) ms, RssAnon +\(mebibytes(afterOpen.anonymous - before.anonymous)) MiB (\(mebibytes(afterOpen.anonymous)) MiB in all)")
    start = monotonicSeconds()
    var served = try CachedDataSet(set: set)
    served.memoryBudget = 256 << 20
    let dataSetSeconds = monotonicSeconds() - start
    let afterDataSet = try setBenchMemory()
    print("  + CachedDataSet over it (opens shard 0; all rows kept as a count): \(format3(dataSetSeconds * 1000)) ms, RssAnon +\(mebibytes(afterDataSet.anonymous - afterOpen.anonymous)) MiB")
    start = monotonicSeconds()
    for index in 0..<set.shardCount { _ = try set.row(set.rows(ofShard: index).lowerBound) }
    let everyShard = monotonicSeconds() - start
    let afterShards = try setBenchMemory()
    print("  + one row of every shard (every shard opened and checked, \(afterShards.mappings) mappings): \(format3(everyShard * 1000)) ms, RssAnon +\(mebibytes(afterShards.anonymous - afterDataSet.anonymous)) MiB")
    try serve(served, batches: batches, memory: afterShards)
}

/// Serves `batches` full-order batches of 256 through the lending path (or, when 0, a first
/// epoch and then a steady one), and reports their time, rate and memory.
private func serve(_ served: CachedDataSet, batches: Int, memory: (anonymous: Int, mappings: Int)) throws {
    for epoch in 0..<(batches == 0 ? 2 : 1) {
        let options = BatchOptions(batchSize: 256, epochs: 1, order: .full, seed: 1, startEpoch: epoch, workers: 2)
        var digest = BatchDigest()
        var count = 0
        let start = monotonicSeconds()
        try served.forEachBatch(options) { batch in
            digest.add(batch)
            count += 1
            return batches == 0 || count < batches
        }
        let serving = monotonicSeconds() - start
        let afterServing = try setBenchMemory()
        let what = batches == 0 ? (epoch == 0 ? "first epoch" : "steady epoch") : "of \(try served.batchesPerEpoch(options)) in the epoch"
        print("  + \(count) full-order batches of 256 (\(what)): \(format3(serving * 1000)) ms, \(format3(Double(count * 256) / serving)) rows/s, RssAnon +\(mebibytes(afterServing.anonymous - memory.anonymous)) MiB (\(mebibytes(afterServing.anonymous)) MiB in all), digest \(digest.hexDigest().prefix(16))…")
        fflush(nil)
    }
}

private func mebibytes(_ bytes: Int) -> String { format3(Double(bytes) / Double(1 << 20)) }

/// `RssAnon` of this process in bytes, and its number of memory mappings.
private func setBenchMemory() throws -> (anonymous: Int, mappings: Int) {
    func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var text = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            text += chunk[..<count]
        }
        return String(decoding: text, as: UTF8.self)
    }
    var anonymous = 0
    for line in read("/proc/self/status").split(separator: "\n") where line.hasPrefix("RssAnon:") {
        anonymous = (Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) ?? 0) * 1024
    }
    return (anonymous, read("/proc/self/maps").split(separator: "\n").count)
}
