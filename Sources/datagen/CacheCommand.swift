import ArgumentParser
import DataGenerator

extension CacheCodec: ExpressibleByArgument {}
extension RecordErrorPolicy: ExpressibleByArgument {}

/// `datagen cache …`: build, inspect, verify and benchmark cache files.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Build, inspect, verify and benchmark cache files.",
        subcommands: [CacheBuildCommand.self, CacheInfoCommand.self, CacheVerifyCommand.self, CacheShowCommand.self, CacheBenchCommand.self]
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

    @Option(help: "Worker threads encoding records (default: all cores).")
    var jobs: Int?

    @Option(name: .customLong("on-error"), help: "On a bad record: fail (stop, naming it) or skip (leave it out, listed in the cache).")
    var onError: RecordErrorPolicy = .fail

    @Flag(help: "Rebuild even when the existing cache matches the inputs.")
    var force = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print one JSON object with the result on standard output.")
    var json = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let dataSet = try inventory.makeDataSet(with: source)
        let bar = ProgressDisplay(enabled: !quiet)
        let options = CacheBuildOptions(codec: codec, workers: jobs, onError: onError, force: force,
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
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a cache file's schema and metadata.")

    @Argument(help: "The cache file.")
    var file: String

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func run() throws {
        let cache = try CacheFile(path: file)
        if json {
            JSON.object([
                ("path", .string(file)),
                ("format_version", .int(Int(cache.formatVersion))),
                ("rows", .int(cache.rowCount)),
                ("file_bytes", .int(Int(cache.fileSize))),
                ("columns", .array(cache.columns.map { column in
                    .object([
                        ("name", .string(column.name)),
                        ("role", .string(column.role.rawValue)),
                        ("dtype", .string(column.spec.dtype.rawValue)),
                        ("shape", .array((column.spec.isVariableLength ? [JSON.null] : []) + column.spec.shape.map { JSON.int($0) })),
                        ("variable_length", .bool(column.spec.isVariableLength)),
                        ("codec", .string(column.codec.rawValue)),
                        ("units", .int(column.unitCount)),
                        ("raw_bytes", .int(Int(column.rawBytes))),
                        ("stored_bytes", .int(Int(column.storedBytes))),
                        ("encoder", .string(column.encoderIdentity)),
                    ])
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
        let header = ["column", "role", "dtype", "shape", "codec", "units", "raw", "stored", "ratio"]
        var table = [header]
        for column in cache.columns {
            let shape = (column.spec.isVariableLength ? ["*"] : []) + column.spec.shape.map(String.init)
            table.append([column.name, column.role.rawValue, column.spec.dtype.rawValue, "[" + shape.joined(separator: ",") + "]",
                          column.codec.rawValue, String(column.unitCount), Report.bytes(column.rawBytes), Report.bytes(column.storedBytes),
                          Report.fixed(column.storedBytes == 0 ? 1 : Double(column.rawBytes) / Double(column.storedBytes), digits: 2)])
        }
        lines += Report.table(table)
        for record in cache.skipped { lines.append("skipped \(record)") }
        print(lines.joined(separator: "\n"))
    }
}

/// `datagen cache verify`: checks every checksum.
struct CacheVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum of a cache file; exit 1 naming the first bad unit.")

    @Argument(help: "The cache file.")
    var file: String

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func run() throws {
        let result: CacheVerification
        do {
            result = try CacheFile(path: file).verify()
        } catch {
            if json { JSON.object([("path", .string(file)), ("ok", .bool(false)), ("error", .string(error.description))]).print() }
            throw error
        }
        if json {
            JSON.object([("path", .string(file)), ("ok", .bool(true)), ("units_checked", .int(result.unitsChecked)),
                         ("stored_bytes", .int(Int(result.storedBytes))), ("raw_bytes", .int(Int(result.rawBytes)))]).print()
        } else {
            print("\(file): sound (\(result.unitsChecked) units, \(Report.bytes(result.storedBytes)) stored, \(Report.bytes(result.rawBytes)) decoded)")
        }
    }
}

/// A half-open row range written `A..<B` (or `A..B`, `A`).
struct RowRange: ExpressibleByArgument {
    let lower: Int
    let upper: Int?

    init?(argument: String) {
        let text = argument.replacingFirst("..<", with: "\u{1}").replacingFirst("..", with: "\u{2}")
        if let split = text.firstIndex(where: { $0 == "\u{1}" || $0 == "\u{2}" }) {
            let inclusive = text[split] == "\u{2}"
            let low = text[..<split], high = text[text.index(after: split)...]
            guard let lower = low.isEmpty ? 0 : Int(low) else { return nil }
            if high.isEmpty { self.lower = lower; self.upper = nil; return }
            guard let upper = Int(high) else { return nil }
            self.lower = lower
            self.upper = inclusive ? upper + 1 : upper
        } else {
            guard let row = Int(argument) else { return nil }
            lower = row
            upper = row + 1
        }
        guard lower >= 0, upper.map({ $0 >= lower }) ?? true else { return nil }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let characters = Array(self), needle = Array(target)
        guard needle.count <= characters.count else { return self }
        for start in 0...(characters.count - needle.count) where Array(characters[start..<(start + needle.count)]) == needle {
            return String(characters[..<start]) + replacement + String(characters[(start + needle.count)...])
        }
        return self
    }
}

/// `datagen cache show`: rows of a cache.
struct CacheShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print rows of a cache file.")

    @Argument(help: "The cache file.")
    var file: String

    @Option(help: "Rows to print, as A..<B (default: the first 5).")
    var rows: RowRange?

    @Flag(help: "Print one JSON array on standard output.")
    var json = false

    func run() throws {
        let cache = try CacheFile(path: file)
        let lower = rows?.lower ?? 0
        let upper = rows?.upper ?? (rows == nil ? min(5, cache.rowCount) : cache.rowCount)
        guard lower <= cache.rowCount, upper <= cache.rowCount else {
            throw ValidationError("--rows \(lower)..<\(upper) lies outside the cache's \(cache.rowCount) rows")
        }
        var entries = [JSON]()
        for row in lower..<upper {
            let arrays = try cache.row(row)
            let id = try cache.id(ofRow: row)
            if json {
                entries.append(.object([
                    ("row", .int(row)),
                    ("id", id.map { .string($0) } ?? .null),
                    ("values", .object(zip(cache.columns, arrays).map { column, array in
                        (column.name, .array(array.doubles().map { array.dtype.isFloatingPoint ? JSON.double($0) : JSON.int(Int($0)) }))
                    })),
                ]))
            } else {
                print("row \(row)\(id.map { " (id '\($0)')" } ?? ""):")
                for (column, array) in zip(cache.columns, arrays) { print("  \(column.name): \(array)") }
            }
        }
        if json { JSON.array(entries).print() }
    }
}

extension SkippedRecord {
    var json: JSON {
        .object([("row", .int(row)), ("id", id.map { .string($0) } ?? .null), ("reason", .string(reason))])
    }
}
