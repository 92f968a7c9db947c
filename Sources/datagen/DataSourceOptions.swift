import ArgumentParser
import DataGenerator

extension ResourceFormat: ExpressibleByArgument {}

/// How `--data image` stores images: `--image-store pixels|jpeg`.
enum ImageStore: String, ExpressibleByArgument, CaseIterable {
    /// Decoded `uint8` pixels, height × width × channels.
    case pixels
    /// JPEG files (the image's own when it fits, else re-encoded at `--quality`), decoded each
    /// time they are served (``JPEGImageStore``).
    case jpeg
}
extension DType: ExpressibleByArgument {}

/// The kind of target the CLI builds from the target column (`--target-encoding`).
enum TargetKind: String, CaseIterable, ExpressibleByArgument {
    /// Sorted classes → `int64` codes.
    case label
    /// Sorted classes → one-hot `float32` rows (also spelled `categorical`, as Keras names it).
    case onehot
    /// The column parsed as `int64`.
    case int
    /// The column parsed as `float32`.
    case float
    /// No target column.
    case none

    /// A kind by name; `categorical` is `onehot`.
    init?(argument: String) {
        self.init(rawValue: argument == "categorical" ? TargetKind.onehot.rawValue : argument)
    }

    static var allValueStrings: [String] { ["label", "onehot", "categorical", "int", "float", "none"] }

    /// The target encoder, or `nil` for ``none``.
    func encoder(column: String) -> RecordTargetEncoder? {
        switch self {
        case .label: .label(column: column)
        case .onehot: .oneHot(column: column)
        case .int: RecordTargetEncoder(column: column, [NumberEncoder(dtype: .int64)])
        case .float: RecordTargetEncoder(column: column, [NumberEncoder(dtype: .float32)])
        case .none: nil
        }
    }
}

/// A shape written as comma-separated dimensions, e.g. `28,28`.
struct ShapeArgument: ExpressibleByArgument {
    let dimensions: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let dimensions = parts.compactMap { Int(String($0.filter { $0 != " " })) }
        guard !parts.isEmpty, dimensions.count == parts.count, dimensions.allSatisfy({ $0 >= 0 }) else { return nil }
        self.dimensions = dimensions
    }
}

