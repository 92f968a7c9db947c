import ArgumentParser
import DataGenerator

extension CacheCodec: ExpressibleByArgument {}
extension RecordErrorPolicy: ExpressibleByArgument {}

/// `datagen cache …`: build, inspect, verify and benchmark cache files.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Build, inspect, verify and benchmark cache files.",
        subcommands: [CacheBuildCommand.self, CacheInfoCommand.self, CacheVerifyCommand.self, CacheShowCommand.self, CacheBenchCommand.self,
                      CacheSetCommand.self]
    )
}

/// `datagen cache build`: the first pass, encoding every record once into a cache file.
struct CacheBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Encode every record of an inventory once into a cache file.",
        discussion: """
            Crash-safe and resumable: the build writes FILE.partial and renames it over FILE only when \
            complete; rerun the same command after an interruption to continue where it stopped. \
            Building onto a cache whose fingerprint matches does nothing unless --force.
            """
    )

    @OptionGroup var inventory: InventorySourceOptions

    @Option(name: .shortAndLong, help: "The cache file to write.")
    var output: String

    @OptionGroup var source: DataSourceOptions

    @Option(help: "Codec of every column: lz4, lz4hc or none.")
    var codec: CacheCodec = .lz4

    @OptionGroup var threads: WorkerOptions

    @Option(name: .customLong("on-error"), help: "On a bad record: fail (stop, naming it) or skip (leave it out, listed in the cache).")
    var onError: RecordErrorPolicy = .fail

    @Option(help: ArgumentHelp(
        "Encode only shard K of N (from 0): the inventory's rows [K·R/N, (K+1)·R/N) of R. The schema and label classes are fitted over the whole inventory, so every shard of a set agrees.",
        valueName: "K/N"), transform: Shard.parse)
    var shard: Shard?

    @Flag(help: "Rebuild even when the existing cache matches the inputs.")
    var force = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print one JSON object with the result on standard output.")
    var json = false

    func validate() throws {
        try shard?.validate()
    }

    func run() throws {
        try CacheBuilder.checkOutput(output)  // before any record is read
        var dataSet = try inventory.makeDataSet(with: source)  // fitted over the whole inventory
        if let shard {
            dataSet = try dataSet.subset(rows: shard.rows(of: dataSet.size))
        }
        let bar = ProgressDisplay(enabled: !quiet)
        let options = CacheBuildOptions(codec: codec, workers: threads.count, onError: onError, force: force,
                                        progress: { bar.update($0) })
        let report = try CacheBuilder(dataSet: dataSet, output: output, options: options).build()
        bar.finish()
        let stats = report.statistics
        if json {
            JSON.object([
                ("path", .string(report.path)),
                ("rows", .int(report.rowCount)),
                ("up_to_date", .bool(report.upToDate)),
                ("resumed_records", .int(report.resumedRecords)),
                ("skipped", .array(report.skipped.map(\.json))),
                ("bytes_in", .int(Int(stats.bytesIn))),
                ("bytes_out", .int(Int(stats.bytesOut))),
                ("compression_ratio", .double(stats.compressionRatio)),
                ("seconds", .double(report.elapsedSeconds)),
                ("records_per_second", .double(report.upToDate || report.elapsedSeconds <= 0 ? 0 : Double(stats.recordsIn - report.resumedRecords) / report.elapsedSeconds)),
                ("fingerprint", .string(report.fingerprint.value)),
            ]).print()
        } else if !quiet {
            let log = FileHandleOutput.standardError
            if report.upToDate {
                log.write("\(report.path) is up to date (fingerprint \(report.fingerprint.value.prefix(16))…): nothing to do; --force rebuilds\n")
            } else {
                let resumed = report.resumedRecords > 0 ? ", \(report.resumedRecords) taken over from the interrupted build" : ""
                log.write("built \(report.path): \(report.rowCount) rows, \(Report.bytes(stats.bytesIn)) → \(Report.bytes(stats.bytesOut)) (ratio \(Report.fixed(stats.compressionRatio, digits: 2))) in \(Report.seconds(report.elapsedSeconds))\(resumed)\n")
                for record in report.skipped { log.write("skipped \(record)\n") }
            }
        }
    }
}

