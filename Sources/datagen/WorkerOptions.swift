import ArgumentParser

/// `--workers N`, the threads of every subcommand that runs encoders or serves batches. `--jobs`,
/// the old spelling of `cache build`, still works and is not shown in the help.
struct WorkerOptions: ParsableArguments {
    @Option(help: "Worker threads (default: building, the CPUs this process may use: its affinity mask, capped by a cgroup CPU quota; serving batches, one fewer, at least 1, since the consumer gathers too; 0: the calling thread).")
    var workers: Int?

    @Option(name: .customLong("jobs"), help: .hidden)
    var jobs: Int?

    /// The thread count asked for, nil for the default.
    var count: Int? { workers ?? jobs }

    func validate() throws {
        if workers != nil && jobs != nil { throw ValidationError("give --workers or --jobs (its old name), not both") }
        if let count, count < 0 { throw ValidationError("--workers must be 0 or more") }
    }
}
