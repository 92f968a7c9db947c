import ArgumentParser
import DataGenerator

/// `datagen cache set …`: cache sets, manifests joining shards built apart into one cache.
struct CacheSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Join cache files (shards) into a cache set that every reader opens as one cache.",
        subcommands: [CacheSetCreateCommand.self]
    )
}

/// `datagen cache set create NAME.dgset SHARD...`: verifies the shards and writes the manifest.
struct CacheSetCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Verify shards and write the manifest NAME.dgset of the set they make, in the order given.",
        discussion: """
            Every shard is verified (as `cache verify`) and must have the first shard's columns and \
            label classes (build them with `cache build --shard K/N` from one inventory). Shards \
            lie in the manifest's folder or below it; the manifest records their paths relative to \
            it and is written atomically. `cache info|verify|show|bench` and every reader then \
            open NAME.dgset as one cache of the shards' rows, in order.
            """
    )

    @Argument(help: "The manifest to write (ending in .dgset).")
    var manifest: String

    @Argument(help: "The shards: cache files in row order.")
    var shards: [String]

    @Flag(help: "Print one JSON object with the result on standard output.")
    var json = false

    func validate() throws {
        guard CacheSet.isManifest(manifest) else { throw ValidationError("the manifest's name must end in .dgset: \(manifest)") }
        guard !shards.isEmpty else { throw ValidationError("name at least one shard") }
    }

    func run() throws {
        let set = try CacheSet.create(at: manifest, shards: shards)
        if json {
            JSON.object([
                ("path", .string(manifest)),
                ("shards", .int(set.shardCount)),
                ("rows", .int(set.rowCount)),
                ("fingerprint", .string(set.fingerprint)),
            ]).print()
        } else {
            print("wrote \(manifest): \(set.shardCount) shards, \(set.rowCount) rows (fingerprint \(set.fingerprint.prefix(16))…)")
        }
    }
}
