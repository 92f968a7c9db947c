// The benchmark driver: `datagen-bench <name> [arguments]`. Each benchmark measures the real code
// path in a release build and prints ratios measured in the same run. Hot loops live in functions
// (top-level code in main.swift runs far slower).

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
let benchmarks: [(name: String, summary: String, run: ([String]) throws -> Void)] = [
    ("csv", "parse a 1,000,000-row, 3-column inventory CSV", runCSVBenchmark),
    ("uncached", "uncached epochs over MNIST-like savetxt text files", runUncachedBenchmark),
    ("cache", "cache build, ratio, open time and random gathers", runCacheBenchmark),
    ("epochs", "cached epochs: steady, open + first, window over budget, uint8 served as float32", runEpochBenchmark),
    ("takeovers", "soak: batches taken over from late workers beside busy processes, checked byte for byte", runTakeoverSoak),
    ("crc", "CRC-32 of cache units: folded against zlib", runCRCBenchmark),
    ("set-open", "cache sets: open time and memory of 1,000 shards and of 10^8 rows", runSetOpenBenchmark),
]

@MainActor
func usage() -> Never {
    print("usage: datagen-bench <benchmark> [arguments]\n")
    for benchmark in benchmarks { print("  \(benchmark.name)\t\(benchmark.summary)") }
    exit(2)
}

guard let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) else { usage() }
do {
    try benchmark.run(Array(arguments.dropFirst()))
} catch {
    print("error: \(error)")
    exit(1)
}
