import ArgumentParser
import DataGenerator

/// `datagen cache …`: build, inspect, verify and benchmark cache files.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Build, inspect, verify and benchmark cache files.",
        subcommands: []
    )
}
