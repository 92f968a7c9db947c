import ArgumentParser

/// `--shard K/N`: shard K (from 0) of N equal parts of an inventory's rows.
struct Shard: ExpressibleByArgument, CustomStringConvertible {
    /// The shard's number, from 0.
    let index: Int
    /// How many shards the inventory is cut into.
    let count: Int

    /// Parses `K/N`; nil for anything else (the range is checked by ``validate()``).
    init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { return nil }
        self.index = index
        self.count = count
    }

    /// Parses `K/N` for `--shard`.
    /// - Throws: a ``ValidationError`` saying what `--shard` takes, for anything that is not `K/N`.
    static func parse(_ argument: String) throws -> Shard {
        guard let shard = Shard(argument: argument) else {
            throw ValidationError("--shard takes K/N (e.g. 0/4): shard K, from 0, of N; '\(argument)' is not of that form")
        }
        return shard
    }

    /// `K/N`.
    var description: String { "\(index)/\(count)" }

    /// Throws a usage error naming the option unless N ≥ 1 and 0 ≤ K < N.
    func validate() throws {
        guard count >= 1 else { throw ValidationError("--shard \(self): N must be at least 1") }
        guard (0..<count).contains(index) else {
            throw ValidationError("--shard \(self): K must be in 0..<\(count) (shards are numbered from 0)")
        }
    }

    /// The shard's rows of an inventory of `records` rows: [K·R/N, (K+1)·R/N).
    func rows(of records: Int) -> Range<Int> {
        (index * records / count)..<((index + 1) * records / count)
    }
}
