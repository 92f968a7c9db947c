import Foundation
import Testing

/// `datagen cache build | bench --uncached` with `--base-url`, end to end through the binary,
/// against the test server on 127.0.0.1.
@Suite struct CLIBaseURLTests {
    /// `datagen`, found next to the test binary in the build folder (this target depends on it).
    static let executable: String = {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: me).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("datagen").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("datagen").path
    }()

    /// Runs `datagen arguments…`; standard output and error go through files (no pipe to fill).
    static func run(_ arguments: [String], in directory: String) throws -> (status: Int32, output: String, error: String) {
        let outPath = directory + "/stdout", errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOfFile: outPath, encoding: .utf8),
                try String(contentsOfFile: errPath, encoding: .utf8))
    }

    @Test func aCacheBuiltFromABaseURLServesTheSameBatchesAsTheURLsUncached() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let directory = NSTemporaryDirectory() + "datagen-base-url-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inventory = directory + "/inventory.csv"
        let ids = (0..<40).map { "r\($0)" }
        try ("id,target\n" + ids.enumerated().map { "\($1),\($0 % 3)\n" }.joined()).write(toFile: inventory, atomically: true, encoding: .utf8)
        let cache = directory + "/remote.dgcache"
        let source = ["--base-url", server.url("/text/"), "--data", "utf8"]

        let build = try Self.run(["cache", "build", inventory, "-o", cache, "--quiet"] + source, in: directory)
        #expect(build.status == 0, "\(build.error)")
        #expect(server.stats.requests("/text/r7") >= 1)
        let show = try Self.run(["cache", "show", cache, "--rows", "7..<8", "--json"], in: directory)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [[String: Any]])
        let values = try #require(rows.first?["values"] as? [String: [Double]])
        #expect(values["data"]?.map { UInt8($0) } == Array("text of r7".utf8))

        var digests = Set<String>()
        for extra in [[], ["--uncached", inventory] + source] {
            let bench = try Self.run(["cache", "bench", cache, "--batch-size", "8", "--epochs", "2", "--json"] + extra, in: directory)
            #expect(bench.status == 0, "\(bench.error)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(bench.output.utf8)) as? [String: Any])
            digests.insert(try #require(object["digest"] as? String))
        }
        #expect(digests.count == 1, "the uncached epochs over the URLs differ from the cache's")

        // A record whose URL answers 404 stops the build, naming its row, id and URL.
        let broken = directory + "/broken.csv"
        try "id,target\nr0,0\nmissing-one,1\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let failed = try Self.run(["cache", "build", broken, "-o", directory + "/broken.dgcache", "--quiet",
                                   "--base-url", server.url("/missing/"), "--data", "utf8"], in: directory)
        #expect(failed.status == 1)
        #expect(failed.error.contains("row 0") || failed.error.contains("row 1"), "\(failed.error)")
        #expect(failed.error.contains("/missing/"), "\(failed.error)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/broken.dgcache"))
    }
}
