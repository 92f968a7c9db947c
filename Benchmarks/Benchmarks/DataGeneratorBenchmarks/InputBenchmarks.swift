// Getting data in: parsing a 1,000,000-row inventory CSV, and building a cache of 10,000 rows.

import Benchmark
import DataGenerator

/// Registers the CSV and build benchmarks.
func registerInputBenchmarks() {
    let csvRows = 1_000_000
    // The pandas layout of `datagen-bench csv`: `,id,target`, then index, id and label.
    Benchmark("CSV: Inventory(csv:), 1,000,000 rows × 3 columns",
              configuration: .init(metrics: standardMetrics + [RateMetric.rowsPerSecond, RateMetric.megabytesPerSecond],
                                   warmupIterations: 1, maxDuration: .seconds(8), maxIterations: 5)) { benchmark, text in
        let start = ContinuousClock.now
        let inventory = try Inventory(csv: text, source: "benchmark.csv")
        let elapsed = ContinuousClock.now - start
        benchmark.stopMeasurement()  // leave the inventory's release out
        precondition(inventory.count == csvRows)
        benchmark.measurement(RateMetric.rowsPerSecond, RateMetric.perSecond(csvRows, over: elapsed))
        benchmark.measurement(RateMetric.megabytesPerSecond, RateMetric.perSecond(text.count, over: elapsed) / 1_000_000)
        blackHole(inventory)
    } setup: {
        inventoryCSV(rows: csvRows)
    }

    let buildRows = 10_000
    // Every iteration rebuilds the cache from encoded arrays made in setup, so what is timed is the
    // builder: stacking, lz4, CRC-32, writing, the index and the metadata.
    Benchmark("Build: CacheBuilder, 10,000 rows of float32[784] + labels (lz4, 2 workers)",
              configuration: .init(metrics: standardMetrics + [RateMetric.rowsPerSecond, RateMetric.megabytesPerSecond],
                                   warmupIterations: 1, maxDuration: .seconds(6), maxIterations: 20)) { benchmark, fixture in
        let start = ContinuousClock.now
        let report = try fixture.builder.build()
        let elapsed = ContinuousClock.now - start
        precondition(report.rowCount == buildRows && !report.upToDate)
        benchmark.measurement(RateMetric.rowsPerSecond, RateMetric.perSecond(report.rowCount, over: elapsed))
        benchmark.measurement(RateMetric.megabytesPerSecond,
                              RateMetric.perSecond(Int(report.statistics.bytesIn), over: elapsed) / 1_000_000)
    } setup: {
        try BuildFixture(rows: buildRows)
    }
}

/// `,id,target` then `i,id_i,cat_(i % 10)` for each of `rows` rows.
func inventoryCSV(rows: Int) -> [UInt8] {
    var text: [UInt8] = []
    text.reserveCapacity(rows * 24 + 16)
    text.append(contentsOf: ",id,target\n".utf8)
    for row in 0..<rows {
        text.append(contentsOf: "\(row),id_\(row),cat_\(row % 10)\n".utf8)
    }
    return text
}

/// A builder of a `SyntheticDigits` cache whose encoder hands out images made in advance.
struct BuildFixture {
    /// The builder (forced, so each build writes the cache again).
    let builder: CacheBuilder

    /// Encodes `rows` images once; the builder writes them to the fixture folder.
    init(rows: Int) throws {
        let digits = SyntheticDigits(seed: 1)
        let images = (0..<rows).map { NDArray(digits.image($0).map { Float($0) / 255 }, shape: [784]) }
        let pixels = ClosureEncoder(identity: "synthetic-digits(seed=1,float32,scale=1/255,first \(rows))@1",
                                    output: ArraySpec(.float32, [784])) { record in images[record.row] }
        var dataSet = GeneratorDataSet(inventory: try digitInventory(rows: rows), dataEncoder: pixels,
                                       targetEncoder: RecordTargetEncoder.label(column: "label"))
        try dataSet.fitEncoders()
        builder = CacheBuilder(dataSet: dataSet, output: fixtureDirectory + "/build-\(rows).dgcache",
                               options: CacheBuildOptions(workers: 2, force: true))
    }
}
