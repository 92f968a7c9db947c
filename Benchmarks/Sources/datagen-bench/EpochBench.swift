import CRowCopy
import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Cached epochs against plain memory, in one release run, on a 60,000 × float32[784]
/// MNIST-like cache (``SyntheticDigits``), batches of 128, full shuffle:
///
/// * steady epoch (`forEachBatch`, the default workers, columns resident) against a plain in-memory gather
///   of the same rows on one thread (`memcpy` of each row into a reused buffer: numpy's `X[idx]`),
///   and against the same copies on two threads (the ceiling of both cores); the engine with no
///   workers against the one-thread copies (its per-row cost beside the copying);
/// * open + first epoch (decompressing every unit) against a steady epoch;
/// * window order with a memory budget a quarter of the column (streamed from the mapping,
///   pages released) against window order in budget, with its resident-memory growth (sampled
///   in an untimed pass);
/// * a uint8-stored column served as float32 / 255 against the float32-stored column.
///
/// * steady epochs (the default workers, one fewer than the cores, then one more) against the
///   one- and two-thread copies as medians of alternating pairs, quiet and beside a busy process
///   the benchmark starts and stops itself; two threads of copies into one buffer each against
///   the same rotating over as many buffers as the ring's slots; copies asking for the rows
///   ahead as the engine does (`dg_copy_rows`) against plain ones, and the engine against them;
/// * CPU time of an epoch whose consumer sleeps 2 ms a batch (a training step).
///
///     datagen-bench epochs [rows=60000] [repeats=3] [pairs=15]
func runEpochBenchmark(arguments: [String]) throws {
    let rows = arguments.count > 0 ? Int(arguments[0]) ?? 60_000 : 60_000
    let repeats = max(1, arguments.count > 1 ? Int(arguments[1]) ?? 3 : 3)
    let directory = makeBenchDirectory("epochs")
    defer { removeBenchDirectory(directory) }

    let workload = try DigitsWorkload(rows: rows)
    let (floatPixels, bytePixels) = (workload.floatPixels, workload.bytePixels)
    let floatPath = directory + "/digits-f32.dgcache"
    let bytePath = directory + "/digits-u8.dgcache"
    let plainPath = directory + "/digits-f32-none.dgcache"
    for (encoder, path, codec) in [(floatPixels, floatPath, CacheCodec.lz4), (bytePixels, bytePath, .lz4),
                                   (floatPixels, plainPath, .none)] {
        _ = try CacheBuilder(dataSet: workload.dataSet(encoder), output: path, options: CacheBuildOptions(codec: codec)).build()
    }
    let batchSize = 128
    let workers = BatchOptions.defaultWorkers
    func options(_ order: EpochOrder, epoch: Int) -> BatchOptions {
        BatchOptions(batchSize: batchSize, epochs: 1, truncate: false, order: order, seed: 7, startEpoch: epoch, workers: workers)
    }
    print("\(rows) MNIST-like rows, float32[784], batches of \(batchSize), full shuffle, \(workers) worker\(workers == 1 ? "" : "s") (the default), \(processorCount) cores")

    /// Opens the cache at `path` and serves epoch 0 (timed together), then the median steady epoch.
    func openAndServe(_ path: String) throws -> (first: Double, steady: Double, dataSet: CachedDataSet) {
        var opened: CachedDataSet?
        let first = try epochSeconds {
            opened = try CachedDataSet(path: path)
            try consume(opened!, options(.full, epoch: 0))
        }
        let dataSet = opened!
        let steady = try medianSeconds(repeats) { run in try consume(dataSet, options(.full, epoch: 1 + run)) }
        return (first, steady, dataSet)
    }
    // Open + first epoch (every unit decompressed once), then steady epochs from memory; the same
    // for the uncompressed cache, whose rows are served straight from the mapping.
    let (first, steady, floats) = try openAndServe(floatPath)
    let (plainFirst, plainSteady, _) = try openAndServe(plainPath)

    // The in-memory baseline: the same epoch's rows copied with memcpy into a reused buffer, from
    // a matrix in memory advised to use huge pages, as numpy does for arrays of 4 MiB and more
    // (from 4 KiB pages too, for comparison).
    let matrix = try floats.data()[0]
    let order = EpochPermutation(order: .full, seed: 7, epoch: 1, count: rows).rows
    let hugeMatrix = HugePageCopy(matrix)
    let memory = try medianSeconds(repeats) { _ in _ = gatherRows(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize) }
    let smallPages = try medianSeconds(repeats) { _ in
        _ = matrix.withUnsafeBytes { gatherRows($0, rowBytes: 784 * 4, order: order, batchSize: batchSize) }
    }
    // The engine's ceiling: the same copies on both cores; and the engine on the calling thread
    // alone (no workers) against the one-thread copies: its per-row cost beside the copying.
    let twoThreads = try medianSeconds(repeats) { _ in
        _ = gatherRowsOnTwoThreads(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize)
    }
    let noWorkers = try medianSeconds(repeats) { run in
        var serial = options(.full, epoch: 1 + run)
        serial.workers = 0
        try consume(floats, serial)
    }

    // Window order, budget a quarter of the column: streamed from the mapping, pages released;
    // against window order in budget (resident). Resident memory is sampled in a pass of its own,
    // after the timed ones, so that reading /proc is never timed.
    let columnBytes = rows * 784 * 4
    let windowResident = try medianSeconds(repeats) { run in try consume(floats, options(.window, epoch: 1 + run)) }
    var streamed = try CachedDataSet(path: floatPath)
    streamed.memoryBudget = columnBytes / 4
    let before = try residentMemory()
    let window = try medianSeconds(repeats) { run in try consume(streamed, options(.window, epoch: 1 + run)) }
    var peak = 0
    try streamed.forEachBatch(options(.window, epoch: 1 + repeats)) { batch in
        if batch.index % 16 == 0 {
            let now = try residentMemory()
            peak = max(peak, now.anonymous - before.anonymous + now.file - before.file)
        }
        return true
    }
    let fullStreamed = try medianSeconds(repeats) { run in try consume(streamed, options(.full, epoch: 1 + run)) }

    // The decoding floor of a first epoch: every row decoded from the mapping into reused batch
    // buffers, each unit's CRC already checked. The budget is one byte short of the column, so
    // the column is streamed (nothing resident, no fresh memory) while the release interval (a
    // quarter of the budget) is over twice an epoch's compressed bytes: at most one release in two
    // epochs, where a budget of 0 would release the mapping's pages after every MiB read.
    var decodeOnly = try CachedDataSet(path: floatPath)
    decodeOnly.memoryBudget = columnBytes - 1
    try consume(decodeOnly, options(.none, epoch: 0))
    let decodeFloor = try medianSeconds(repeats) { run in try consume(decodeOnly, options(.none, epoch: 1 + run)) }

    // uint8 stored, float32 served (resident, steady).
    let bytes = try CachedDataSet(path: bytePath).serving(column: "data", as: .float32, scale: 1.0 / 255)
    try consume(bytes, options(.full, epoch: 0))
    let served = try medianSeconds(repeats) { run in try consume(bytes, options(.full, epoch: 1 + run)) }
    let floatFile = try CacheFile(path: floatPath).fileSize
    let byteFile = try CacheFile(path: bytePath).fileSize

    func rate(_ seconds: Double) -> String { "\(Int(Double(rows) / seconds)) rows/s" }
    print("in-memory gather, 1 thread (memcpy per row): \(format3(memory)) s (\(rate(memory))); 4 KiB pages: \(format3(smallPages)) s")
    print("in-memory gather, 2 threads:                 \(format3(twoThreads)) s (\(rate(twoThreads)))")
    print("steady epoch, resident:                      \(format3(steady)) s (\(rate(steady)))")
    print("steady epoch, resident, no workers:          \(format3(noWorkers)) s (\(rate(noWorkers)))")
    print("open + first epoch:                          \(format3(first)) s (\(rate(first)))")
    print("uncompressed cache, open + first epoch:      \(format3(plainFirst)) s (\(rate(plainFirst))), steady \(format3(plainSteady)) s (\(rate(plainSteady)))")
    print("LZ4 decode of every row, in order, streamed: \(format3(decodeFloor)) s (\(rate(decodeFloor))) = \(format3(decodeFloor / steady)) steady epochs")
    print("window epoch, resident (in budget):          \(format3(windowResident)) s (\(rate(windowResident)))")
    print("window epoch, budget 1/4 of the column:      \(format3(window)) s (\(rate(window))); resident growth \(peak >> 20) MiB, budget \((columnBytes / 4) >> 20) MiB")
    print("full-shuffle epoch, same budget (streamed):  \(format3(fullStreamed)) s (\(rate(fullStreamed)))")
    print("uint8 stored, float32 served:                \(format3(served)) s (\(rate(served))); files \(byteFile) B vs \(floatFile) B")
    print("ratio no workers / 1-thread gather (speed):  \(format3(memory / noWorkers))   the engine's per-row cost, one thread")
    print("ratio open+first / steady (time):            \(format3(first / steady))   goal <= 1.3 (2.0 required; LZ4's floor here: tools/first-epoch-floor)")
    print("ratio uncompressed: steady / in-memory gather (speed): \(format3(memory / plainSteady)); open+first / steady (time): \(format3(plainFirst / plainSteady))")
    print("ratio window over budget / in budget (speed): \(format3(windowResident / window))   goal >= 0.5")
    print("ratio uint8->float32 served / float32 (speed): \(format3(steady / served))")

    // Steady epochs against bare copies, as medians of alternating pairs (engine, copies; then
    // copies, engine; …), quiet and beside a busy process this benchmark starts and stops.
    let pairs = max(1, arguments.count > 2 ? Int(arguments[2]) ?? 15 : 15)
    func engine(workers: Int) -> (Int) throws -> Void {
        { run in
            var steady = options(.full, epoch: 1 + run % 16)
            steady.workers = workers
            try consume(floats, steady)
        }
    }
    let oneThread = { _ = gatherRows(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize) }
    let bothCores = { _ = gatherRowsOnTwoThreads(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize) }
    for busy in [false, true] {
        let competitor = busy ? try BusyProcess() : nil
        print("\(busy ? "beside one busy process" : "quiet"), medians of \(pairs) alternating pairs, load average \(loadAverage()):")
        for count in [workers, workers + 1] {
            let single = try pairedRatio(pairs, engine: engine(workers: count), baseline: oneThread)
            let double = try pairedRatio(pairs, engine: engine(workers: count), baseline: bothCores)
            let goal = count == workers ? (busy ? "   goal >= 0.85 against 2 threads" : "   goal >= 0.95 against 2 threads") : ""
            print("  steady epoch, \(count) worker\(count == 1 ? "" : "s")\(count == workers ? " (default)" : "") (prefetch \(options(.full, epoch: 1).defaultPrefetchFor(count))): "
                  + "\(single.description) x 1-thread copies, \(double.description) x 2-thread copies\(goal)")
        }
        if !busy {
            let slots = options(.full, epoch: 1).defaultPrefetchFor(workers) + 1
            let ringCopies = { (_: Int) in _ = gatherRowsOnTwoThreads(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize, buffers: (slots + 1) / 2) }
            let rotating = try pairedRatio(pairs, engine: ringCopies, baseline: bothCores)
            print("  2-thread copies rotating over \(slots) batch buffers (the ring's slots) / into one each: \(rotating.description)")
            // The engine asks for the rows ahead (dg_copy_rows); the same copies with that
            // prefetch, on one thread against plain ones, and as the engine's ceiling instead.
            let prefetching = { (_: Int) in _ = gatherRows(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize, prefetching: true) }
            let bothPrefetching = {
                _ = gatherRowsOnTwoThreads(hugeMatrix.bytes, rowBytes: 784 * 4, order: order, batchSize: batchSize, prefetching: true)
            }
            print("  1-thread copies prefetching the rows ahead as the engine does / plain: \(try pairedRatio(pairs, engine: prefetching, baseline: oneThread).description)")
            print("  steady epoch, \(workers) worker\(workers == 1 ? "" : "s") (default) / 2-thread copies prefetching as the engine does: "
                  + "\(try pairedRatio(pairs, engine: engine(workers: workers), baseline: bothPrefetching).description)")
        }
        let switches = try contextSwitches { try consume(floats, options(.full, epoch: 1)) }
        print("  one steady epoch: \(switches.voluntary) voluntary, \(switches.involuntary) involuntary context switches, "
              + "\(switches.minorFaults) page faults (2-thread copies: \(try contextSwitches { bothCores() }.minorFaults))")
        competitor?.stop()
    }

    // A consumer slower than its producers (a training step): CPU time per epoch of the whole
    // process with a consumer that sleeps 2 ms a batch; the workers' waiting must not cost more.
    let slow = try cpuSeconds {
        try floats.forEachBatch(options(.full, epoch: 1)) { _ in
            usleep(2_000)
            return true
        }
    }
    let batches = (rows + batchSize - 1) / batchSize
    let sleeping = Double(batches) * 0.002
    print("consumer sleeping 2 ms a batch (\(batches) batches, \(format3(sleeping)) s asleep): epoch \(format3(slow.wall)) s, "
          + "CPU \(format3(slow.cpu)) s (user \(format3(slow.user)), system \(format3(slow.system))), "
          + "\(slow.voluntary) voluntary context switches; load average \(loadAverage())")
}

