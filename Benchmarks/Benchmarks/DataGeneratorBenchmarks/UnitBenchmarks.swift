// Per-row against per-block decompression: the same 196-byte rows stored one row a unit or packed
// (up to 167 rows a unit), gathered with `CacheFile.gather(column:rows:into:)` into a caller-owned
// buffer, once as 128 random rows and once as 128 consecutive rows.

import Benchmark
import DataGenerator

/// Registers the unit-layout benchmarks.
func registerUnitBenchmarks() {
    let batchSize = 128
    let layouts: [(PooledDigitsCache.Units, String)] = [
        (.perRow, "one lz4 unit a row"),
        (.packed, "packed lz4 units of up to 167 rows"),
    ]
    let orders: [(String, @Sendable () -> RowBatches)] = [
        ("random", { RowBatches(randomCount: 1_000, batchSize: batchSize, rowCount: PooledDigitsCache.rowCount) }),
        ("consecutive", { RowBatches(consecutiveCount: 1_000, batchSize: batchSize, rowCount: PooledDigitsCache.rowCount) }),
    ]
    for (order, makeBatches) in orders {
        for (units, description) in layouts {
            Benchmark("Units: CacheFile.gather, 128 \(order) rows of float32[49], \(description)",
                      configuration: .init(metrics: standardMetrics + [RateMetric.rowsPerSecond],
                                           warmupIterations: 1_000, maxDuration: .seconds(2),
                                           maxIterations: 20_000)) { benchmark, fixture in
                try fixture.gatherNextBatch(in: benchmark)
            } setup: {
                StreamedGather(cache: try CacheFile(path: PooledDigitsCache.path(units)), batches: makeBatches(),
                               buffer: OwnedBuffer(byteCount: batchSize * PooledDigitsCache.rowBytes))
            }
        }
    }
}
