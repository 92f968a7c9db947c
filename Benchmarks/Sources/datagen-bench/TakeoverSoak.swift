import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// A soak of the ring's takeovers: beside busy processes (which take cores from the workers at
/// random), epochs of a float32[784] cache are served through a ``BatchRing`` with 1 and 2 workers
/// and light consumers, so that the consumer often waits for a late worker and writes its batch
/// again into the spare slot. Every delivered batch is copied into an image of the epoch, which
/// must equal, byte for byte, the epoch served on one thread; batch sizes and held slots vary.
///
///     datagen-bench takeovers [epochs=100] [rows=30000] [busy processes=1]
func runTakeoverSoak(arguments: [String]) throws {
    let epochs = max(1, arguments.count > 0 ? Int(arguments[0]) ?? 100 : 100)
    let rows = max(1, arguments.count > 1 ? Int(arguments[1]) ?? 30_000 : 30_000)
    let busy = max(0, arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1)
    let directory = makeBenchDirectory("takeovers")
    defer { removeBenchDirectory(directory) }

    let workload = try DigitsWorkload(rows: rows)
    let path = directory + "/digits.dgcache"
    _ = try CacheBuilder(dataSet: workload.dataSet(workload.floatPixels), output: path, options: CacheBuildOptions(codec: .lz4)).build()
    let cached = try CachedDataSet(path: path)
    let rowBytes = [784 * 4, 8]
    let image = EpochImage(rows: rows, rowBytes: rowBytes)
    let reference = EpochImage(rows: rows, rowBytes: rowBytes)

    let competitors = try (0..<busy).map { _ in try BusyProcess() }
    defer { for competitor in competitors { competitor.stop() } }
    print("\(epochs) epochs of \(rows) rows, each served with 1 and 2 workers beside \(busy) busy process\(busy == 1 ? "" : "es"), load average \(loadAverage())")
    var takeovers = [0, 0], mismatches = 0, served = 0
    for epoch in 0..<epochs {
        let batchSize = [16, 64, 128, 200][epoch % 4]
        let held = 1 + epoch % 2
        var options = BatchOptions(batchSize: batchSize, epochs: 1, truncate: false, order: .full, seed: 11, startEpoch: epoch, workers: 0)
        try image.fill(from: cached, options: options, held: held, into: reference)
        for workers in [1, 2] {
            options.workers = workers
            let count = try image.fill(from: cached, options: options, held: held, into: image)
            takeovers[workers - 1] += count
            served += 1
            if !image.equals(reference) {
                mismatches += 1
                print("epoch \(epoch), \(workers) worker\(workers == 1 ? "" : "s"), batches of \(batchSize), \(held) held: differs from the serial epoch")
            }
        }
    }
    print("\(served) epochs served: \(mismatches) differing from the serial ones; takeovers: \(takeovers[0]) with 1 worker, \(takeovers[1]) with 2")
    if mismatches > 0 {
        for competitor in competitors { competitor.stop() }  // exit skips the defer
        exit(1)
    }
}

/// Every batch of an epoch, copied column by column to its place in the epoch.
private final class EpochImage {
    let rowBytes: [Int]
    let columns: [UnsafeMutableRawBufferPointer]

    init(rows: Int, rowBytes: [Int]) {
        self.rowBytes = rowBytes
        columns = rowBytes.map { .allocate(byteCount: rows * $0, alignment: 64) }
    }

    deinit { for column in columns { column.deallocate() } }

    /// Serves one epoch through a ring of the default slots plus a spare (light consumer: a copy
    /// per batch) into `target`; the ring's takeovers.
    @discardableResult
    func fill(from cached: CachedDataSet, options: BatchOptions, held: Int, into target: EpochImage) throws -> Int {
        let slotCount = max(options.defaultPrefetch, options.workers + 1) + held + 1
        let buffers = (0..<slotCount).map { _ in rowBytes.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0 * options.batchSize, alignment: 64) } }
        defer { for set in buffers { for buffer in set { buffer.deallocate() } } }
        let ring = try BatchRing(dataSet: cached, options: options, held: held, buffers: buffers)
        var row = 0
        while let delivery = try ring.next() {
            for (column, buffer) in ring.buffers(ofSlot: delivery.slot).enumerated() {
                let bytes = delivery.count * rowBytes[column]
                (target.columns[column].baseAddress! + row * rowBytes[column]).copyMemory(from: buffer.baseAddress!, byteCount: bytes)
            }
            row += delivery.count
        }
        return ring.takeovers
    }

    func equals(_ other: EpochImage) -> Bool {
        zip(columns, other.columns).allSatisfy { memcmp($0.baseAddress!, $1.baseAddress!, $0.count) == 0 }
    }
}
