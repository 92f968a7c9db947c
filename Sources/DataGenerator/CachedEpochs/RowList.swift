/// The cache rows a ``CachedDataSet`` serves, in its order: all rows of the cache (or cache set),
/// held as a count alone, or a list (a split, a subset).
///
/// A data set over all of a set's 10⁸ rows holds no per-row memory: position `p` is row `p`.
public struct RowList: RandomAccessCollection, Sendable, Hashable {
    private enum Storage: Sendable, Hashable {
        case all(Int)
        case list([Int])
    }

    private let storage: Storage

    /// Rows `0..<count`, in order.
    public static func all(_ count: Int) -> RowList { RowList(storage: .all(Swift.max(0, count))) }

    /// These rows, in this order.
    public init(_ rows: [Int]) { storage = .list(rows) }

    private init(storage: Storage) { self.storage = storage }

    /// The first position: 0.
    public var startIndex: Int { 0 }

    /// The number of rows.
    public var endIndex: Int {
        switch storage {
        case let .all(count): count
        case let .list(rows): rows.count
        }
    }

    /// The row at `position`.
    @inline(__always)
    public subscript(position: Int) -> Int {
        switch storage {
        case .all: position
        case let .list(rows): rows[position]
        }
    }

    /// Whether the list is every row `0..<count`, in order (O(1) for ``all(_:)``).
    public func isAll(of count: Int) -> Bool {
        switch storage {
        case let .all(all): all == count
        case let .list(rows): rows.count == count && rows.enumerated().allSatisfy { $0.offset == $0.element }
        }
    }

    /// Whether every row lies in `0..<count` (O(1) for ``all(_:)``).
    public func isWithin(_ count: Int) -> Bool {
        switch storage {
        case let .all(all): all <= count
        case let .list(rows): rows.allSatisfy { $0 >= 0 && $0 < count }
        }
    }
}
