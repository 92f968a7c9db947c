import ArgumentParser
import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The `datagen` command line.
///
/// Exit codes: 0 success; 1 bad input or a failed check (one line on standard error naming what is
/// wrong and where); 2 usage errors (with the usage).
@main
struct Datagen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datagen",
        abstract: "Build, inspect and benchmark DataGenerator cache files.",
        version: "datagen \(dataGeneratorVersion)",
        subcommands: [CacheCommand.self, DemoCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            Glibc.exit(Self.report(error))
        }
    }

    /// Prints `error` and returns the process's exit code.
    static func report(_ error: any Error) -> Int32 {
        let code = exitCode(for: error)
        if code == .success {  // --help, --version
            FileHandleOutput.standardOutput.write(fullMessage(for: error) + "\n")
            return 0
        }
        if code == .validationFailure {
            FileHandleOutput.standardError.write(fullMessage(for: error) + "\n")
            return 2
        }
        if error is ExitCode { return code.rawValue }
        if let usage = error as? UsageError {
            FileHandleOutput.standardError.write("datagen: error: \(usage)\n")
            return 2
        }
        let message = String(describing: error).split(separator: "\n").joined(separator: " ")
        FileHandleOutput.standardError.write("datagen: error: \(message)\n")
        return 1
    }
}

/// A usage error found once the command runs (an argument that does not fit the data it names,
/// such as `--rows` beyond a cache's rows): one line on standard error, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

/// Writes text to standard output or standard error without Foundation.
enum FileHandleOutput {
    case standardOutput, standardError

    func write(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(self == .standardOutput ? 1 : 2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { if errno == EINTR { continue } else { return } }
                offset += written
            }
        }
    }

    /// Whether the stream is a terminal.
    var isTerminal: Bool { isatty(self == .standardOutput ? 1 : 2) == 1 }
}
