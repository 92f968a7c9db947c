// Micro-benchmarks of DataGenerator's hot paths with ordo-one/benchmark: wall clock, throughput
// and the malloc interposer's allocation counts. Run from Benchmarks/:
//
//     swift package --disable-sandbox benchmark
//
// Each benchmark runs in a process of its own; the caches they read are built by the first one
// that needs them and reused after (see Fixtures.swift).

import Benchmark

/// The suite the benchmark plugin's generated `main` registers.
let benchmarks: @Sendable () -> Void = {
    registerGatherBenchmarks()
    registerUnitBenchmarks()
    registerPermutationBenchmarks()
    registerInputBenchmarks()
}
