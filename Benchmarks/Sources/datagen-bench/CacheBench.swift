import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The cache file against the uncached data set and plain memory, in one release run:
///
/// * build throughput against one uncached epoch over the same MNIST-like rows (60,000 ×
///   float32[784] generated in memory by a `ClosureEncoder`: about 80% zero pixels, soft strokes);
/// * compression ratio of the lz4 and lz4hc caches against the raw bytes, beside `lz4 -1` on the
///   same raw bytes as one file (when the `lz4` tool is installed);
/// * open time of that cache and of a 1,000,000-row cache;
/// * gather of random batches of 128 rows (rows/s, GB/s) against a `memcpy` gather of the same
///   rows from an in-memory array.
///
///     datagen-bench cache [rows=60000] [batches=4000] [openRows=1000000]
func runCacheBenchmark(arguments: [String]) throws {
    let rows = arguments.count > 0 ? Int(arguments[0]) ?? 60_000 : 60_000
    let batches = arguments.count > 1 ? Int(arguments[1]) ?? 4_000 : 4_000
    let openRows = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
    let directory = makeBenchDirectory("cache")
    defer { removeBenchDirectory(directory) }

    let workload = try DigitsWorkload(rows: rows)
    let dataSet = try workload.dataSet(workload.floatPixels)
    print("\(rows) MNIST-like rows, float32[784], \(processorCount) cores")

    // One uncached epoch (data and targets, all cores) against the build (all cores).
    let epochSeconds = try measure {
        let cursor = try dataSet.batches(size: 128, epochs: 1, truncate: false, workers: processorCount)
        while try cursor.next() != nil {}
    }
    let path = directory + "/digits.dgcache"
    var report: CacheBuildReport?
    let buildSeconds = try measure { report = try CacheBuilder(dataSet: dataSet, output: path).build() }
    let hcPath = directory + "/digits-hc.dgcache"
    var hcReport: CacheBuildReport?
    let hcSeconds = try measure {
        hcReport = try CacheBuilder(dataSet: dataSet, output: hcPath, options: CacheBuildOptions(codec: .lz4hc)).build()
    }
    print("uncached epoch: \(format3(epochSeconds)) s (\(Int(Double(rows) / epochSeconds)) rows/s)")
    print("build lz4:      \(format3(buildSeconds)) s (\(Int(Double(rows) / buildSeconds)) rows/s); build / epoch time = \(format3(buildSeconds / epochSeconds))")
    print("build lz4hc:    \(format3(hcSeconds)) s (\(Int(Double(rows) / hcSeconds)) rows/s); build / epoch time = \(format3(hcSeconds / epochSeconds))")

    // Compression of the data column.
    let cache = try CacheFile(path: path)
    let data = try cache.column(named: "data")
    let hcData = try CacheFile(path: hcPath).column(named: "data")
    let ratio = Double(data.rawBytes) / Double(data.storedBytes)
    print("data column: raw \(data.rawBytes) B, lz4 units \(data.storedBytes) B (ratio \(format3(ratio))), lz4hc units \(hcData.storedBytes) B (ratio \(format3(Double(hcData.rawBytes) / Double(hcData.storedBytes))))")
    print("whole files: lz4 \(cache.fileSize) B, lz4hc \(hcReport.map { _ in (try? CacheFile(path: hcPath).fileSize) ?? 0 } ?? 0) B; build statistics ratio \(format3(report?.statistics.compressionRatio ?? 0))")
    let matrix = try cache.gather(column: "data", rows: 0..<rows)
    let rawPath = directory + "/digits.raw"
    try writeFile(matrix.bytes, to: rawPath)
    if system("command -v lz4 >/dev/null 2>&1") == 0, system("lz4 -1 -q -f '\(rawPath)' '\(rawPath).lz4'") == 0 {
        let size = fileSize(rawPath + ".lz4")
        print("lz4 -1 on the raw bytes as one file: \(size) B (ratio \(format3(Double(data.rawBytes) / Double(size)))); units / whole file ratio = \(format3(ratio / (Double(data.rawBytes) / Double(size))))")
    } else {
        print("lz4 tool not installed: no whole-file comparison")
    }

    // Open times.
    let open = try median(of: 21) { _ = try CacheFile(path: path) }
    print("open \(rows)-row cache: \(format3(open * 1000)) ms (median of 21)")
    if openRows > 0 {
        let bigPath = directory + "/rows.dgcache"
        let big = try GeneratorDataSet(
            inventory: Inventory(columns: [("id", (0..<openRows).map { "row\($0)" })]),
            dataEncoder: ClosureEncoder(identity: "row-bytes@1", output: ArraySpec(.uint8, [256])) { record in
                var bytes = [UInt8](repeating: 0, count: 256)
                bytes[record.row % 256] = UInt8(truncatingIfNeeded: record.row)
                return try NDArray(dtype: .uint8, shape: [256], bytes: bytes)
            })
        let bigBuild = try measure { _ = try CacheBuilder(dataSet: big, output: bigPath).build() }
        let bigOpen = try median(of: 21) { _ = try CacheFile(path: bigPath) }
        let bigCache = try CacheFile(path: bigPath)
        print("open \(openRows)-row cache (\(bigCache.columns[0].unitCount) units, \(bigCache.fileSize) B, built in \(format3(bigBuild)) s): \(format3(bigOpen * 1000)) ms (median of 21)")
    }

    // Random gathers of 128 rows: cache against memcpy from memory.
    let batchRows = 128
    var random = UInt64(0x2545_F491_4F6C_DD1D)
    let indices: [Int] = (0..<(batches * batchRows)).map { _ in
        random ^= random << 13; random ^= random >> 7; random ^= random << 17
        return Int(random % UInt64(rows))
    }
    let rowBytes = 784 * 4
    var output = [UInt8](repeating: 0, count: batchRows * rowBytes)
    let source = matrix.bytes
    _ = try gatherFromCache(cache, indices: indices, batchRows: batchRows, into: &output)  // warm-up
    let cached = try median(of: 5) { _ = try gatherFromCache(cache, indices: indices, batchRows: batchRows, into: &output) }
    _ = gatherFromMemory(source, rowBytes: rowBytes, indices: indices, batchRows: batchRows, into: &output)
    let plain = try median(of: 5) { _ = gatherFromMemory(source, rowBytes: rowBytes, indices: indices, batchRows: batchRows, into: &output) }
    let total = Double(indices.count)
    let bytes = total * Double(rowBytes)
    print("gather 128 random rows, cache (lz4, 1 thread): \(Int(total / cached)) rows/s, \(format3(bytes / cached / 1e9)) GB/s")
    print("gather 128 random rows, memcpy from memory:    \(Int(total / plain)) rows/s, \(format3(bytes / plain / 1e9)) GB/s")
    print("ratio cache / memcpy: \(format3(plain / cached))")
    if processorCount > 1 {
        let threads = processorCount
        let parallel = try median(of: 5) { try gatherInParallel(cache, indices: indices, batchRows: batchRows, threads: threads) }
        print("gather, cache on \(threads) threads: \(Int(total / parallel)) rows/s, \(format3(bytes / parallel / 1e9)) GB/s; ratio to memcpy on 1 thread \(format3(plain / parallel))")
    }
}

