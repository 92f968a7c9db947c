// The data the micro-benchmarks read: cache files built once and reused by every benchmark process
// (the benchmark tool runs each benchmark in a process of its own, and `CacheBuilder` leaves a cache
// whose fingerprint matches its inputs as it is), random batches of rows, and caller-owned buffers.

import Benchmark
import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The folder holding the benchmark caches: `$DATAGEN_BENCHMARK_FIXTURES` when set, else
/// `DataGeneratorBenchmarks.fixtures` beside the benchmark executable (inside `.build`, so
/// `swift package clean` removes it and git never sees it).
let fixtureDirectory: String = {
    let path: String
    if let chosen = getenv("DATAGEN_BENCHMARK_FIXTURES"), chosen.pointee != 0 {
        path = String(cString: chosen)
    } else {
        var link = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &link, link.count - 1)
        let executable = length > 0 ? String(decoding: link[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "./x"
        let folder = executable.lastIndex(of: "/").map { String(executable[..<$0]) } ?? "."
        path = folder + "/DataGeneratorBenchmarks.fixtures"
    }
    _ = mkdir(path, 0o755)
    return path
}()

/// The MNIST-like workload of the epoch benchmarks: 60,000 `SyntheticDigits` images stored as
/// float32[784] (pixels / 255, lz4, one unit per row) with int64 labels as targets.
enum DigitsCache {
    /// Rows in the cache.
    static let rowCount = 60_000
    /// Bytes of one stored image row.
    static let rowBytes = 784 * MemoryLayout<Float>.size

    /// The cache's path, after building it if it is missing or was built from other inputs.
    static func path() throws -> String {
        let path = fixtureDirectory + "/digits-f32.dgcache"
        let digits = SyntheticDigits(seed: 1)
        let pixels = ClosureEncoder(identity: "synthetic-digits(seed=1,float32,scale=1/255)@1",
                                    output: ArraySpec(.float32, [784])) { record in
            NDArray(digits.image(record.row).map { Float($0) / 255 }, shape: [784])
        }
        var dataSet = GeneratorDataSet(inventory: try digitInventory(rows: rowCount), dataEncoder: pixels,
                                       targetEncoder: RecordTargetEncoder.label(column: "label"))
        try dataSet.fitEncoders()
        _ = try CacheBuilder(dataSet: dataSet, output: path).build()
        return path
    }

    /// The cache opened as a data set whose columns are all made resident by one full-shuffle
    /// epoch: every later gather copies from memory.
    static func residentDataSet() throws -> CachedDataSet {
        let dataSet = try CachedDataSet(path: path())
        let options = BatchOptions(batchSize: 128, epochs: 1, truncate: false, order: .full, seed: 7, workers: 2)
        try dataSet.forEachBatch(options) { _ in true }
        return dataSet
    }
}

/// Narrow rows for comparing unit layouts: 60,000 `SyntheticDigits` images mean-pooled to 7 × 7
/// float32 (196 bytes a row, below the 256 bytes from which every row gets a unit of its own),
/// stored either packed (the builder's default: up to 167 rows a unit) or one row a unit (row
/// groups of one row).
enum PooledDigitsCache {
    /// Rows in each cache.
    static let rowCount = 60_000
    /// Bytes of one stored row.
    static let rowBytes = 49 * MemoryLayout<Float>.size

    /// How the rows are cut into compressed units.
    enum Units: String {
        /// The default row groups (up to 1024 rows): units of up to 32,768 raw bytes.
        case packed
        /// Row groups of one row: every unit holds one row.
        case perRow = "per-row"
    }

    /// The path of the cache with `units`, after building it if needed.
    static func path(_ units: Units) throws -> String {
        let path = fixtureDirectory + "/pooled-\(units.rawValue).dgcache"
        let digits = SyntheticDigits(seed: 1)
        let pooled = ClosureEncoder(identity: "synthetic-digits(seed=1,mean-pool 4x4,float32,scale=1/255)@1",
                                    output: ArraySpec(.float32, [49])) { record in
            let image = digits.image(record.row)
            var cells = [Float](repeating: 0, count: 49)
            for y in 0..<28 {
                for x in 0..<28 { cells[(y / 4) * 7 + x / 4] += Float(image[y * 28 + x]) }
            }
            return NDArray(cells.map { $0 / (16 * 255) }, shape: [49])
        }
        let dataSet = GeneratorDataSet(inventory: try digitInventory(rows: rowCount), dataEncoder: pooled)
        let options = CacheBuildOptions(rowsPerGroup: units == .perRow ? 1 : nil)
        _ = try CacheBuilder(dataSet: dataSet, output: path, options: options).build()
        return path
    }
}

/// An inventory of `rows` digits: ids `digit0`, `digit1`, … and their labels.
func digitInventory(rows: Int) throws -> Inventory {
    let digits = SyntheticDigits(seed: 1)
    return try Inventory(columns: [("id", (0..<rows).map { "digit\($0)" }),
                                   ("label", (0..<rows).map { String(digits.label(of: $0)) })])
}

/// Batches of row numbers kept in one flat array, each handed out as a slice (contiguous, so a
/// gather reads it in place without copying it).
struct RowBatches: Sendable {
    /// Rows per batch.
    let batchSize: Int
    /// The number of batches.
    let count: Int
    private let rows: [Int]

    /// `count` batches of `batchSize` rows drawn uniformly from `0..<rowCount` (xorshift64 from
    /// `seed`, so every run gathers the same rows).
    init(randomCount count: Int, batchSize: Int, rowCount: Int, seed: UInt64 = 0x2545_F491_4F6C_DD1D) {
        var state = seed
        rows = (0..<(count * batchSize)).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(rowCount))
        }
        self.batchSize = batchSize
        self.count = count
    }

    /// `count` batches of `batchSize` consecutive rows, starting at evenly spread rows of
    /// `0..<rowCount`.
    init(consecutiveCount count: Int, batchSize: Int, rowCount: Int) {
        let stride = (rowCount - batchSize) / max(1, count)
        rows = (0..<count).flatMap { batch in (batch * stride)..<(batch * stride + batchSize) }
        self.batchSize = batchSize
        self.count = count
    }

    /// Batch `index` (taken modulo ``count``).
    func batch(_ index: Int) -> ArraySlice<Int> {
        let start = (index % count) * batchSize
        return rows[start..<(start + batchSize)]
    }
}

