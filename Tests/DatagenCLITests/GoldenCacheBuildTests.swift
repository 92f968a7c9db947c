import Foundation
import Testing

/// The golden caches of `Tests/Golden` (golden.json), rebuilt by the CLI from their committed
/// sources: files written by `datagen cache build` stay byte-identical for the same inputs.
@Suite("Golden cache builds")
struct GoldenCacheBuildTests {
    /// What the rebuild needs of `golden.json`.
    struct Manifest: Decodable {
        struct Cache: Decodable, Sendable, CustomTestStringConvertible {
            let name: String
            let file: String
            let sources: String
            /// `datagen` arguments, `{dir}` standing for the sources' folder and `{output}` for the cache.
            let build: [String]
            var testDescription: String { name }
        }

        /// The modification time (seconds since 1970) every source file gets before a build: the
        /// cache keeps each source's size and time.
        let sourceModificationTime: Int
        let caches: [Cache]
    }

    static let golden: String = {
        let file = #filePath
        let tests = file[..<file.lastIndex(of: "/")!]
        return String(tests[..<tests.lastIndex(of: "/")!]) + "/Golden"
    }()

    static let manifest: Manifest = {
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: golden + "/golden.json")))
        } catch {
            fatalError("Tests/Golden/golden.json cannot be read: \(error)")
        }
    }()

    @Test("the CLI rebuilds each golden cache byte for byte from its sources", arguments: manifest.caches)
    func cliRebuildsEachGoldenCacheByteForByte(_ cache: Manifest.Cache) throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sources = directory + "/sources"
        try FileManager.default.copyItem(atPath: Self.golden + "/" + cache.sources, toPath: sources)
        let stamp = Date(timeIntervalSince1970: TimeInterval(Self.manifest.sourceModificationTime))
        for name in try FileManager.default.contentsOfDirectory(atPath: sources) {
            try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: sources + "/" + name)
        }
        let output = directory + "/rebuilt.dgcache"
        let arguments = cache.build.map {
            $0.replacingOccurrences(of: "{dir}", with: sources).replacingOccurrences(of: "{output}", with: output)
        }
        let run = try CLI.run(arguments)
        #expect(run.status == 0, "\(run.standardError)")
        let rebuilt = try Data(contentsOf: URL(fileURLWithPath: output))
        let golden = try Data(contentsOf: URL(fileURLWithPath: Self.golden + "/" + cache.file))
        #expect(rebuilt == golden, "\(cache.name): \(rebuilt.count) bytes rebuilt, \(golden.count) golden")
    }
}