extension BatchOptions {
    /// The default prefetch depth with `workers` workers.
    fileprivate func defaultPrefetchFor(_ workers: Int) -> Int {
        var copy = self
        copy.workers = workers
        return copy.prefetch ?? copy.defaultPrefetch
    }
}

/// A ratio of alternating pairs: its median and range.
private struct PairedRatio: CustomStringConvertible {
    let ratios: [Double]
    var median: Double { ratios.sorted()[ratios.count / 2] }
    var description: String {
        let sorted = ratios.sorted()
        return "\(format3(median)) (\(format3(sorted.first!))–\(format3(sorted.last!)))"
    }
}

/// The speed of `engine` against `baseline` (baseline time / engine time), pair by pair, the
/// first of each pair alternating between the two.
private func pairedRatio(_ pairs: Int, engine: (Int) throws -> Void, baseline: () -> Void) throws -> PairedRatio {
    var ratios = [Double]()
    for pair in 0..<pairs {
        var engineTime = 0.0, baselineTime = 0.0
        if pair % 2 == 0 {
            engineTime = try epochSeconds { try engine(pair) }
            baselineTime = try epochSeconds { baseline() }
        } else {
            baselineTime = try epochSeconds { baseline() }
            engineTime = try epochSeconds { try engine(pair) }
        }
        ratios.append(baselineTime / engineTime)
    }
    return PairedRatio(ratios: ratios)
}

