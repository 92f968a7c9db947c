import ArgumentParser
import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Where `cache build` takes its records from: an inventory CSV, or a folder of class folders
/// (`--from-folders DIR`, as torchvision's ImageFolder); and, optionally, the class list that
/// fixes the label codes (`--classes-from FILE`).
struct InventorySourceOptions: ParsableArguments {
    @Argument(help: "The inventory CSV (an id column naming each record's file, a target column); or give --from-folders.")
    var inventory: String?

    @Option(name: .customLong("from-folders"), help: ArgumentHelp(
        "Make the inventory from DIR/<class>/<file> (the class is the folder's name), as torchvision's ImageFolder: instead of an inventory CSV.",
        discussion: "Class folders lie one level below DIR, their files directly inside; names starting with a dot are skipped; classes and files are sorted by Unicode code point. Ids are <class>/<file>, read under DIR.",
        valueName: "DIR"))
    var fromFolders: String?

    @Option(name: .customLong("classes-from"), help: ArgumentHelp(
        "Fix the label classes (and so their codes) to those of FILE: a cache built before, or a text file of one class a line. A training and a validation set built with the same list agree.",
        valueName: "FILE"))
    var classesFrom: String?

    func validate() throws {
        switch (inventory, fromFolders) {
        case (nil, nil): throw ValidationError("give the inventory CSV or --from-folders DIR")
        case (.some, .some): throw ValidationError("give either the inventory CSV or --from-folders DIR, not both")
        default: break
        }
    }

    /// The fitted data set the options and the data options `source` describe.
    func makeDataSet(with source: DataSourceOptions) throws -> GeneratorDataSet {
        let classes = try classesFrom.map { FixedClasses(names: try ClassList.read($0), origin: "--classes-from \($0)") }
        guard let folder = fromFolders else {
            return try source.makeDataSet(inventoryPath: inventory!, classes: classes)
        }
        if source.dataDirectory != nil || source.baseURL != nil {
            throw ValidationError("--from-folders reads the files under DIR: leave out --data-dir and --base-url")
        }
        let scan = try ClassFolderInventory(directory: folder, idColumn: source.idColumn, targetColumn: source.targetColumn)
        return try source.makeDataSet(inventory: scan.inventory, directory: scan.directory,
                                      classes: classes ?? FixedClasses(names: scan.classes, origin: nil))
    }
}

/// Label classes given once and for all, and the option that gave them (`nil` for the class
/// folders of `--from-folders`, which apply only to a label or one-hot target).
struct FixedClasses {
    let names: [String]
    let origin: String?
}

/// A list of label classes read from a cache's metadata or from a text file of one class a line.
enum ClassList {
    /// A class list that cannot be read or makes no sense.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The classes in `path`: a cache's label classes, else the file's non-empty lines (a
    /// trailing `\r` dropped), in order.
    static func read(_ path: String) throws -> [String] {
        do {
            let cache = try CacheFile(path: path)
            guard let classes = cache.classes else {
                throw Failure(description: "\(path) is a cache without label classes (built with a non-label target)")
            }
            return classes
        } catch CacheError.notACache, CacheError.truncated {
            // A text file.
        }
        let bytes = try contents(of: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure(description: "the class list \(path) is not UTF-8 text")
        }
        var classes = [String](), seen = Set<String>()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            if line.isEmpty { continue }
            guard seen.insert(line).inserted else {
                throw Failure(description: "\(path):\(index + 1): class '\(line)' is listed twice")
            }
            classes.append(line)
        }
        guard !classes.isEmpty else { throw Failure(description: "the class list \(path) names no class") }
        return classes
    }

    /// The bytes of the file at `path`.
    static func contents(of path: String) throws -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot read the class list \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](), chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Failure(description: "cannot read the class list \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }
}
