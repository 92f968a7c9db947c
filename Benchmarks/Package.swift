// swift-tools-version: 6.1
// Benchmarks of DataGenerator, kept out of the main build and CI: they depend on the root package
// by path and run in release builds only:
//   swift run -c release --package-path Benchmarks datagen-bench <name>
import PackageDescription

let package = Package(
    name: "DataGeneratorBenchmarks",
    dependencies: [
        .package(name: "DataGenerator", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "datagen-bench",
            dependencies: [.product(name: "DataGenerator", package: "DataGenerator")],
            path: "Sources/datagen-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