/// A process spinning on a core until stopped: `sh -c 'while :; do :; done'`.
final class BusyProcess {
    private var pid: pid_t = 0

    init() throws {
        let arguments = ["sh", "-c", "while :; do :; done"]
        var pointers = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        let result = posix_spawn(&pid, "/bin/sh", nil, nil, &pointers, environ)
        guard result == 0 else { throw BenchError.spawn(result) }
        usleep(200_000)
    }

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    deinit { stop() }

    enum BenchError: Error, CustomStringConvertible {
        case spawn(Int32)
        var description: String {
            switch self { case .spawn(let code): "could not start the busy process (posix_spawn: \(code))" }
        }
    }
}

/// The 1-, 5- and 15-minute load averages.
func loadAverage() -> String {
    var averages = [Double](repeating: 0, count: 3)
    _ = getloadavg(&averages, 3)
    return averages.map { format2($0) }.joined(separator: " ")
}

private func format2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}

/// This process's resource usage.
private func resourceUsage() -> rusage {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return usage
}

private func timevalSeconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) * 1e-6 }

/// Wall and CPU seconds (every thread of the process) and voluntary switches of `body`.
private func cpuSeconds(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double, user: Double, system: Double, voluntary: Int) {
    let before = resourceUsage()
    let wall = try epochSeconds(body)
    let after = resourceUsage()
    let user = timevalSeconds(after.ru_utime) - timevalSeconds(before.ru_utime)
    let system = timevalSeconds(after.ru_stime) - timevalSeconds(before.ru_stime)
    return (wall, user + system, user, system, after.ru_nvcsw - before.ru_nvcsw)
}

