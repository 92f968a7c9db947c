import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Ids resolve as every tool resolves a path unless paths are confined
/// (``PathPolicy/asGiven``, the default): an absolute id is read as it is, a relative one against
/// the data directory, `..` included, and symlinks are followed. The confined behaviour is
/// `HostileInventoryTests`'.
@Suite("Paths as given")
struct PathsAsGivenTests {
    /// A text encoder of 3 float32 values over `data` with paths as given.
    static func encoder(_ data: String, paths: PathPolicy = .asGiven) -> FileDataEncoder {
        let decoder = ResourceDecoder(format: .text, dtype: .float32, shape: [3])
        return FileDataEncoder(directory: data, identity: decoder.identity, output: ArraySpec(.float32, [3]),
                               paths: paths, transform: { try decoder.decode($0) })
    }

    @Test("the default policy reads paths as given")
    func theDefaultIsAsGiven() {
        #expect(Self.encoder("data").paths == .asGiven)
        let defaulted = FileDataEncoder(directory: "data", identity: "x", output: ArraySpec(.uint8, [1])) { NDArray($0.bytes) }
        #expect(defaulted.paths == .asGiven)
    }

    @Test("an absolute id is its own path; a relative one, '..' included, is joined to the data directory")
    func locationsFollowTheIDs() throws {
        let inventory = try Inventory(records: [["id": "/srv/images/a.txt"], ["id": "../shared/b.txt"], ["id": "c.txt"]])
        let encoder = Self.encoder("data")
        #expect(try inventory.records.map { try encoder.location(of: $0) } == ["/srv/images/a.txt", "data/../shared/b.txt", "data/c.txt"])
    }

    @Test("absolute ids, '..' ids and ids through a symlinked folder are read in a whole cache build")
    func outsidePathsAreReadWithoutConfinement() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try HostileInventoryTests.makeDataDirectory(directory)
            #expect(mkdir(directory + "/elsewhere", 0o755) == 0)
            try Fixtures.write("10 11 12\n", to: directory + "/elsewhere/e.txt")
            #expect(symlink("../elsewhere", data + "/linked-folder") == 0)
            let ids = ["a.txt", "../outside.txt", directory + "/outside.txt", "sub/../../outside.txt", "link.txt",
                       "absolute-link.txt", "linked-folder/e.txt", directory + "/elsewhere/../data/b.txt"]
            let csv = "id,label\n" + ids.map { "\"\($0)\",x\n" }.joined()
            #expect(try HostileInventoryTests.buildError(csv: Array(csv.utf8), data: data, in: directory, paths: .asGiven) == nil)
            let cache = try CacheFile(path: directory + "/out.dgcache")
            #expect(try cache.ids() == ids)
            #expect(try cache.gather(column: "data", rows: Array(0..<ids.count)).doubles()
                    == [1, 2, 3, 7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9, 10, 11, 12, 4, 5, 6])
        }
    }

    @Test("the same inventory is refused with the option, and the refusal says how to lift it")
    func confinementRefusesAndSaysHowToLiftIt() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try HostileInventoryTests.makeDataDirectory(directory)
            let csv = Array("id,label\na.txt,x\n\(directory)/outside.txt,y\n".utf8)
            let error = try HostileInventoryTests.buildError(csv: csv, data: data, in: directory)
            let message = "\(try #require(error))"
            #expect(message.contains("row 1 (line 3), id '\(directory)/outside.txt'"), "\(message)")
            #expect(message.contains("outside the data directory"), "\(message)")
            #expect(message.contains("drop --confine-to-data-dir"), "\(message)")
        }
    }

    @Test("without confinement a missing file, a directory and a NUL byte are still errors naming the record")
    func badPathsStillFailWithoutConfinement() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try HostileInventoryTests.makeDataDirectory(directory)
            let inventory = try Inventory(columns: [("id", ["/nonexistent/x.txt", "sub", "", "a.txt\u{0}.png", "../outside.txt"]),
                                                    ("label", ["x", "y", "z", "w", "v"])])
            let encoder = Self.encoder(data)
            #expect(throws: EncodingError.fileNotFound(row: 0, id: "/nonexistent/x.txt", path: "/nonexistent/x.txt")) {
                try encoder.encode(inventory[0])
            }
            #expect(throws: EncodingError.unreadable(row: 1, id: "sub", path: data + "/sub", reason: "it is a directory")) {
                try encoder.encode(inventory[1])
            }
            #expect(throws: EncodingError.unreadable(row: 2, id: "", path: data + "/", reason: "it is a directory")) {
                try encoder.encode(inventory[2])
            }
            let nul = #expect(throws: EncodingError.self) { try encoder.encode(inventory[3]) }
            #expect(nul?.description.contains("row 3") == true && nul?.description.contains("NUL") == true, "\(String(describing: nul))")
            #expect(try encoder.encode(inventory[4]).doubles() == [7, 8, 9])
        }
    }

    @Test("a FIFO reached through an outside symlink is refused without blocking when paths are given as they are")
    func fifosStillNeverBlock() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try HostileInventoryTests.makeDataDirectory(directory)
            #expect(mkfifo(directory + "/outside.fifo", 0o644) == 0)
            #expect(symlink("../outside.fifo", data + "/fifo-link") == 0)
            let inventory = try Inventory(columns: [("id", ["fifo-link"])])
            let error = #expect(throws: EncodingError.self) { _ = try Self.encoder(data).contents(of: inventory[0]) }
            #expect(error?.description.contains("not a regular file") == true, "\(String(describing: error))")
        }
    }

    @Test("the files factory takes the path policy: as given it reads an absolute id, confined it refuses it")
    func theFilesFactoryTakesThePolicy() throws {
        try CacheFixtures.withDirectory { directory in
            let data = try HostileInventoryTests.makeDataDirectory(directory)
            try Fixtures.write("id,target\na.txt,x\n\(directory)/outside.txt,y\n", to: directory + "/inventory.csv")
            func dataSet(_ paths: PathPolicy) throws -> GeneratorDataSet {
                try GeneratorDataSet.forFiles(inventory: directory + "/inventory.csv", dataDirectory: data,
                                              identity: "bytes", output: .variableLength(.uint8), targets: [LabelEncoder()],
                                              paths: paths) { NDArray($0.bytes) }
            }
            #expect(try dataSet(.asGiven).inventory.column("size") == ["6", "6"])
            let refused = #expect(throws: EncodingError.self) { try dataSet(.confinedToDataDirectory) }
            #expect(refused == .outsideDataDirectory(row: 1, id: directory + "/outside.txt",
                                                     path: data + "/" + directory + "/outside.txt", directory: data, line: 3))
        }
    }
}