/// Where records' data come from and how they are decoded: the options `cache build` and
/// `cache bench --uncached` share.
struct DataSourceOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory holding the records' files (default: the inventory's directory).")
    var dataDirectory: String?

    @Option(name: .customLong("base-url"), help: "Base URL the records' mapped ids are resolved against (instead of --data-dir).")
    var baseURL: String?

    @Option(name: .customLong("id-column"), help: "Column naming each record's file or URL.")
    var idColumn = "id"

    @Option(name: .customLong("target-column"), help: "Column holding each record's label.")
    var targetColumn = "target"

    @Option(name: .customLong("id-prefix"), help: "Text put before each id to name its file.")
    var idPrefix = ""

    @Option(name: .customLong("id-suffix"), help: "Text put after each id to name its file (e.g. .txt).")
    var idSuffix = ""

    @Flag(name: .customLong("confine-to-data-dir"), help: "Refuse any id that leaves the data directory (absolute paths, '..', symlinks leading out): for inventories you do not trust. Without it, paths resolve as given.")
    var confineToDataDirectory = false

    @Option(name: .customLong("data"), help: "How a record's bytes are read: text, npy, raw, utf8 or image (JPEG or PNG, recognised by their first bytes).")
    var format: ResourceFormat = .text

    @Option(help: "Channels of each stored image (--data image): 3 (RGB; grey replicated, alpha dropped) or 1 (grey).")
    var channels = 3

    @Option(name: .customLong("max-pixels"), help: "Largest image (width × height, as its header declares) that --data image decodes; larger ones are bad records (Pillow's limit by default).")
    var maxPixels = ImageDecoder.defaultMaxPixels

    @Option(name: .customLong("max-side"), help: "Shrink each image so that its longer side is at most this many pixels (antialiased bilinear, aspect kept; --data image).")
    var maxSide: Int?

    @Option(name: .customLong("image-store"), help: "How images are stored: pixels (uint8 height × width × channels, compressed by --codec) or jpeg (each image's own JPEG when it already fits --max-side and --channels and needs no EXIF rotation, else re-encoded at --quality; decoded each time it is served).")
    var imageStore: ImageStore = .pixels

    @Option(help: "JPEG quality (1-100) of the images --image-store jpeg re-encodes.")
    var quality = JPEGImageStore.defaultQuality

    @Option(help: "Element type of the data (default: float32 for text, the file's for npy, uint8 for raw and utf8).")
    var dtype: DType?

    @Option(help: "Shape of each record's data, e.g. 28,28 (default: as read).")
    var shape: ShapeArgument?

    @Option(help: "Factor each value is multiplied by before the cast (e.g. 0.00392156862745098 for pixels / 255).")
    var scale: Double?

    @Option(name: .customLong("target-encoding"),
            help: "How the target column is encoded: label (int64 class codes), onehot or categorical (float32 one-hot rows), int, float or none.")
    var targetEncoding: TargetKind?

    @Option(name: .customLong("target"), help: .hidden)
    var targetEncodingOldSpelling: TargetKind?

    /// The target's encoding: `--target-encoding`, or its old spelling `--target`; label by default.
    var target: TargetKind { targetEncoding ?? targetEncodingOldSpelling ?? .label }

    func validate() throws {
        if targetEncoding != nil && targetEncodingOldSpelling != nil {
            throw ValidationError("give --target-encoding or --target (its old name), not both")
        }
        if dataDirectory != nil && baseURL != nil {
            throw ValidationError("give either --data-dir or --base-url, not both")
        }
        guard channels == 1 || channels == 3 else { throw ValidationError("--channels takes 1 or 3, not \(channels)") }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        if let maxSide, maxSide < 1 { throw ValidationError("--max-side must be positive") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality takes 1 to 100, not \(quality)") }
        if imageStore == .jpeg && format != .image {
            throw ValidationError("--image-store jpeg stores images: it needs --data image")
        }
        if imageStore == .jpeg && baseURL != nil {
            throw ValidationError("--image-store jpeg reads files from --data-dir; with --base-url use --image-store pixels")
        }
        if format == .image && (dtype != nil || shape != nil || scale != nil) {
            throw ValidationError("--data image stores uint8 pixels of each image's own shape: --dtype, --shape and --scale do not apply")
        }
    }

    /// The decoder the options describe.
    var decoder: ResourceDecoder {
        ResourceDecoder(format: format, dtype: dtype, shape: shape?.dimensions, scale: scale,
                        image: ImageDecoder(channels: channels, maxPixels: maxPixels, maxSide: maxSide))
    }

    /// The encoder of `--image-store jpeg`: each record's JPEG, for a JPEG-encoded column.
    func jpegEncoder(directory: String, mapper: IDMapper) -> FileDataEncoder {
        let store = JPEGImageStore(decoder: decoder.image, quality: quality)
        var encoder = FileDataEncoder(directory: directory, idColumn: idColumn, idMapper: mapper, identity: store.identity,
                                      output: store.outputSpec, paths: pathPolicy, transform: { try store.encode($0) })
        encoder.columnEncoding = .jpeg
        return encoder
    }

    /// How ids resolve: as given, or confined to the data directory.
    var pathPolicy: PathPolicy { confineToDataDirectory ? .confinedToDataDirectory : .asGiven }

    /// The fitted data set over the inventory at `inventoryPath`.
    /// - Throws: ``InventoryError/noRecords(source:)`` for a CSV holding only its header.
    func makeDataSet(inventoryPath: String, classes: FixedClasses? = nil) throws -> GeneratorDataSet {
        let inventory = try Inventory(contentsOfCSVFile: inventoryPath, idColumn: .named(idColumn))
        guard !inventory.isEmpty else { throw InventoryError.noRecords(source: inventoryPath) }
        return try makeDataSet(inventory: inventory, directory: dataDirectory ?? Self.directory(of: inventoryPath), classes: classes)
    }

    /// The fitted data set over `inventory`, whose relative ids resolve against `directory`
    /// (unless a base URL is given); `classes` fix the label codes of a label or one-hot target.
    func makeDataSet(inventory: Inventory, directory: String, classes: FixedClasses?) throws -> GeneratorDataSet {
        let mapper = IDMapper(prefix: idPrefix, suffix: idSuffix)
        let decoder = self.decoder
        let encoder: any DataEncoder
        if let baseURL {
            encoder = try URLSource.encoder(baseURL: baseURL, idColumn: idColumn, idMapper: mapper, decoder: decoder,
                                            sample: inventory.isEmpty ? nil : inventory[0])
        } else {
            let probe = FileDataEncoder(directory: directory, idColumn: idColumn, idMapper: mapper,
                                        identity: decoder.identity, output: .variableLength(.uint8),
                                        paths: pathPolicy) { NDArray($0.bytes) }
            encoder = imageStore == .jpeg ? jpegEncoder(directory: directory, mapper: mapper)
                : FileDataEncoder(directory: directory, idColumn: idColumn, idMapper: mapper,
                                  identity: decoder.identity, output: try Self.outputSpec(of: decoder, probing: probe, inventory),
                                  paths: pathPolicy, transform: { try decoder.decode($0) })
        }
        if target != .none && !inventory.hasColumn(targetColumn) {
            throw InventoryError.missingColumn(targetColumn, available: inventory.columnNames)
        }
        var targets = target.encoder(column: targetColumn)
        if let classes {
            if targets?.classes != nil {
                targets = targets?.fixingClasses(classes.names)
            } else if let origin = classes.origin {
                throw ValidationError("\(origin) fixes label classes: it needs a label or one-hot target")
            }
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder, targetEncoder: targets)
        try dataSet.fitEncoders()
        return dataSet
    }

    /// The spec of `decoder`'s arrays: without reading a record when the options fix it, else
    /// from the first of the first 100 records that reads and decodes, so that a bad first record
    /// is left to the build's `--on-error` policy; when none does, the first one's error.
    static func outputSpec(of decoder: ResourceDecoder, probing probe: FileDataEncoder, _ inventory: Inventory) throws -> ArraySpec {
        if let spec = try? decoder.outputSpec(sample: nil) { return spec }
        var firstError: (any Error)?
        for row in 0..<min(inventory.count, 100) {
            do {
                return try decoder.outputSpec(sample: probe.contents(of: inventory[row]))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? EncodingError.failed(encoder: decoder.identity, row: 0, id: nil,
                                                 reason: "the output shape is read from the first record, but there is none")
    }

    /// The directory part of a path (`.` when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
