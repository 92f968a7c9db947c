import ArgumentParser
import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

extension EpochOrderName: ExpressibleByArgument {}

/// The `--shuffle` names.
enum EpochOrderName: String, CaseIterable {
    case none, full, window

    var order: EpochOrder {
        switch self {
        case .none: .none
        case .full: .full
        case .window: .window
        }
    }
}

/// `datagen cache bench`: serves epochs from a cache (or, with `--uncached`, from the inventory
/// through the encoders) and reports the throughput, memory and a digest of every batch.
struct CacheBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Serve epochs from a cache (or uncached) and report samples/s, memory and a digest of the batches.",
        discussion: """
            The timed epochs run first; the digest (SHA-256 over every batch's bytes, in order) is computed \
            afterwards in a second, untimed pass over the same epochs. The same seed gives the same digest in \
            cached and uncached mode and for any --workers.
            """
    )

    @Argument(help: "The cache file or cache set manifest (.dgset) (with --uncached: only named, the data come from the inventory; compare the digests of the two runs to check they serve the same batches).")
    var file: String

    @Option(name: .customLong("batch-size"), help: "Rows per batch.")
    var batchSize = 128

    @Option(help: "Epochs to serve.")
    var epochs = 3

    @Option(help: "Seed of the epoch orders.")
    var seed: UInt64 = 0

    @Option(help: "Epoch order: full, window or none.")
    var shuffle: EpochOrderName = .full

    @OptionGroup var threads: WorkerOptions

    @Option(name: .customLong("memory-budget"),
            help: "Memory the engine may hold for decompressed columns: 512MB, 2GiB, 1.5G, 300KB… (a bare number is MiB; default: a share of the machine's memory).",
            transform: { try ByteSize(parsing: $0, defaultUnit: .mebibyte) })
    var memoryBudget: ByteSize?

    @Flag(name: .customLong("drop-last"), help: "Drop each epoch's last partial batch.")
    var dropLast = false

    @Option(name: .customLong("uncached"), help: "Serve from this inventory CSV instead, running the encoders every epoch (give the build's data options).")
    var uncachedInventory: String?

    @OptionGroup(title: "Data options (with --uncached)") var source: DataSourceOptions

    @Option(name: .customLong("serve-as"), help: "Deliver every data column as this dtype, converted inside the gather (e.g. float32 for a uint8 cache).")
    var serveAs: String?

    @Option(name: .customLong("serve-scale"), help: "With --serve-as: multiply each stored value by this first (e.g. 0.00392156862745098 for pixels / 255).")
    var serveScale: Double = 1

    @Option(help: "Serve the image column through this transform, run in the workers every epoch: e.g. 'random-resized-crop(224),flip,normalize(imagenet),chw' (docs/EPOCHS.md, \"Image transforms\").")
    var transform: String?

    @Option(name: .customLong("transform-column"), help: "With --transform: the image column to transform (default: the cache's one variable-shape column).")
    var transformColumn: String?

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        if let serveAs, DType(rawValue: serveAs) == nil {
            throw ValidationError("--serve-as \(serveAs) is not a dtype (\(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if serveAs != nil, uncachedInventory != nil { throw ValidationError("--serve-as applies to a cache, not to --uncached") }
        if uncachedInventory != nil, source.imageStore == .jpeg {
            throw ValidationError("--image-store applies to a cache build; --uncached serves the decoded pixels (leave it out)")
        }
        if let transform {
            guard uncachedInventory == nil else { throw ValidationError("--transform applies to a cache, not to --uncached") }
            do { _ = try ImagePipeline(parsing: transform) } catch { throw ValidationError("--transform: \(error)") }
        }
        if transformColumn != nil, transform == nil { throw ValidationError("--transform-column needs --transform") }
    }

    func run() throws {
        let options = BatchOptions(batchSize: batchSize, epochs: epochs, truncate: dropLast, order: shuffle.order,
                                   seed: seed, workers: threads.count)
        let opened = ContinuousClock.now
        let serve: () throws -> BatchCursor<Batch>
        let samples: Int
        let mode: String
        var lending: CachedDataSet?
        var budget: Int?
        if let uncachedInventory {
            let dataSet = try source.makeDataSet(inventoryPath: uncachedInventory)
            serve = { try dataSet.batches(options) }
            samples = dataSet.size
            mode = "uncached"
        } else {
            var cached = try CachedDataSet(path: file)
            if let memoryBudget { cached.memoryBudget = memoryBudget.bytes }
            if let transform {
                let column = try transformColumn ?? cached.defaultTransformColumn()
                cached = try cached.transforming(column: column, with: ImagePipeline(parsing: transform))
            }
            if let serveAs, let dtype = DType(rawValue: serveAs) {
                for column in cached.dataColumns where cached.transforms[column.name] == nil {
                    cached = try cached.serving(column: column.name, as: dtype, scale: serveScale)
                }
            }
            budget = cached.memoryBudget
            let served = cached
            serve = { try served.batches(options) }
            samples = cached.size
            mode = "cached"
            // Timed through the lending path (what a training loop uses) when it applies.
            if cached.canLendBatches { lending = cached }
        }
        let openSeconds = EpochTimer.seconds(ContinuousClock.now - opened)
        let times = try lending.map { try EpochTimer.run(epochs: epochs, lending: $0, options) }
            ?? EpochTimer.run(epochs: epochs, serve)
        let batches = try BatchPlan(options: options, rowCount: samples).batchesPerEpoch * epochs
        let steady = times.count > 1 ? Array(times.dropFirst()) : times
        let rate = Double(samples) / EpochTimer.median(steady)
        let peak = ResidentMemory.current()

        // The digest goes through the path that was timed: lent buffers when the epochs were
        // timed through forEachBatch, owned batches otherwise.
        var digest = BatchDigest()
        if let lending {
            try lending.forEachBatch(options) { batch in
                digest.add(batch)
                return true
            }
        } else {
            let cursor = try serve()
            while let batch = try cursor.next() { digest.add(batch) }
        }
        let hex = digest.hexDigest()

        if json {
            JSON.object([
                ("mode", .string(mode)),
                ("path", .string(lending != nil ? "lending" : "owning")),
                ("file", .string(file)),
                ("samples", .int(samples)),
                ("batches", .int(batches)),
                ("batch_size", .int(batchSize)),
                ("epochs", .int(epochs)),
                ("shuffle", .string(shuffle.rawValue)),
                ("seed", .int(Int(seed))),
                ("workers", .int(options.workers)),
                ("transform", transform.map { .string($0) } ?? .null),
                ("memory_budget_bytes", budget.map { .int($0) } ?? .null),
                ("open_seconds", .double(openSeconds)),
                ("epoch_seconds", .array(times.map { .double($0) })),
                ("samples_per_second", .double(rate)),
                ("peak_rss_bytes", .int(peak.peak)),
                ("rss_anon_bytes", .int(peak.anonymous)),
                ("rss_file_bytes", .int(peak.fileBacked)),
                ("digest", .string(hex)),
            ]).print()
        } else {
            print("\(mode): \(samples) samples, batch \(batchSize), \(shuffle.rawValue) shuffle, \(Report.counted(options.workers, "worker")); open \(Report.seconds(openSeconds))")
            if let transform { print("  transform \(transform)") }
            for (epoch, seconds) in times.enumerated() {
                print("  epoch \(epoch): \(Report.seconds(seconds)), \(Report.rate(Double(samples) / seconds)) samples/s")
            }
            print("steady state: \(Report.rate(rate)) samples/s (median of epochs after the first)")
            print("peak RSS \(Report.bytes(UInt64(peak.peak))) (anonymous \(Report.bytes(UInt64(peak.anonymous))), file-backed \(Report.bytes(UInt64(peak.fileBacked))))")
            print("digest \(hex)")
        }
    }
}

/// The process's resident memory from `/proc/self/status`.
enum ResidentMemory {
    /// Peak resident set (`VmHWM`), anonymous (`RssAnon`) and file-backed (`RssFile`) bytes now.
    static func current() -> (peak: Int, anonymous: Int, fileBacked: Int) {
        guard let file = fopen("/proc/self/status", "r") else { return (0, 0, 0) }
        defer { fclose(file) }
        var values = [String: Int]()
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            let key = String(text[..<colon])
            let number = text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            values[key] = number * 1024
        }
        return (values["VmHWM"] ?? 0, values["RssAnon"] ?? 0, values["RssFile"] ?? 0)
    }
}