/// The context switches of every thread of the process during `body`.
private func contextSwitches(_ body: () throws -> Void) throws -> (voluntary: Int, involuntary: Int, minorFaults: Int) {
    let before = resourceUsage()
    try body()
    let after = resourceUsage()
    return (after.ru_nvcsw - before.ru_nvcsw, after.ru_nivcsw - before.ru_nivcsw, after.ru_minflt - before.ru_minflt)
}

/// Runs one epoch through `forEachBatch`, reading one value of each batch.
@inline(never)
private func consume(_ dataSet: CachedDataSet, _ options: BatchOptions) throws {
    var sink: UInt8 = 0
    try dataSet.forEachBatch(options) { batch in
        sink &+= batch.data(0)[0]
        return true
    }
    if sink == 1 { print("", terminator: "") }
}

/// Copies the rows of `order` from `source`, `batchSize` at a time, into one reused buffer (or
/// into `buffers` in turn, as a ring's slots): every batch, or with `threads` > 1 batches
/// `thread`, `thread + threads`, … (how the engine's workers share an epoch).
@inline(never)
private func gatherRows(_ source: UnsafeRawBufferPointer, rowBytes: Int, order: [Int], batchSize: Int,
                        thread: Int = 0, threads: Int = 1, buffers: Int = 1, prefetching: Bool = false) -> UInt8 {
    let batchBytes = rowBytes * batchSize
    let ring = UnsafeMutableRawPointer.allocate(byteCount: batchBytes * max(1, buffers), alignment: 64)
    defer { ring.deallocate() }
    var sink: UInt8 = 0
    var start = thread * batchSize
    var batch = 0
    while start < order.count {
        let end = min(order.count, start + batchSize)
        let buffer = ring + (batch % max(1, buffers)) * batchBytes
        batch += 1
        if prefetching {
            order.withUnsafeBufferPointer { rows in
                dg_copy_rows(buffer, source.baseAddress!, rows.baseAddress! + start, end - start, rowBytes)
            }
        } else {
            for position in start..<end {
                memcpy(buffer + (position - start) * rowBytes, source.baseAddress! + order[position] * rowBytes, rowBytes)
            }
        }
        sink &+= buffer.load(as: UInt8.self)
        start += threads * batchSize
    }
    return sink
}

