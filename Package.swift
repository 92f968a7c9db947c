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
        // libcurl for the URL encoder: the HTTP library FoundationNetworking is built on (timeouts,
        // redirect control, TLS from the system, HTTP/2), from Debian, so that building the CLI
        // compiles no HTTP stack of its own (swift-nio + async-http-client took most of a
        // 16-minute release build).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // libjpeg-turbo (its libjpeg API) and libpng for ImageDecoder, reached only through CImageCodecs.
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // CRC-32 by carry-less multiplication (x86-64), zlib's being the first epoch's bottleneck.
        .target(name: "CCRC32Fold"),
        // Our C around libjpeg and libpng: their errors longjmp, and every setjmp is in this C, so
        // that no longjmp crosses a Swift frame.
        .target(name: "CImageCodecs", dependencies: ["CJPEG", "CPNG"]),
        // The 3-channel resampling loops of the image transforms, with an AVX2 variant chosen at
        // run time (the package is compiled for baseline x86-64).
        .target(name: "CImageKernels"),
        // Linux file calls the Glibc module leaves out (sync_file_range, for the cache writer).
        .target(name: "CFileHints"),
        // Gathering resident rows by index with software prefetch (Swift has no prefetch).
        .target(name: "CRowCopy"),
        .target(
            name: "DataGenerator",
            dependencies: [
                "CLZ4",
                "CCRC32Fold",
                "CImageCodecs",
                "CImageKernels",
                "CFileHints",
                "CRowCopy",
                "CZlib",
                "CCrypto",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "DataGeneratorHTTP",
            dependencies: [
                "DataGenerator",
                "CCurl",
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
            dependencies: ["DataGenerator", "CRowCopy"],
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "DataGeneratorHTTPTests",
            dependencies: [
                "DataGeneratorHTTP",
                "datagen",  // CLIBaseURLTests runs the binary against the test server
            ]
        ),
        .testTarget(
            name: "DatagenCLITests",
            dependencies: ["datagen"]
        ),
        // The C API's functions called from Swift (they are public Swift functions under @_cdecl).
        .testTarget(
            name: "CDataGeneratorTests",
            dependencies: ["CDataGenerator", "DataGenerator"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
