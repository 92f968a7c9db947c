// Gathers of 128-row batches from the 60,000 × float32[784] digits cache: the steady resident
// epoch path (lent buffers, the batch ring, and the owning form for comparison), the lent-buffer
// epoch over the memory budget, and the streamed gather from the mapping into a caller-owned buffer.

import Benchmark
import DataGenerator

/// Batches one iteration of an epoch benchmark serves (the scaling factor: time and allocations
/// shown per batch).
private let batchesPerIteration = 1_000
/// Batches served before the measurement starts in each iteration, so that the workers, the
/// prefetch window and the slots are in their steady state.
private let settlingBatches = 16
/// Rows per batch.
private let batchSize = 128

/// Options of an endless full-shuffle run on 2 workers.
private func endlessRun(startEpoch: Int) -> BatchOptions {
    BatchOptions(batchSize: batchSize, epochs: nil, truncate: true, order: .full, seed: 7,
                 startEpoch: startEpoch, workers: 2)
}

/// Serves an endless run through `forEachBatch` and measures batches `settlingBatches ..<
/// settlingBatches + batchesPerIteration` of it: the run's slots, threads and prefetch window are
/// set up before the measured region and torn down after it.
private func measureLentBatches(of dataSet: CachedDataSet, options: BatchOptions, in benchmark: Benchmark) throws {
    var served = 0
    var sink: UInt8 = 0
    var start = ContinuousClock.now
    try dataSet.forEachBatch(options) { batch in
        if served == settlingBatches {
            benchmark.startMeasurement()
            start = .now
        }
        sink &+= batch.data(0)[batch.count * DigitsCache.rowBytes - 1]
        served += 1
        guard served == settlingBatches + batchesPerIteration else { return true }
        let elapsed = ContinuousClock.now - start
        benchmark.stopMeasurement()
        benchmark.measurement(RateMetric.rowsPerSecond, RateMetric.perSecond(batchesPerIteration * batchSize, over: elapsed))
        return false
    }
    blackHole(sink)
}

