import Foundation
import Testing

/// `datagen demo` and the CLI's conventions (help, exit codes, one-line errors), through the binary.
@Suite struct DemoCommandTests {
    @Test func helpListsTheSubcommands() throws {
        let run = try CLI.run(["--help"])
        #expect(run.status == 0)
        #expect(run.standardOutput.contains("cache"))
        #expect(run.standardOutput.contains("demo"))
    }

    @Test func demoWritesTheSeedLayoutAndPrintsThroughput() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try CLI.run(["demo", "--records", "40", "--dir", directory, "--epochs", "1", "--batch-size", "16"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("samples/s"))
        let inventory = try String(contentsOfFile: directory + "/inventory.csv", encoding: .utf8)
        let lines = inventory.split(separator: "\n")
        #expect(lines.first == ",id,target")
        #expect(lines.count == 41)
        #expect(lines[1].hasPrefix("0,mnist_0,"))
        let image = try String(contentsOfFile: directory + "/mnist_0.txt", encoding: .utf8)
        let rows = image.split(separator: "\n")
        #expect(rows.count == 28)
        #expect(rows.allSatisfy { $0.split(separator: " ").count == 28 })
        #expect(rows[0].split(separator: " ")[0] == "0.000000000000000000e+00")
    }

    @Test func usageErrorsExitWithTwoAndTheUsage() throws {
        let run = try CLI.run(["demo", "--records", "zero"])
        #expect(run.status == 2)
        #expect(run.standardError.contains("Usage"))
        let unknown = try CLI.run(["frobnicate"])
        #expect(unknown.status == 2)
    }

    @Test func demoIntoAFileThatIsNotADirectoryFailsWithOneLine() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/plain"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let run = try CLI.run(["demo", "--records", "5", "--dir", file + "/sub"])
        #expect(run.status == 1)
        #expect(run.standardError.split(separator: "\n").count == 1)
        #expect(run.standardError.contains(file))
    }
}