/// A buffer owned by the benchmark (as a training loop would own its input tensor), released
/// with its owner.
final class OwnedBuffer: @unchecked Sendable {
    // @unchecked: the memory is written by one benchmark at a time, never shared between threads.
    /// The buffer's bytes, 64-byte aligned.
    let bytes: UnsafeMutableRawBufferPointer

    /// A buffer of `byteCount` bytes.
    init(byteCount: Int) {
        bytes = .allocate(byteCount: byteCount, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { bytes.deallocate() }
}

/// Custom metrics: rates measured inside the benchmark closure over exactly the measured work
/// (the built-in throughput counts whole iterations per second, too coarse for long iterations).
enum RateMetric {
    /// Rows (or records) served, parsed or built per second.
    static let rowsPerSecond = BenchmarkMetric.custom("rows/s", polarity: .prefersLarger, useScalingFactor: false)
    /// Megabytes (10⁶ bytes) of raw data handled per second.
    static let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)

    /// `count` per second over `duration`.
    static func perSecond(_ count: Int, over duration: Duration) -> Int {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        return seconds > 0 ? Int((Double(count) / seconds).rounded()) : 0
    }
}

/// The metrics every benchmark records: time, and the allocator counts of the malloc interposer
/// (calls, calls over a page, requested bytes, and calls not matched by a `free`).
///
/// No CPU-time metric: the harness reads it from `/proc` inside the window in which it counts
/// allocations, which adds 16 allocations (35 KB) to every measured iteration and would hide
/// whether the code under test allocates.
let standardMetrics: [BenchmarkMetric] = [
    .wallClock, .throughput,
    .mallocCountTotal, .mallocCountLarge, .mallocBytesCount, .mallocFreeDelta,
]