/// Registers the gather benchmarks.
func registerGatherBenchmarks() {
    let epochConfiguration = Benchmark.Configuration(
        metrics: standardMetrics + [RateMetric.rowsPerSecond],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(4),
        maxIterations: 20
    )

    // forEachBatch lends reused buffers: the measured region is 1,000 batches in the middle of a
    // run whose slots and threads already exist, and should allocate nothing.
    Benchmark("Gather resident: forEachBatch, 1,000 batches of 128 random rows",
              configuration: epochConfiguration) { benchmark, dataSet in
        try measureLentBatches(of: dataSet, options: endlessRun(startEpoch: 1 + benchmark.currentIteration), in: benchmark)
    } setup: {
        try DigitsCache.residentDataSet()
    }

    // The ring under forEachBatch and the C API, kept running across iterations: workers gather
    // straight into buffers the caller owns (as Python's numpy arrays).
    Benchmark("Gather resident: BatchRing.next (caller-owned slots), 1,000 batches of 128 random rows",
              configuration: epochConfiguration) { (benchmark, fixture: RingFixture) in
        var sink: UInt8 = 0
        let start = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            guard let delivery = try fixture.ring.next() else { break }
            sink &+= fixture.ring.buffers(ofSlot: delivery.slot)[0][delivery.count * DigitsCache.rowBytes - 1]
        }
        let elapsed = ContinuousClock.now - start
        benchmark.measurement(RateMetric.rowsPerSecond, RateMetric.perSecond(batchesPerIteration * batchSize, over: elapsed))
        blackHole(sink)
    } setup: {
        let fixture = try RingFixture(dataSet: DigitsCache.residentDataSet(), options: endlessRun(startEpoch: 1), slots: 5)
        for _ in 0..<settlingBatches { _ = try fixture.ring.next() }
        return fixture
    }

    // The owning form, for comparison: every batch is a new `Batch` of new arrays.
    Benchmark("Gather resident: batches(_:) (owning), 1,000 batches of 128 random rows",
              configuration: epochConfiguration) { (benchmark, cursor: BatchCursor<Batch>) in
        var sink: UInt8 = 0
        let start = ContinuousClock.now
        for _ in benchmark.scaledIterations {
            guard let batch = try cursor.next() else { break }
            sink &+= batch.data.bytes[batch.data.bytes.count - 1]
        }
        let elapsed = ContinuousClock.now - start
        benchmark.measurement(RateMetric.rowsPerSecond, RateMetric.perSecond(batchesPerIteration * batchSize, over: elapsed))
        blackHole(sink)
    } setup: {
        let cursor = try DigitsCache.residentDataSet().batches(endlessRun(startEpoch: 1))
        for _ in 0..<settlingBatches { _ = try cursor.next() }
        return cursor
    }

    // The same lent buffers when the image column does not fit the memory budget (a quarter of
    // it): every batch is decoded from the mapping, whose pages are released as the epoch goes on.
    Benchmark("Gather streamed: forEachBatch over the memory budget (window order), 1,000 batches of 128 rows",
              configuration: epochConfiguration) { benchmark, dataSet in
        var options = endlessRun(startEpoch: 1 + benchmark.currentIteration)
        options.order = .window
        try measureLentBatches(of: dataSet, options: options, in: benchmark)
    } setup: {
        var dataSet = try CachedDataSet(path: DigitsCache.path())
        dataSet.memoryBudget = DigitsCache.rowCount * DigitsCache.rowBytes / 4
        return dataSet
    }

    // One batch per iteration from the mapping: 128 lz4 units decoded straight into the buffer.
    Benchmark("Gather streamed: CacheFile.gather, 128 random rows (one lz4 unit a row)",
              configuration: .init(metrics: standardMetrics + [RateMetric.rowsPerSecond],
                                   warmupIterations: 1_000, maxDuration: .seconds(3), maxIterations: 20_000)) { benchmark, fixture in
        try fixture.gatherNextBatch(in: benchmark)
    } setup: {
        StreamedGather(cache: try CacheFile(path: DigitsCache.path()),
                       batches: RowBatches(randomCount: 1_000, batchSize: batchSize, rowCount: DigitsCache.rowCount),
                       buffer: OwnedBuffer(byteCount: batchSize * DigitsCache.rowBytes))
    }
}

/// What a streamed-gather benchmark reads: an open cache, the batches of rows to gather, and the
/// caller's buffer they land in.
struct StreamedGather {
    /// The open cache.
    let cache: CacheFile
    /// The rows of each batch.
    let batches: RowBatches
    /// The destination of every gather, reused.
    let buffer: OwnedBuffer

    /// Gathers the iteration's batch of the "data" column into the buffer, reporting rows/s.
    func gatherNextBatch(in benchmark: Benchmark) throws {
        let rows = batches.batch(benchmark.currentIteration)
        let start = ContinuousClock.now
        try cache.gather(column: "data", rows: rows, into: buffer.bytes)
        let elapsed = ContinuousClock.now - start
        benchmark.measurement(RateMetric.rowsPerSecond, RateMetric.perSecond(rows.count, over: elapsed))
        blackHole(buffer.bytes[0])
    }
}

/// A batch ring running over buffers this fixture owns; they are released only after the ring's
/// workers stopped.
final class RingFixture {
    /// The running ring.
    let ring: BatchRing
    private let buffers: [[UnsafeMutableRawBufferPointer]]

    /// A ring of `slots` slots serving `dataSet` under `options`, each slot with a buffer per
    /// served column.
    init(dataSet: CachedDataSet, options: BatchOptions, slots: Int) throws {
        let rowBytes = DigitsCache.rowBytes
        let targetBytes = MemoryLayout<Int64>.size
        let buffers = (0..<slots).map { _ in
            [rowBytes, targetBytes].map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0 * options.batchSize, alignment: 64) }
        }
        do {
            ring = try BatchRing(dataSet: dataSet, options: options, buffers: buffers)
        } catch {
            for set in buffers { for buffer in set { buffer.deallocate() } }
            throw error
        }
        self.buffers = buffers
    }

    deinit {
        ring.stop()
        for set in buffers { for buffer in set { buffer.deallocate() } }
    }
}
