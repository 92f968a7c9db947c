// swift-tools-version: 6.1
// libFuzzer targets for DataGenerator's parsers of untrusted bytes: the cache reader, the CSV
// inventory parser, the npy/text resource decoders, the image decoders (JPEG, PNG, EXIF) and the image transform spec parser. Built and run by `tools/fuzz`:
//   swift build -c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "DataGeneratorFuzz",
    dependencies: [
        .package(name: "DataGenerator", path: ".."),
    ],
    targets: [
        // Helpers shared by the fuzz targets: CRC-32, checksum repair of cache files, temp files.
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "DataGenerator", package: "DataGenerator")]
        ),
        // Opens, verifies and gathers every row of every column of the input taken as a cache file.
        .executableTarget(
            name: "FuzzCacheReader",
            dependencies: ["FuzzSupport", .product(name: "DataGenerator", package: "DataGenerator")]
        ),
        // Feeds the input to the CSV inventory parser, the npy decoder and the text decoder.
        .executableTarget(
            name: "FuzzInventoryDecoders",
            dependencies: ["FuzzSupport", .product(name: "DataGenerator", package: "DataGenerator")]
        ),
        // Feeds the input to ImageDecoder (JPEG and PNG through the C shim) and the EXIF reader.
        .executableTarget(
            name: "FuzzImageDecoders",
            dependencies: ["FuzzSupport", .product(name: "DataGenerator", package: "DataGenerator")]
        ),
        // Parses the input as an image transform spec and renders a small image through it.
        .executableTarget(
            name: "FuzzTransformSpec",
            dependencies: ["FuzzSupport", .product(name: "DataGenerator", package: "DataGenerator")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
