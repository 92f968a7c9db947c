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
        let message = String(describing: error).split(separator: "\n").joined(separator: " ")
        FileHandleOutput.standardError.write("datagen: error: \(message)\n")
        return 1
    }
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
