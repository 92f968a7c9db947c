// swift-tools-version: 6.1
// DataGenerator: batches for machine-learning training loops, from a memory-mapped,
// LZ4-compressed, columnar cache file or straight from the encoders.
import PackageDescription

let package = Package(
    name: "DataGenerator",
    products: [
        .library(name: "DataGenerator", targets: ["DataGenerator"]),
        .library(name: "DataGeneratorHTTP", targets: ["DataGeneratorHTTP"]),
        .executable(name: "datagen", targets: ["datagen"]),
        // The C API (include/datagen.h) that the Python package loads; link with -Xswiftc -static-stdlib.
        .library(name: "CDataGenerator", type: .dynamic, targets: ["CDataGenerator"]),
    ],
    dependencies: [
        // The CLI's subcommands, options and usage errors.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // File descriptors with typed errno errors and EINTR retries, without Foundation.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // HTTP/1.1 client with redirect limits, timeouts and streaming bodies for the URL encoder.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // NIO: the URL encoder's event loops, and an HTTP server on 127.0.0.1 for its tests.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // CRC-32 by carry-less multiplication (x86-64), zlib's being the first epoch's bottleneck.
        .target(name: "CCRC32Fold"),
        .target(
            name: "DataGenerator",
            dependencies: [
                "CLZ4",
                "CCRC32Fold",
                "CZlib",
                "CCrypto",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "DataGeneratorHTTP",
            dependencies: [
                "DataGenerator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Event loops, HTTP types and byte buffers the encoder bridges to worker threads.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "CDataGenerator",
            dependencies: ["DataGenerator"],
            exclude: ["include"]
        ),
        .executableTarget(
            name: "datagen",
            dependencies: [
                "DataGenerator",
                "DataGeneratorHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DataGeneratorTests",
            dependencies: ["DataGenerator"],
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "DataGeneratorHTTPTests",
            dependencies: [
                "DataGeneratorHTTP",
                "datagen",  // CLIBaseURLTests runs the binary against the test server
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "DatagenCLITests",
            dependencies: ["datagen"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
