/// An error configuring or iterating a ``GeneratorDataSet``.
public enum DataSetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A batch size larger than the data set while dropping partial batches: no batch could be served.
    case batchSizeTooLarge(batchSize: Int, size: Int)
    /// A shard that does not exist.
    case invalidShard(rank: Int, worldSize: Int)
    /// A data set with no data encoder asked for data.
    case noDataEncoder
    /// A data set with no target encoder asked for targets.
    case noTargetEncoder
    /// An invalid option value.
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .batchSizeTooLarge(batchSize, size):
            "batch size \(batchSize) is larger than the data set (\(size) records): use a smaller batch size or keep the last partial batch (truncate: false)"
        case let .invalidShard(rank, worldSize):
            "rank \(rank) does not exist in a world of size \(worldSize)"
        case .noDataEncoder:
            "the data set has no data encoder"
        case .noTargetEncoder:
            "the data set has no target encoder"
        case let .invalidOption(reason):
            reason
        }
    }
}
