import Foundation
import Testing

/// A build killed with SIGKILL part-way resumes and ends byte-identical to an uninterrupted build;
/// no file at the output path is ever incomplete.
@Suite struct CacheKillTests {
    @Test func aKilledBuildResumesToTheSameBytes() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var csv = ",id,target\n"
        for index in 0..<6000 {
            csv += "\(index),r\(index),\(index % 7)\n"
            let values = (0..<150).map { String(($0 * 31 + index * 17) % 256) }.joined(separator: " ")
            try Data(values.utf8).write(to: URL(fileURLWithPath: "\(directory)/r\(index).txt"))
        }
        let inventory = directory + "/inventory.csv"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: inventory))
        let reference = directory + "/reference.dgcache"
        let output = directory + "/killed.dgcache"
        let common = ["cache", "build", inventory, "--id-suffix", ".txt", "--quiet"]
        let built = try CLI.run(common + ["-o", reference])
        #expect(built.status == 0, "\(built.standardError)")
        let expected = try Data(contentsOf: URL(fileURLWithPath: reference))

        var resumedSomewhere = false
        // Each kill lands once the journal holds a first group (not after a fixed delay: on a
        // loaded machine that made every kill land before the first group or after the end),
        // plus a different extra delay per round.
        let journal = output + ".partial.journal"
        for delay in [0.0, 0.05, 0.2] {
            try? FileManager.default.removeItem(atPath: output)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.executable)
            process.arguments = common + ["-o", output, "--jobs", "1", "--force"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            var headerSize: Int?
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning && Date() < deadline {
                let size = (try? FileManager.default.attributesOfItem(atPath: journal)[.size] as? Int) ?? nil
                if let size, size > 0 {
                    if let headerSize, size > headerSize { break }  // a group's record was appended
                    if headerSize == nil { headerSize = size }
                }
                Thread.sleep(forTimeInterval: 0.002)
            }
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if FileManager.default.fileExists(atPath: output) {
                // Only a complete cache may ever appear under the final name.
                #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == expected)
            }
            let rerun = try CLI.run(common + ["-o", output, "--json"])
            #expect(rerun.status == 0, "\(rerun.standardError)")
            let report = try JSONSerialization.jsonObject(with: Data(rerun.standardOutput.utf8)) as? [String: Any]
            if let resumed = report?["resumed_records"] as? Int, resumed > 0 { resumedSomewhere = true }
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == expected, "after a kill at \(delay) s")
            #expect(try CLI.run(["cache", "verify", output]).status == 0)
            #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
        }
        #expect(resumedSomewhere, "no kill landed mid-build: the build was too fast to test resuming")
    }
}
