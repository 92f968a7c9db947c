import ArgumentParser
import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// `datagen demo`: writes an MNIST-like data set of `savetxt` text files and an inventory CSV (as
/// the seed library's MNIST example), then serves epochs from it and prints the throughput.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate an MNIST-like data set of text files, serve epochs uncached and from a cache, and compare.",
        discussion: """
            Writes N images of 28×28 as numpy.savetxt text files plus inventory.csv (pandas layout) into \
            --dir (kept) or a temporary folder (removed afterwards), then runs epochs that read and parse \
            every file (uncached mode) and prints samples/s.
            """
    )

    @Option(help: "Number of images to generate.")
    var records = 12_500

    @Option(help: "Folder to write the data set into and keep (default: a temporary folder, removed).")
    var dir: String?

    @Option(name: .customLong("batch-size"), help: "Records per batch.")
    var batchSize = 128

    @Option(help: "Epochs to serve in each mode.")
    var epochs = 2

    @OptionGroup var threads: WorkerOptions

    @Option(help: "Seed of the per-epoch shuffle.")
    var seed: UInt64 = 0

    func validate() throws {
        guard records >= 1 else { throw ValidationError("--records must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    }

    func run() throws {
        let log = FileHandleOutput.standardError
        let directory: String
        let temporary = dir == nil
        if let dir {
            directory = dir
            try Filesystem.makeDirectory(dir)
        } else {
            directory = try Filesystem.makeTemporaryDirectory(prefix: "datagen-demo")
        }
        defer { if temporary { Filesystem.removeTree(directory) } }

        log.write("writing \(records) MNIST-like savetxt files and inventory.csv to \(directory)\n")
        let writeClock = ContinuousClock.now
        let inventoryPath = try DemoDataWriter(records: records).write(to: directory) { done in
            if log.isTerminal { log.write("\r  \(done)/\(records) files") }
        }
        if log.isTerminal { log.write("\n") }
        log.write("  done in \(Report.seconds(ContinuousClock.now - writeClock))\n")

        let decoder = ResourceDecoder(format: .text, dtype: .float32, shape: [784], scale: 1.0 / 255)
        let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                      identity: decoder.identity, output: try decoder.outputSpec(sample: nil),
                                      transform: { try decoder.decode($0) })
        var dataSet = GeneratorDataSet(inventory: try Inventory(contentsOfCSVFile: inventoryPath),
                                       dataEncoder: encoder, targetEncoder: RecordTargetEncoder.oneHot())
        try dataSet.fitEncoders()

        let options = BatchOptions(batchSize: batchSize, epochs: epochs, truncate: false, order: .full,
                                   seed: seed, workers: threads.count)
        log.write("uncached: \(Report.counted(epochs, "epoch")) of \(dataSet.size) records, batch \(batchSize), full shuffle, \(Report.counted(options.workers, "worker")), reading and parsing every file\n")
        let uncached = try EpochTimer.run(epochs: epochs) { try dataSet.batches(options) }
        for (epoch, seconds) in uncached.enumerated() {
            print("uncached epoch \(epoch): \(Report.seconds(seconds)), \(Report.rate(Double(dataSet.size) / seconds)) samples/s")
        }
        let uncachedRate = Double(dataSet.size) / EpochTimer.median(uncached)
        print("uncached: \(Report.rate(uncachedRate)) samples/s (median of \(Report.counted(epochs, "epoch")))")

        let cachePath = PathJoin.join(directory, "mnist.dgcache")
        log.write("building the cache \(cachePath) (lz4, one pass over every file)\n")
        let bar = ProgressDisplay(enabled: true)
        let report = try CacheBuilder(dataSet: dataSet, output: cachePath,
                                      options: CacheBuildOptions(codec: .lz4, workers: threads.count, force: true,
                                                                 progress: { bar.update($0) })).build()
        bar.finish()
        let stats = report.statistics
        print("cache: \(report.rowCount) rows, \(Report.bytes(stats.bytesIn)) → \(Report.bytes(stats.bytesOut)) (ratio \(Report.fixed(stats.compressionRatio, digits: 2))), built in \(Report.seconds(report.elapsedSeconds))")

        let opened = ContinuousClock.now
        let cached = try CachedDataSet(path: cachePath)
        let cachedEpochs = max(epochs, 3)
        log.write("cached: \(Report.counted(cachedEpochs, "epoch")) gathered from the cache, same order\n")
        let times = try EpochTimer.run(epochs: cachedEpochs) {
            try cached.batches(BatchOptions(batchSize: batchSize, epochs: cachedEpochs, truncate: false, order: .full,
                                            seed: seed, workers: threads.count))
        }
        let openSeconds = EpochTimer.seconds(ContinuousClock.now - opened) - times.reduce(0, +)
        for (epoch, seconds) in times.enumerated() {
            print("cached epoch \(epoch): \(Report.seconds(seconds)), \(Report.rate(Double(cached.size) / seconds)) samples/s")
        }
        let cachedRate = Double(cached.size) / EpochTimer.median(Array(times.dropFirst()))
        print("cached: \(Report.rate(cachedRate)) samples/s (median of the epochs after the first; open \(Report.seconds(openSeconds)))")
        print("cached / uncached: \(Report.fixed(cachedRate / uncachedRate, digits: 1))×")
    }
}

/// Times the epochs of a batch cursor.
enum PathJoin {
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

enum EpochTimer {
    /// Seconds per epoch for `epochs` epochs served by `makeCursor`'s cursor.
    static func run(epochs: Int, _ makeCursor: () throws -> BatchCursor<Batch>) throws -> [Double] {
        let cursor = try makeCursor()
        var laps = Laps(batchesPerEpoch: cursor.batchesPerEpoch)
        while let _ = try cursor.next() { laps.batchDelivered() }
        return laps.times
    }

    /// Seconds per epoch for `epochs` epochs served by `dataSet.forEachBatch` (batches lent in
    /// reused buffers, nothing allocated per batch).
    static func run(epochs: Int, lending dataSet: CachedDataSet, _ options: BatchOptions) throws -> [Double] {
        var laps = Laps(batchesPerEpoch: try BatchPlan(options: options, rowCount: dataSet.size).batchesPerEpoch)
        try dataSet.forEachBatch(options) { _ in
            laps.batchDelivered()
            return true
        }
        return laps.times
    }

    /// The time of each epoch of a run, taken as its last batch is delivered.
    private struct Laps {
        let batchesPerEpoch: Int
        private(set) var times = [Double]()
        private var start = ContinuousClock.now
        private var delivered = 0

        init(batchesPerEpoch: Int) { self.batchesPerEpoch = max(1, batchesPerEpoch) }

        mutating func batchDelivered() {
            delivered += 1
            guard delivered % batchesPerEpoch == 0 else { return }
            let now = ContinuousClock.now
            times.append(EpochTimer.seconds(now - start))
            start = now
        }
    }

    /// The median of `values` (the mean of the middle two for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// Human-readable numbers.
enum Report {
    static func seconds(_ duration: Duration) -> String { seconds(EpochTimer.seconds(duration)) }

    static func seconds(_ value: Double) -> String { fixed(value, digits: 3) + " s" }

    /// A rate with thousands separators, e.g. `1,234,567`.
    /// "1 worker", "2 workers".
    static func counted(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }

    static func rate(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "0" : "∞" }  // 0 rows in 0 s; or too fast to time
        let whole = Int(value.rounded())
        var text = String(whole)
        var index = text.count - 3
        while index > 0 {
            text.insert(",", at: text.index(text.startIndex, offsetBy: index))
            index -= 3
        }
        return text
    }

    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        var fraction = String(Int(scaled.truncatingRemainder(dividingBy: scale)))
        fraction = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
        return (value < 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fraction : "")
    }
}

extension Report {
    /// Bytes with a binary unit, e.g. `45.2 MiB`.
    static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value), unit = 0
        while amount >= 1024 && unit < units.count - 1 { amount /= 1024; unit += 1 }
        return unit == 0 ? "\(value) B" : "\(fixed(amount, digits: 1)) \(units[unit])"
    }

    /// A duration such as `1m05s` or `12.3 s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        if seconds < 60 { return fixed(seconds, digits: 1) + " s" }
        let whole = Int(seconds)
        let rest = whole % 60
        return "\(whole / 60)m\(rest < 10 ? "0" : "")\(rest)s"
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }
}
