import Foundation
import Testing

/// The bytes `datagen cache build` writes, pinned by SHA-256: recorded from the builder before it
/// was split into a writer and its drivers (issue 17), so that any change to the bytes a build
/// writes for the same inputs shows here.
@Suite struct CacheBytesPinTests {
    /// A folder of `count` records (files `r<i><suffix>` holding `body(i)`, every file's
    /// modification time fixed so that the source stamps are the same on every run) and an
    /// inventory whose target column holds `label(i)`, in a new temporary directory.
    static func folder(count: Int, suffix: String, label: (Int) -> String,
                       body: (Int) -> Data) throws -> String {
        let directory = try CLI.temporaryDirectory()
        var csv = ",id,target\n"
        for index in 0..<count {
            csv += "\(index),r\(index),\(label(index))\n"
            let path = "\(directory)/r\(index)\(suffix)"
            try body(index).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(index))],
                                                  ofItemAtPath: path)
        }
        try Data(csv.utf8).write(to: URL(fileURLWithPath: directory + "/inventory.csv"))
        return directory
    }

    /// The lowercase hex SHA-256 of a file, by `sha256sum`.
    static func sha256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    /// Builds `directory`'s inventory with `arguments` added and returns the cache's SHA-256.
    static func build(_ directory: String, _ arguments: [String]) throws -> String {
        let output = directory + "/out.dgcache"
        let run = try CLI.run(["cache", "build", directory + "/inventory.csv", "-o", output, "--quiet", "--force"] + arguments)
        #expect(run.status == 0, "\(run.standardError)")
        return try sha256(output)
    }

    /// Expects `actual` to be the pinned SHA-256, naming it when it is not.
    static func expectPinned(_ actual: String, _ pinned: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual == pinned, "the bytes' SHA-256 is \(actual)", sourceLocation: sourceLocation)
    }

    @Test func textRecordsWithLabelsBuildToThePinnedBytesUnderLZ4AndNone() throws {
        let directory = try Self.folder(count: 300, suffix: ".txt", label: { ["cat", "dog", "emu"][$0 % 3] }) { index in
            Data((0..<40).map { String(($0 * 7 + index) % 50) }.joined(separator: " ").utf8)
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        Self.expectPinned(try Self.build(directory, ["--id-suffix", ".txt"]), "bace77a6c868a0d464028e8a5d4034a25d28465c653e29f8e104b34220de14c6")
        Self.expectPinned(try Self.build(directory, ["--id-suffix", ".txt", "--codec", "none", "--target", "onehot"]), "2d60ddb3770cd25aab4aab2d0622c452fa9e727dd3650d6ec48213910d933e33")
    }

    @Test func rawAndUTF8RecordsOfVaryingLengthsBuildToThePinnedBytes() throws {
        let directory = try Self.folder(count: 200, suffix: ".bin", label: { String($0 % 5) }) { index in
            Data((0..<(index % 37 * 11)).map { UInt8(truncatingIfNeeded: $0 * 13 + index) })
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        Self.expectPinned(try Self.build(directory, ["--id-suffix", ".bin", "--data", "raw", "--target", "int"]), "cb9da8f20ebdc8da084204d96b502926d83756fb007636aecbbf0409dc6888e1")
        Self.expectPinned(try Self.build(directory, ["--id-suffix", ".bin", "--data", "raw", "--codec", "none", "--target", "onehot"]), "ecb5ce8a59c75d022b43e333db7875296f6ca15d2f09d267514d44150bbabe23")
        let text = try Self.folder(count: 150, suffix: ".txt", label: { ["x", "y"][$0 % 2] }) { index in
            Data(String(repeating: "é\(index) mot ", count: index % 23).utf8)
        }
        defer { try? FileManager.default.removeItem(atPath: text) }
        Self.expectPinned(try Self.build(text, ["--id-suffix", ".txt", "--data", "utf8"]), "817b4127d3ec804814b0a44508ca31a2bb1b5d9aee702ec8253d5c476cf53bec")
    }

    /// The skipped records' reasons name each file below the data directory, never the machine's
    /// path to it: two folders holding the same records give the same bytes.
    @Test func skippedRecordsBuildToThePinnedBytesWhereverTheDataLie() throws {
        let folders = try (0..<2).map { _ in
            try Self.folder(count: 120, suffix: ".txt", label: { ["a", "b"][$0 % 2] }) { index in
                index % 17 == 5 ? Data("not a number".utf8) : Data((0..<12).map { String($0 + index) }.joined(separator: " ").utf8)
            }
        }
        defer { for folder in folders { try? FileManager.default.removeItem(atPath: folder) } }
        for folder in folders {
            Self.expectPinned(try Self.build(folder, ["--id-suffix", ".txt", "--on-error", "skip"]), "57f077ac07088f20a52b7792f068a35838052702f720d76d908c0942941f980b")
        }
    }
}