/// Gathers every batch of `indices` from the cache into `output`.
@inline(never)
private func gatherFromCache(_ cache: CacheFile, indices: [Int], batchRows: Int, into output: inout [UInt8]) throws -> UInt8 {
    var start = 0
    while start < indices.count {
        let batch = indices[start..<min(indices.count, start + batchRows)]
        try output.withUnsafeMutableBytes { try cache.gather(column: "data", rows: batch, into: $0) }
        start += batchRows
    }
    return output[0]
}

/// Gathers every batch of `indices` with `memcpy` from an in-memory row-major array.
@inline(never)
private func gatherFromMemory(_ source: [UInt8], rowBytes: Int, indices: [Int], batchRows: Int, into output: inout [UInt8]) -> UInt8 {
    source.withUnsafeBytes { source in
        output.withUnsafeMutableBytes { output in
            var start = 0
            while start < indices.count {
                let end = min(indices.count, start + batchRows)
                for position in start..<end {
                    memcpy(output.baseAddress! + (position - start) * rowBytes, source.baseAddress! + indices[position] * rowBytes, rowBytes)
                }
                start = end
            }
        }
    }
    return output[0]
}

/// Splits the batches over `threads` threads, each with its own buffer.
private func gatherInParallel(_ cache: CacheFile, indices: [Int], batchRows: Int, threads: Int) throws {
    final class Failure: @unchecked Sendable { var error: (any Error)? }
    let failure = Failure()
    let batchCount = (indices.count + batchRows - 1) / batchRows
    var handles = [pthread_t]()
    final class Job: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    for thread in 0..<threads {
        let first = batchCount * thread / threads * batchRows
        let last = min(indices.count, batchCount * (thread + 1) / threads * batchRows)
        let slice = Array(indices[first..<last])
        let job = Job {
            var output = [UInt8](repeating: 0, count: batchRows * 784 * 4)
            do { _ = try gatherFromCache(cache, indices: slice, batchRows: batchRows, into: &output) } catch { failure.error = error }
        }
        var handle = pthread_t()
        pthread_create(&handle, nil, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, Unmanaged.passRetained(job).toOpaque())
        handles.append(handle)
    }
    for handle in handles { pthread_join(handle, nil) }
    if let error = failure.error { throw error }
}

/// Seconds `body` takes.
private func measure(_ body: () throws -> Void) throws -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

/// The median of `count` timings of `body`.
private func median(of count: Int, _ body: () throws -> Void) throws -> Double {
    var times = [Double]()
    for _ in 0..<count { times.append(try measure(body)) }
    return times.sorted()[count / 2]
}

/// Writes bytes to a file with stdio.
private func writeFile(_ bytes: [UInt8], to path: String) throws {
    guard let file = fopen(path, "wb") else { throw BenchError("cannot create \(path)") }
    defer { fclose(file) }
    guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, file) }) == bytes.count else { throw BenchError("cannot write \(path)") }
}

/// The size of a file (0 when missing).
private func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : 0
}

/// A benchmark failure.
private struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
