// swift-tools-version: 6.1
// Benchmarks of DataGenerator, kept out of the main build and CI: they depend on the root package
// by path and run in release builds only.
//
// Ratio benchmarks (one process, ratios measured in the same run):
//   swift run -c release --package-path Benchmarks datagen-bench <name>
// Micro-benchmarks with ordo-one/benchmark (wall clock, throughput, malloc counts per hot path):
//   cd Benchmarks && swift package --disable-sandbox benchmark
import PackageDescription

let package = Package(
    name: "DataGeneratorBenchmarks",
    dependencies: [
        .package(name: "DataGenerator", path: ".."),
        // Micro-benchmarks; malloc counts come from its malloc interposer.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "datagen-bench",
            dependencies: [.product(name: "DataGenerator", package: "DataGenerator")],
            path: "Sources/datagen-bench"
        ),
        // The benchmark plugin finds its suites under Benchmarks/ at the package root.
        .executableTarget(
            name: "DataGeneratorBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DataGenerator", package: "DataGenerator"),
            ],
            path: "Benchmarks/DataGeneratorBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
