import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Uncached epochs over MNIST-like `savetxt` text files: every epoch reads and parses every file
/// (what the Python library does). Prints samples/s for one worker and for all cores, and their
/// ratio, measured in the same run.
///
///     datagen-bench uncached [records=20000] [epochs=3]
func runUncachedBenchmark(arguments: [String]) throws {
    let records = arguments.count > 0 ? Int(arguments[0]) ?? 20_000 : 20_000
    let epochs = arguments.count > 1 ? Int(arguments[1]) ?? 3 : 3
    let directory = makeBenchDirectory("uncached")
    defer { removeBenchDirectory(directory) }
    print("writing \(records) savetxt files to \(directory)")
    let inventoryPath = try DemoDataWriter(records: records).write(to: directory)

    let decoder = ResourceDecoder(format: .text, dtype: .float32, shape: [784], scale: 1.0 / 255)
    let encoder = FileDataEncoder(directory: directory, idMapper: IDMapper(suffix: ".txt"),
                                  identity: decoder.identity, output: ArraySpec(.float32, [784]),
                                  transform: { try decoder.decode($0) })
    var dataSet = GeneratorDataSet(inventory: try Inventory(contentsOfCSVFile: inventoryPath),
                                   dataEncoder: encoder, targetEncoder: RecordTargetEncoder.oneHot())
    try dataSet.fitEncoders()

    var results: [(workers: Int, rate: Double)] = []
    for workers in [1, processorCount] {
        let options = BatchOptions(batchSize: 128, epochs: epochs, truncate: false, order: .full, seed: 0, workers: workers)
        let cursor = try dataSet.batches(options)
        var times = [Double]()
        var start = ContinuousClock.now
        var delivered = 0
        while let _ = try cursor.next() {
            delivered += 1
            if delivered % cursor.batchesPerEpoch == 0 {
                let now = ContinuousClock.now
                let elapsed = now - start
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                start = now
            }
        }
        let median = times.sorted()[times.count / 2]
        let rate = Double(records) / median
        results.append((workers, rate))
        print("uncached, \(workers) worker(s): epochs \(times.map { String(format3($0)) }) s, median \(Int(rate)) samples/s")
    }
    if results.count == 2 {
        print("ratio all cores / one worker: \(format3(results[1].rate / results[0].rate))")
    }
}

/// `value` with three decimals.
func format3(_ value: Double) -> String {
    let scaled = Int((value * 1000).rounded())
    let fraction = String(abs(scaled) % 1000)
    return "\(scaled / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}
