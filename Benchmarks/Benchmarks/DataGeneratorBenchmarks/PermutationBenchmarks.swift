// Epoch orders of 60,000 rows: the row at position k (random k) of the full (Feistel) order and of
// the window order, and the rows of whole batches as the workers compute them (`fillRows`, which
// derives the epoch's permutation for every batch).

import Benchmark
import DataGenerator

/// Registers the permutation benchmarks.
func registerPermutationBenchmarks() {
    let rowCount = 60_000
    let orders: [(String, EpochOrder)] = [("full (Feistel)", .full), ("window (512 × 16)", .window)]
    for (name, order) in orders {
        // 1,000 lookups an iteration, at positions spread by a multiplicative hash: time per lookup.
        Benchmark("Permutation \(name): row(at: k), 1,000 random positions of 60,000",
                  configuration: .init(metrics: standardMetrics, warmupIterations: 10, scalingFactor: .kilo,
                                       maxDuration: .seconds(2), maxIterations: 100_000)) { benchmark, permutation in
            var sink = 0
            let offset = benchmark.currentIteration &* 1_000
            for index in benchmark.scaledIterations {
                let position = Int((UInt64(truncatingIfNeeded: offset &+ index) &* 0x9E37_79B9_7F4A_7C15) >> 32) % rowCount
                sink &+= permutation.row(at: position)
            }
            blackHole(sink)
        } setup: {
            EpochPermutation(order: order, seed: 7, epoch: 3, count: rowCount)
        }

        // 1,000 batches of 128 rows an iteration, as the epoch workers fill their slots.
        Benchmark("Permutation \(name): BatchPlan.fillRows, 1,000 batches of 128",
                  configuration: .init(metrics: standardMetrics, warmupIterations: 2, scalingFactor: .kilo,
                                       maxDuration: .seconds(2), maxIterations: 10_000)) { benchmark, fixture in
            var sink = 0
            let batchesPerEpoch = fixture.plan.batchesPerEpoch
            for index in benchmark.scaledIterations {
                let sequence = benchmark.currentIteration &* 1_000 &+ index
                let count = fixture.plan.fillRows(epoch: sequence / batchesPerEpoch, index: sequence % batchesPerEpoch,
                                                  into: fixture.rows.buffer)
                sink &+= fixture.rows.buffer[count - 1]
            }
            blackHole(sink)
        } setup: {
            BatchRowsFixture(plan: try BatchPlan(options: BatchOptions(batchSize: 128, epochs: nil, order: order, seed: 7),
                                                 rowCount: rowCount),
                             rows: RowBuffer(capacity: 128))
        }
    }
}

/// A plan and the buffer its batches' rows are written into.
struct BatchRowsFixture {
    /// The run's plan.
    let plan: BatchPlan
    /// The reused destination of ``BatchPlan/fillRows(epoch:index:into:)``.
    let rows: RowBuffer
}

/// A reused buffer of row numbers, released with its owner.
final class RowBuffer: @unchecked Sendable {
    // @unchecked: written by one benchmark at a time, never shared between threads.
    /// The row numbers.
    let buffer: UnsafeMutableBufferPointer<Int>

    /// A buffer of `capacity` rows.
    init(capacity: Int) {
        buffer = .allocate(capacity: capacity)
        buffer.initialize(repeating: 0)
    }

    deinit { buffer.deallocate() }
}