/// `datagen cache info`: the schema and metadata of a cache.
struct CacheInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a cache file's (or a cache set's) schema and metadata.")

    @Argument(help: "The cache file, or a cache set's manifest (.dgset): its shards and totals.")
    var file: String

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func run() throws {
        if CacheSet.isManifest(file) { return try runSet() }  // CacheSetInfo.swift
        let cache = try CacheFile(path: file)
        if json {
            JSON.object([
                ("path", .string(file)),
                ("format_version", .int(Int(cache.formatVersion))),
                ("rows", .int(cache.rowCount)),
                ("file_bytes", .int(Int(cache.fileSize))),
                ("columns", .array(cache.columns.map { column in
                    Self.json(column)
                })),
                ("classes", cache.classes.map { .array($0.map { JSON.string($0) }) } ?? .null),
                ("fingerprint", .string(cache.fingerprint.value)),
                ("fingerprint_parts", .object([("rows", .string(cache.fingerprint.rows)),
                                               ("encoders", .string(cache.fingerprint.encoders)),
                                               ("schema", .string(cache.fingerprint.schema))])),
                ("records_in", .int(cache.statistics.recordsIn)),
                ("skipped", .array(cache.skipped.map(\.json))),
            ]).print()
            return
        }
        var lines = [
            "file            \(file)",
            "format version  \(cache.formatVersion)",
            "rows            \(cache.rowCount) (of \(cache.statistics.recordsIn) records; \(cache.skipped.count) skipped)",
            "size            \(Report.bytes(cache.fileSize)) on disk, \(Report.bytes(cache.statistics.bytesIn)) decompressed (ratio \(Report.fixed(cache.statistics.compressionRatio, digits: 2)))",
            "fingerprint     \(cache.fingerprint.value)",
        ]
        if let classes = cache.classes { lines.append("classes         \(classes.joined(separator: ", "))") }
        lines.append("")
        lines += Self.columnTable(cache.columns)
        for record in cache.skipped { lines.append("skipped \(record)") }
        print(lines.joined(separator: "\n"))
    }

    /// A column of `info --json`.
    static func json(_ column: CacheColumn) -> JSON {
                    .object([
                        ("name", .string(column.name)),
                        ("role", .string(column.role.rawValue)),
                        ("dtype", .string(column.spec.dtype.rawValue)),
                        ("shape", .array(column.spec.rowShape.map { $0.map { $0 < 0 ? JSON.null : JSON.int($0) } }
                            ?? (column.spec.isVariableLength ? [JSON.null] : []) + column.spec.shape.map { JSON.int($0) })),
                        ("variable_length", .bool(column.spec.isVariableLength)),
                    ] + (column.spec.isVariableShape ? [("variable_shape", JSON.bool(true))] : [])
                      + (column.encoding == .jpeg ? [("encoding", JSON.string("jpeg"))] : []) + [
                        ("codec", .string(column.codec.rawValue)),
                        ("units", .int(column.unitCount)),
                        ("raw_bytes", .int(Int(column.rawBytes))),
                        ("stored_bytes", .int(Int(column.storedBytes))),
                        ("encoder", .string(column.encoderIdentity)),
                    ])
    }

    /// The column table of `info`.
    static func columnTable(_ columns: [CacheColumn]) -> [String] {
        let header = ["column", "role", "dtype", "shape", "codec", "units", "raw", "stored", "ratio"]
        var table = [header]
        for column in columns {
            let shape = column.spec.rowShape.map { $0.map { $0 < 0 ? "*" : String($0) } }
                ?? (column.spec.isVariableLength ? ["*"] : []) + column.spec.shape.map(String.init)
            table.append([column.name, column.role.rawValue, column.spec.dtype.rawValue, "[" + shape.joined(separator: ",") + "]",
                          column.encoding == .jpeg ? "jpeg" : column.codec.rawValue, String(column.unitCount), Report.bytes(column.rawBytes), Report.bytes(column.storedBytes),
                          Report.fixed(column.storedBytes == 0 ? 1 : Double(column.rawBytes) / Double(column.storedBytes), digits: 2)])
        }
        return Report.table(table)
    }
}

/// `datagen cache verify`: checks every checksum.
struct CacheVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum of a cache file (or of every shard of a cache set); exit 1 naming the first bad unit.")

    @Argument(help: "The cache file, or a cache set's manifest (.dgset).")
    var file: String

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func run() throws {
        let result: CacheVerification
        do {
            result = try CacheSource(path: file).verify()  // a set: every shard, naming a bad one
        } catch {
            if json { JSON.object([("path", .string(file)), ("ok", .bool(false)), ("error", .string(error.description))]).print() }
            throw error
        }
        if json {
            JSON.object([("path", .string(file)), ("ok", .bool(true)), ("units_checked", .int(result.unitsChecked)),
                         ("stored_bytes", .int(Int(result.storedBytes))), ("raw_bytes", .int(Int(result.rawBytes)))]).print()
        } else {
            let shards = CacheSet.isManifest(file) ? (try? CacheSet(path: file)).map { "\($0.shardCount) shards, " } ?? "" : ""
            print("\(file): sound (\(shards)\(result.unitsChecked) units, \(Report.bytes(result.storedBytes)) stored, \(Report.bytes(result.rawBytes)) decoded)")
        }
    }
}

