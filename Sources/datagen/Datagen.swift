import ArgumentParser
import DataGenerator

/// The `datagen` command line.
@main
struct Datagen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datagen",
        abstract: "Build, inspect and benchmark DataGenerator cache files.",
        subcommands: []
    )
}