/// ``gatherRows(_:rowBytes:order:batchSize:thread:threads:)`` on two threads, this one and a
/// second: the bare memory-copying speed of two cores, the engine's ceiling.
@inline(never)
private func gatherRowsOnTwoThreads(_ source: UnsafeRawBufferPointer, rowBytes: Int, order: [Int], batchSize: Int,
                                    buffers: Int = 1, prefetching: Bool = false) -> UInt8 {
    final class Share: @unchecked Sendable {
        // @unchecked: written before the thread starts, read by it alone until it is joined.
        let source: UnsafeRawBufferPointer, rowBytes: Int, order: [Int], batchSize: Int, buffers: Int, prefetching: Bool
        var sink: UInt8 = 0
        init(_ source: UnsafeRawBufferPointer, _ rowBytes: Int, _ order: [Int], _ batchSize: Int, _ buffers: Int, _ prefetching: Bool) {
            (self.source, self.rowBytes, self.order, self.batchSize, self.buffers, self.prefetching) = (source, rowBytes, order, batchSize, buffers, prefetching)
        }
    }
    let share = Share(source, rowBytes, order, batchSize, buffers, prefetching)
    var second = pthread_t()
    let started = pthread_create(&second, nil, { argument in
        let share = Unmanaged<Share>.fromOpaque(argument!).takeUnretainedValue()
        share.sink = gatherRows(share.source, rowBytes: share.rowBytes, order: share.order, batchSize: share.batchSize,
                                thread: 1, threads: 2, buffers: share.buffers, prefetching: share.prefetching)
        return nil
    }, Unmanaged.passUnretained(share).toOpaque())
    precondition(started == 0, "pthread_create failed")
    let sink = gatherRows(source, rowBytes: rowBytes, order: order, batchSize: batchSize, thread: 0, threads: 2,
                          buffers: buffers, prefetching: prefetching)
    pthread_join(second, nil)
    return sink &+ share.sink
}

/// A copy of an array's bytes in anonymous memory advised to use transparent huge pages, as
/// numpy allocates arrays of 4 MiB and more on Linux.
private final class HugePageCopy {
    let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappedCount: Int

    init(_ array: NDArray) {
        let huge = 2 << 20
        let count = array.withUnsafeBytes { $0.count }
        mappedCount = (count + huge - 1) / huge * huge + huge
        mapping = mmap(nil, mappedCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        let address = Int(bitPattern: mapping)
        let base = mapping + ((address + huge - 1) / huge * huge - address)
        _ = madvise(base, mappedCount - huge, MADV_HUGEPAGE)
        array.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: count) }
        bytes = UnsafeRawBufferPointer(start: base, count: count)
    }

    deinit { munmap(mapping, mappedCount) }
}

/// Seconds `body` takes.
private func epochSeconds(_ body: () throws -> Void) throws -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

/// The median of `count` timings of `body(run)`.
private func medianSeconds(_ count: Int, _ body: (Int) throws -> Void) throws -> Double {
    var times = [Double]()
    for run in 0..<count { times.append(try epochSeconds { try body(run) }) }
    return times.sorted()[count / 2]
}

/// `RssAnon` and `RssFile` of this process, in bytes.
private func residentMemory() throws -> (anonymous: Int, file: Int) {
    guard let file = fopen("/proc/self/status", "r") else { return (0, 0) }
    defer { fclose(file) }
    var bytes = [UInt8](repeating: 0, count: 1 << 16)
    let count = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
    var anonymous = 0, mapped = 0
    for line in String(decoding: bytes[..<count], as: UTF8.self).split(separator: "\n") {
        let fields = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
        guard fields.count >= 2, let kilobytes = Int(fields[1]) else { continue }
        if fields[0] == "RssAnon" { anonymous = kilobytes * 1024 }
        if fields[0] == "RssFile" { mapped = kilobytes * 1024 }
    }
    return (anonymous, mapped)
}