/// The rows `--rows` names: a Python slice (`0:3`, `:3`, `5:`, `-3:`, `::2`; negative bounds count
/// from the end and bounds beyond the rows are clipped, as in Python), one row (`7`, `-1`), or a
/// Swift half-open range (`0..<3`, which must lie within the rows). `0..3` is refused: it reads
/// as inclusive in some languages and exclusive in others.
enum RowSelection {
    case slice(start: Int?, stop: Int?, step: Int?)
    case row(Int)
    case range(lower: Int, upper: Int?)

    /// A usage error in `--rows`, with a hint.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads `--rows`.
    /// - Throws: ``Failure`` saying what to write instead.
    init(parsing text: String) throws {
        let forms = "write a Python slice such as 0:3, :3, 5: or -3:, one row such as 7, or a range such as '0..<3'"
        if let halfOpen = text.firstRange(of: "..<") {
            let low = text[..<halfOpen.lowerBound], high = text[halfOpen.upperBound...]
            guard let lower = low.isEmpty ? 0 : Int(low), lower >= 0,
                  high.isEmpty || Int(high).map({ $0 >= lower }) == true else {
                throw Failure(description: "'\(text)' is not a range of rows: \(forms)")
            }
            self = .range(lower: lower, upper: Int(high))
        } else if let dots = text.firstRange(of: "..") {
            let low = text[..<dots.lowerBound], high = text[dots.upperBound...].drop { $0 == "." }
            if let lower = low.isEmpty ? 0 : Int(low), let last = Int(high), lower >= 0, last >= lower {
                throw Failure(description: "`\(text)` is ambiguous; write \(lower):\(last + 1) or '\(lower)..<\(last + 1)' for rows \(lower) through \(last)")
            }
            throw Failure(description: "`\(text)` is ambiguous; \(forms)")
        } else if text.contains(":") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            let bounds = parts.map { $0.isEmpty ? nil : Int($0) }
            guard parts.count <= 3, zip(parts, bounds).allSatisfy({ $0.isEmpty || $1 != nil }) else {
                throw Failure(description: "'\(text)' is not a slice of rows: \(forms)")
            }
            guard parts.count < 3 || bounds[2] != 0 else { throw Failure(description: "'\(text)': a slice step cannot be zero") }
            self = .slice(start: bounds[0], stop: bounds[1], step: parts.count == 3 ? bounds[2] : nil)
        } else if let row = Int(text) {
            self = .row(row)
        } else {
            throw Failure(description: "'\(text)' is not a row selection: \(forms)")
        }
    }

    /// The rows selected among `count` rows, in order.
    /// - Throws: ``Failure`` for a row or a `..<` range outside the rows.
    func rows(count: Int) throws -> [Int] {
        switch self {
        case let .row(row):
            let resolved = row < 0 ? row + count : row
            guard resolved >= 0, resolved < count else {
                throw Failure(description: "--rows \(row): the cache has \(count) rows (0..<\(count))")
            }
            return [resolved]
        case let .range(lower, upper):
            let upper = upper ?? count
            guard upper <= count else {
                throw Failure(description: "--rows \(lower)..<\(upper) lies outside the cache's \(count) rows")
            }
            return Array(lower..<upper)
        case let .slice(start, stop, step):
            // Python's slice.indices(count).
            let step = step ?? 1
            let (low, high) = step > 0 ? (0, count) : (-1, count - 1)
            func clip(_ bound: Int?, default value: Int) -> Int {
                guard let bound else { return value }
                return bound < 0 ? max(bound + count, low) : min(bound, high)
            }
            let first = clip(start, default: step > 0 ? low : high)
            let end = clip(stop, default: step > 0 ? high : low)
            return Array(stride(from: first, to: end, by: step))
        }
    }
}

