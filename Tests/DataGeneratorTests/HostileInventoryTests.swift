import Synchronization
import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Inventories that users did not write themselves, taken through the whole first pass (CSV file →
/// data set → cache build) with paths confined to the data directory
/// (``PathPolicy/confinedToDataDirectory``, the CLI's `--confine-to-data-dir`): each gives one
/// clear error naming the row (or the CSV line), within bounded memory, and nothing outside the
/// data directory is ever read. Without the option, paths resolve as given
/// (`PathsAsGivenTests`).
///
/// Hostile URLs (schemes, redirects, body caps, timeouts, slow-drip servers) are covered by
/// `Tests/DataGeneratorHTTPTests` against a server on 127.0.0.1.
@Suite("Hostile inventories")
struct HostileInventoryTests {
    /// A data directory `DIR/data` holding good records `a.txt`, `b.txt` (3 numbers each), an
    /// empty file, a sub-directory, a symlink to `DIR/outside.txt` (a readable file outside the
    /// data directory), and a symlink to a good file inside.
    static func makeDataDirectory(_ directory: String) throws -> String {
        let data = directory + "/data"
        #expect(mkdir(data, 0o755) == 0 && mkdir(data + "/sub", 0o755) == 0)
        try Fixtures.write("1 2 3\n", to: data + "/a.txt")
        try Fixtures.write("4 5 6\n", to: data + "/b.txt")
        try Fixtures.write("", to: data + "/empty.txt")
        try Fixtures.write("7 8 9\n", to: directory + "/outside.txt")
        #expect(symlink("../outside.txt", data + "/link.txt") == 0)
        #expect(symlink(directory + "/outside.txt", data + "/absolute-link.txt") == 0)
        #expect(symlink("a.txt", data + "/inside-link.txt") == 0)
        return data
    }

    /// Builds a cache from the CSV `text` over `data` (text files of 3 float32 values, labels),
    /// returning the build's error. Paths are confined to `data` unless `paths` says otherwise.
    static func buildError(csv text: [UInt8], data: String, in directory: String,
                           paths: PathPolicy = .confinedToDataDirectory,
                           allowSymlinks: Bool = false, policy: RecordErrorPolicy = .fail) throws -> (any Error)? {
        let csvPath = directory + "/inventory.csv"
        try FileIO.write(text, to: csvPath)
        do {
            let inventory = try Inventory(contentsOfCSVFile: csvPath)
            let decoder = ResourceDecoder(format: .text, dtype: .float32, shape: [3])
            let encoder = FileDataEncoder(directory: data, identity: decoder.identity,
                                          output: ArraySpec(.float32, [3]), paths: paths,
                                          allowsSymlinksOutside: allowSymlinks,
                                          transform: { try decoder.decode($0) })
            var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder,
                                           targetEncoder: RecordTargetEncoder.label(column: "label"))
            try dataSet.fitEncoders()
            let options = CacheBuildOptions(workers: 2, onError: policy)
            _ = try CacheBuilder(dataSet: dataSet, output: directory + "/out.dgcache", options: options).build()
            return nil
        } catch {
            return error
        }
    }

    /// A hostile id placed at row 1 of a three-row inventory, and what its error must say.
    struct HostileID: Sendable, CustomTestStringConvertible {
        var name: String
        var id: String
        var mentions: [String]
        var testDescription: String { name }
    }

    static let hostileIDs: [HostileID] = [
        HostileID(name: "parent directory", id: "../outside.txt", mentions: ["outside the data directory", "../outside.txt"]),
        HostileID(name: "parent after a sub-directory", id: "sub/../../outside.txt", mentions: ["outside the data directory"]),
        HostileID(name: "absolute path", id: "/etc/passwd", mentions: ["outside the data directory", "/etc/passwd"]),
        HostileID(name: "relative symlink leaving the directory", id: "link.txt", mentions: ["outside the data directory", "link.txt"]),
        HostileID(name: "absolute symlink leaving the directory", id: "absolute-link.txt", mentions: ["outside the data directory"]),
        HostileID(name: "empty file", id: "empty.txt", mentions: ["empty.txt"]),
        HostileID(name: "missing file", id: "missing.txt", mentions: ["not found", "missing.txt"]),
        HostileID(name: "a directory", id: "sub", mentions: ["sub"]),
        HostileID(name: "empty id", id: "", mentions: ["outside the data directory"]),
        HostileID(name: "1 MB id", id: String(repeating: "x", count: 1 << 20), mentions: []),
    ]

    @Test("hostile ids stop the build with recordFailed naming row 1, its id and the cause", arguments: hostileIDs)
    func hostileIDStopsTheBuildNamingTheRow(_ hostile: HostileID) throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let csv = "id,label\na.txt,x\n\"\(hostile.id)\",y\nb.txt,x\n"
            let error = try Self.buildError(csv: Array(csv.utf8), data: data, in: directory)
            guard case let .recordFailed(row, id, _, reason, _)? = error as? CacheError else {
                Issue.record("expected recordFailed, got \(String(describing: error))")
                return
            }
            #expect(row == 1)
            #expect(id == hostile.id)
            let message = "\(error!)"
            #expect(message.hasPrefix("row 1"))
            for fragment in hostile.mentions { #expect(reason.contains(fragment), "\(reason.prefix(300))") }
            #expect(access(directory + "/out.dgcache", F_OK) != 0, "no cache is published")
        }
    }

    @Test("under the skip policy each hostile id is left out and listed with its row and cause")
    func hostileIDsAreSkippedAndListed() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let hostile = Self.hostileIDs.filter { $0.id.utf8.count < 1000 }
            let rows = ["a.txt"] + hostile.map(\.id) + ["inside-link.txt", "b.txt"]
            let csv = "id,label\n" + rows.enumerated().map { "\"\($1)\",l\($0 % 2)\n" }.joined()
            #expect(try Self.buildError(csv: Array(csv.utf8), data: data, in: directory, policy: .skip) == nil)
            let cache = try CacheFile(path: directory + "/out.dgcache")
            #expect(cache.skipped.map(\.row) == Array(1...hostile.count))
            #expect(cache.skipped.map(\.id) == hostile.map(\.id))
            #expect(try cache.ids() == ["a.txt", "inside-link.txt", "b.txt"])
            let values = try cache.gather(column: "data", rows: [0, 1, 2]).doubles()
            #expect(values == [1, 2, 3, 1, 2, 3, 4, 5, 6], "a symlink inside the directory is followed")
        }
    }

    @Test("symlinks leaving the data directory are followed only when allowed")
    func symlinksOutsideNeedTheOption() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let csv = Array("id,label\nlink.txt,x\n".utf8)
            #expect(try Self.buildError(csv: csv, data: data, in: directory) is CacheError)
            #expect(try Self.buildError(csv: csv, data: data, in: directory, allowSymlinks: true) == nil)
            #expect(try CacheFile(path: directory + "/out.dgcache").gather(column: "data", rows: [0]).doubles() == [7, 8, 9])
        }
    }

    @Test("a symlink swapped between inside and outside while files are read never leaks the outside file")
    func swappedSymlinkNeverLeaksTheOutsideFile() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let inventory = try Inventory(columns: [("id", ["swap.txt"]), ("label", ["x"])])
            let encoder = FileDataEncoder(directory: data, identity: "bytes", output: ArraySpec(.uint8, [6]),
                                          paths: .confinedToDataDirectory) {
                try NDArray(dtype: .uint8, shape: [$0.bytes.count], bytes: $0.bytes)
            }
            #expect(symlink("a.txt", data + "/swap.txt") == 0)
            // Another thread keeps replacing the link, atomically, with one leading outside and back.
            let stop = StopFlag()
            let swapper = WorkerThread {
                var outside = false
                while !stop.value.load(ordering: .relaxed) {
                    outside.toggle()
                    unlink(data + "/next.txt")
                    _ = symlink(outside ? "../outside.txt" : "a.txt", data + "/next.txt")
                    rename(data + "/next.txt", data + "/swap.txt")
                }
            }
            var inside = 0, refused = 0
            for _ in 0..<3000 {
                do {
                    let bytes = try encoder.contents(of: inventory[0]).bytes
                    #expect(bytes == Array("1 2 3\n".utf8), "read \(bytes)")
                    inside += 1
                } catch EncodingError.outsideDataDirectory {
                    refused += 1
                } catch {
                    Issue.record("unexpected \(error)")
                }
            }
            stop.value.store(true, ordering: .relaxed)
            swapper.join()
            #expect(inside + refused == 3000)
            #expect(inside > 0 && refused > 0, "the swaps never met a read: \(inside) inside, \(refused) refused")
        }
    }

    @Test("FIFOs are never waited on: one outside through a symlink is refused, one inside is not a regular file")
    func fifosAreRefusedWithoutBlocking() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            #expect(mkfifo(directory + "/outside.fifo", 0o644) == 0 && mkfifo(data + "/inside.fifo", 0o644) == 0)
            #expect(symlink("../outside.fifo", data + "/fifo-link") == 0)
            let inventory = try Inventory(columns: [("id", ["fifo-link", "inside.fifo"]), ("label", ["x", "y"])])
            let encoder = FileDataEncoder(directory: data, identity: "bytes", output: ArraySpec(.uint8, [6]),
                                          paths: .confinedToDataDirectory) {
                try NDArray(dtype: .uint8, shape: [$0.bytes.count], bytes: $0.bytes)
            }
            // Each returns at once (a blocking open would hang the test: no writer ever comes).
            do {
                _ = try encoder.contents(of: inventory[0])
                Issue.record("the FIFO outside the directory was read")
            } catch EncodingError.outsideDataDirectory {
            } catch {
                Issue.record("expected outsideDataDirectory, got \(error)")
            }
            let error = #expect(throws: EncodingError.self) { _ = try encoder.contents(of: inventory[1]) }
            #expect(error?.description.contains("not a regular file") == true, "\(String(describing: error))")
        }
    }

    @Test("an id holding a NUL byte (from an API, not a CSV) is refused, never truncated to another file")
    func nulInIDIsRefused() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let inventory = try Inventory(columns: [("id", ["a.txt", "a.txt\u{0}.png"]), ("label", ["x", "y"])])
            let encoder = FileDataEncoder(directory: data, identity: "text", output: ArraySpec(.uint8, [6]),
                                          paths: .confinedToDataDirectory) {
                try NDArray(dtype: .uint8, shape: [$0.bytes.count], bytes: $0.bytes)
            }
            let error = #expect(throws: EncodingError.self) { _ = try encoder.encode(inventory[1]) }
            #expect(error?.description.contains("row 1") == true)
            #expect(error?.description.contains("outside the data directory") == true)
        }
    }

    /// A CSV case refused by the parser, and the line its error must name.
    struct HostileCSV: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var line: Int
        var mentions: [String]
        var testDescription: String { name }
    }

    static let hostileCSVs: [HostileCSV] = [
        HostileCSV(name: "NUL byte", bytes: Array("id,label\na.txt,x\nb.t\u{0}xt,y\n".utf8), line: 3, mentions: ["NUL"]),
        HostileCSV(name: "invalid UTF-8", bytes: Array("id,label\na.txt,x\nb.txt,".utf8) + [0xC3, 0x28, 0x0A], line: 3, mentions: ["UTF-8"]),
        HostileCSV(name: "missing field", bytes: Array("id,label\na.txt,x\nb.txt\n".utf8), line: 3, mentions: []),
        HostileCSV(name: "extra field", bytes: Array("id,label\na.txt,x\nb.txt,y,z\n".utf8), line: 3, mentions: []),
        HostileCSV(name: "unterminated quote", bytes: Array("id,label\na.txt,x\n\"b.txt,y\n".utf8), line: 3, mentions: ["quote"]),
        HostileCSV(name: "duplicate id", bytes: Array("id,label\na.txt,x\nb.txt,y\na.txt,z\n".utf8), line: 4,
                   mentions: ["duplicate id 'a.txt'", "rows 0 (line 2) and 2 (line 4)"]),
        HostileCSV(name: "empty file", bytes: [], line: 1, mentions: []),
        HostileCSV(name: "only a byte-order mark", bytes: [0xEF, 0xBB, 0xBF], line: 1, mentions: []),
    ]

    @Test("malformed inventory files give malformedCSV naming the file and the line", arguments: hostileCSVs)
    func malformedCSVNamesTheLine(_ hostile: HostileCSV) throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let error = try Self.buildError(csv: hostile.bytes, data: data, in: directory)
            guard case let .malformedCSV(source, line, reason)? = error as? InventoryError else {
                Issue.record("expected malformedCSV, got \(String(describing: error))")
                return
            }
            #expect(source == directory + "/inventory.csv")
            #expect(line == hostile.line)
            #expect("\(error!)".hasPrefix("\(source):\(hostile.line):"))
            for fragment in hostile.mentions { #expect(reason.contains(fragment), "\(reason)") }
        }
    }

    @Test("an inventory without the id column fails naming row 0 and the columns it has")
    func missingIDColumnNamesTheRow() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let error = try Self.buildError(csv: Array("name,label\na.txt,x\n".utf8), data: data, in: directory)
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("row 0"), "\(message)")
            #expect(message.contains("'id'") && message.contains("name, label"), "\(message)")
        }
    }

    @Test("an inventory without the target column fails naming the column and the columns it has")
    func missingTargetColumnIsNamed() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try Self.makeDataDirectory(directory)
            let error = try Self.buildError(csv: Array("id,kind\na.txt,x\n".utf8), data: data, in: directory)
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("'label'") && message.contains("id, kind"), "\(message)")
        }
    }

    @Test("a 1 MB field is data; a field over the 16 MiB cap is refused naming its line")
    func hugeFieldsAreBounded() throws {
        let megabyte = String(repeating: "v", count: 1 << 20)
        let inventory = try Inventory(csvText: "id,label\na,\"\(megabyte)\"\nb,x\n", source: "big.csv")
        #expect(try inventory.column("label")[0].utf8.count == 1 << 20)
        var bytes = Array("id,label\na,x\nb,".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "w"), count: 16 << 20 | 1)
        bytes += [0x0A]
        let error = #expect(throws: InventoryError.self) { _ = try Inventory(csv: bytes, source: "huge.csv") }
        guard case let .malformedCSV(source, line, _)? = error else {
            Issue.record("expected malformedCSV, got \(String(describing: error))")
            return
        }
        #expect(source == "huge.csv" && line == 3)
    }
}

/// A flag one thread raises and another polls.
private final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