/// `datagen cache show`: rows of a cache.
struct CacheShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print rows of a cache file or a cache set.")

    @Argument(help: "The cache file, or a cache set's manifest (.dgset), whose rows are numbered across its shards.")
    var file: String

    @Option(parsing: .unconditional,  // `--rows -3:` takes `-3:` even though it starts with a dash
            help: "Rows to print: a Python slice such as 0:3, :3, 5: or -3: (negatives count from the end), one row such as 7, or '0..<3' (default: the first 5).",
            transform: { try RowSelection(parsing: $0) })
    var rows: RowSelection?

    @Flag(help: "Print one JSON array on standard output.")
    var json = false

    @Option(help: "Print the image column as served through this transform (epoch 0 of --seed), e.g. 'resize-shorter(256),center-crop(224)'.")
    var transform: String?

    @Option(name: .customLong("transform-column"), help: "With --transform: the image column to transform (default: the cache's one variable-shape column).")
    var transformColumn: String?

    @Option(help: "With --transform: the seed its random steps are keyed by.")
    var seed: UInt64 = 0

    func validate() throws {
        if let transform {
            do { _ = try ImagePipeline(parsing: transform) } catch { throw ValidationError("--transform: \(error)") }
        }
        if transformColumn != nil, transform == nil { throw ValidationError("--transform-column needs --transform") }
    }

    func run() throws {
        let cache = try CacheSource(path: file)  // a set's rows are global rows
        let columns = try cache.representative().columns
        var served: CachedDataSet?
        var transformed: String?
        if let transform {
            let whole: CachedDataSet
            switch cache {
            case let .file(file): whole = CachedDataSet(cache: file)
            case let .set(set): whole = try CachedDataSet(set: set)
            }
            let column = try transformColumn ?? whole.defaultTransformColumn()
            served = try whole.transforming(column: column, with: ImagePipeline(parsing: transform))
            transformed = column
        }
        let selected: [Int]
        do {
            selected = try rows?.rows(count: cache.rowCount) ?? Array(0..<min(5, cache.rowCount))
        } catch let failure as RowSelection.Failure {
            throw UsageError(failure.description)
        }
        var entries = [JSON]()
        for row in selected {
            var arrays = try cache.row(row)
            if let served, let transformed, let index = columns.firstIndex(where: { $0.name == transformed }) {
                arrays[index] = try served.transformedRows(column: transformed, rows: [row], seed: seed, epoch: 0).row(0)
            }
            let id = try cache.id(ofRow: row)
            let label = zip(columns, arrays).lazy.compactMap { column, array in
                column.role == .target ? ClassName.of(array, classes: cache.classes) : nil
            }.first
            if json {
                entries.append(.object([
                    ("row", .int(row)),
                    ("id", id.map { .string($0) } ?? .null),
                    ("values", .object(zip(columns, arrays).map { column, array in
                        (column.name, .array(array.doubles().map { array.dtype.isFloatingPoint ? JSON.double($0) : JSON.int(Int($0)) }))
                    })),
                ] + (label.map { [("label", JSON.string($0))] } ?? [])
                  + Self.shapes(of: zip(columns, arrays).filter { $0.0.spec.isVariableShape || $0.0.name == transformed })))
            } else {
                print("row \(row)\(id.map { " (id '\($0)')" } ?? ""):")
                for (column, array) in zip(columns, arrays) {
                    let name = column.role == .target ? ClassName.of(array, classes: cache.classes) : nil
                    print("  \(column.name): \(array)\(name.map { " (\($0.debugDescription))" } ?? "")")
                }
            }
        }
        if json { JSON.array(entries).print() }
    }

    /// `("shapes", {column: [dimensions]})` for the variable-shape columns of a row (images, whose
    /// flat values need their height and width), or nothing when there is none.
    static func shapes(of columns: [(CacheColumn, NDArray)]) -> [(String, JSON)] {
        guard !columns.isEmpty else { return [] }
        return [("shapes", .object(columns.map { column, array in (column.name, .array(array.shape.map { JSON.int($0) })) }))]
    }
}

/// The class name a target row stands for.
enum ClassName {
    /// The class of a label code (one integer) or of a one-hot row (a single 1 among zeros, one
    /// value per class), nil for any other target or when the cache has no classes.
    static func of(_ array: NDArray, classes: [String]?) -> String? {
        guard let classes else { return nil }
        let values = array.doubles()
        let code: Int?
        if !array.dtype.isFloatingPoint && values.count == 1 {
            code = Int(values[0])
        } else if values.count == classes.count, values.filter({ $0 == 1 }).count == 1, values.allSatisfy({ $0 == 0 || $0 == 1 }) {
            code = values.firstIndex(of: 1)
        } else {
            code = nil
        }
        guard let code, classes.indices.contains(code) else { return nil }
        return classes[code]
    }
}

extension SkippedRecord {
    var json: JSON {
        .object([("row", .int(row)), ("id", id.map { .string($0) } ?? .null), ("reason", .string(reason))])
    }
}
