/// The order in which an epoch visits the rows: a pure function of the seed, the epoch and the
/// row count (never of threads, codec, memory budget or machine).
public enum EpochOrder: Sendable, Hashable, Codable {
    /// Inventory order, every epoch.
    case none
    /// A uniform pseudo-random permutation per epoch (``FeistelPermutation``).
    case full
    /// Locality-preserving: the rows are cut into blocks of `rowsPerBlock`, the blocks are put in
    /// a random order, and rows are mixed within each window of `blocksPerWindow` consecutive
    /// blocks of that order. An epoch then reads one window of the file at a time.
    case window(rowsPerBlock: Int, blocksPerWindow: Int)

    /// Window order with the documented defaults: 512 rows per block, 16 blocks per window.
    public static let window = EpochOrder.window(rowsPerBlock: 512, blocksPerWindow: 16)

    /// The name used by the CLI and Python (`none`, `full`, `window`).
    public var name: String {
        switch self {
        case .none: "none"
        case .full: "full"
        case .window: "window"
        }
    }

    /// The order named `name` with default parameters.
    public init?(name: String) {
        switch name {
        case "none": self = .none
        case "full": self = .full
        case "window": self = .window
        default: return nil
        }
    }
}

/// One epoch's order of `count` rows: ``row(at:)`` maps a position of the epoch to a row.
public struct EpochPermutation: Sendable {
    /// The number of rows (and positions).
    public let count: Int
    private let kind: Kind

    private enum Kind: Sendable {
        case identity
        case full(FeistelPermutation)
        case window(WindowOrder)
    }

    /// The order of `epoch` under `order` and `seed`.
    public init(order: EpochOrder, seed: UInt64, epoch: Int, count: Int) {
        self.count = count
        switch order {
        case .none:
            kind = .identity
        case .full:
            kind = .full(FeistelPermutation(count: count, key: OrderKey.key(seed: seed, epoch: epoch, stream: .fullShuffle)))
        case let .window(rowsPerBlock, blocksPerWindow):
            kind = .window(WindowOrder(count: count, rowsPerBlock: max(1, rowsPerBlock),
                                       blocksPerWindow: max(1, blocksPerWindow), seed: seed, epoch: epoch))
        }
    }

    /// The row visited at `position` of the epoch.
    /// - Precondition: `0 <= position < count`.
    public func row(at position: Int) -> Int {
        switch kind {
        case .identity:
            precondition(position >= 0 && position < count)
            return position
        case let .full(permutation): return permutation.element(at: position)
        case let .window(window): return window.row(at: position)
        }
    }

    /// `buffer[i] = row(at: position(i))` for `i < count`, without allocating; faster than
    /// calling ``row(at:)`` per position for window order, whose positions of a batch share a
    /// window.
    public func fill(_ count: Int, position: (Int) -> Int, into buffer: UnsafeMutableBufferPointer<Int>) {
        switch kind {
        case let .window(window):
            window.fill(count, position: position, into: buffer)
        case let .full(permutation):
            permutation.fill(count, position: position, into: buffer)
        default:
            for index in 0..<count { buffer[index] = row(at: position(index)) }
        }
    }

    /// All rows in epoch order (O(count) memory; for tests and small data).
    public var rows: [Int] { (0..<count).map(row(at:)) }
}

/// Window order: blocks in Feistel order, rows Feistel-mixed within each window of blocks.
struct WindowOrder: Sendable {
    let count: Int
    let rowsPerBlock: Int
    let blocksPerWindow: Int
    let blockCount: Int
    let blockOrder: FeistelPermutation
    let seed: UInt64
    let epoch: Int
    /// Where the short last block (if any) lands in the block order, and how short it is.
    let shortBlockPosition: Int
    let shortfall: Int

    init(count: Int, rowsPerBlock: Int, blocksPerWindow: Int, seed: UInt64, epoch: Int) {
        self.count = count
        self.rowsPerBlock = rowsPerBlock
        self.blocksPerWindow = blocksPerWindow
        self.seed = seed
        self.epoch = epoch
        blockCount = (count + rowsPerBlock - 1) / rowsPerBlock
        blockOrder = FeistelPermutation(count: blockCount, key: OrderKey.key(seed: seed, epoch: epoch, stream: .blockOrder))
        let remainder = count % rowsPerBlock
        shortfall = remainder == 0 ? 0 : rowsPerBlock - remainder
        shortBlockPosition = blockCount == 0 ? 0 : blockOrder.position(of: blockCount - 1)
    }

    /// The number of rows in window `w`.
    func size(ofWindow w: Int) -> Int {
        let first = w * blocksPerWindow
        let blocks = min(blocksPerWindow, blockCount - first)
        var size = blocks * rowsPerBlock
        if shortBlockPosition >= first && shortBlockPosition < first + blocks { size -= shortfall }
        return size
    }

    /// The first position of window `w`.
    func start(ofWindow w: Int) -> Int {
        let firstBlock = w * blocksPerWindow
        var start = firstBlock * rowsPerBlock
        if shortBlockPosition < firstBlock { start -= shortfall }
        return start
    }

    /// The window holding `position`.
    func window(of position: Int) -> Int {
        // Every window holds blocksPerWindow·rowsPerBlock rows except where the short block lies.
        let full = blocksPerWindow * rowsPerBlock
        var w = position / full
        if start(ofWindow: w) > position { w -= 1 }
        if w + 1 < (blockCount + blocksPerWindow - 1) / blocksPerWindow, start(ofWindow: w + 1) <= position { w += 1 }
        return w
    }

    /// The permutation mixing the rows of window `w`.
    func mix(ofWindow w: Int) -> FeistelPermutation {
        FeistelPermutation(count: size(ofWindow: w), key: OrderKey.key(seed: seed, epoch: epoch, stream: .window, salt: UInt64(w)))
    }

    /// The rows of a block.
    func size(ofBlock block: Int) -> Int { block == blockCount - 1 ? rowsPerBlock - shortfall : rowsPerBlock }

    func row(at position: Int) -> Int {
        precondition(position >= 0 && position < count)
        let w = window(of: position)
        var offset = mix(ofWindow: w).element(at: position - start(ofWindow: w))
        // Walk the window's blocks (in block order) to the one holding `offset`.
        var slot = w * blocksPerWindow
        while true {
            let block = blockOrder.element(at: slot)
            let size = size(ofBlock: block)
            if offset < size { return block * rowsPerBlock + offset }
            offset -= size
            slot += 1
        }
    }

    /// `buffer[i] = row(at: position(i))` for `i < count`, computing each window's block list
    /// and mixing permutation once for a run of positions in the same window (a batch), instead
    /// of once per row, and mixing a run's positions four at a time
    /// (``FeistelPermutation/fill(_:position:into:)``): the same rows, without allocating.
    func fill(_ count: Int, position: (Int) -> Int, into buffer: UnsafeMutableBufferPointer<Int>) {
        // First the positions themselves, in the buffer; runs of one window are then mixed in
        // place (each lane's position is read before its row is written).
        for index in 0..<count {
            let at = position(index)
            precondition(at >= 0 && at < self.count)
            buffer[index] = at
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: blocksPerWindow) { blocks in
            var runStart = 0
            while runStart < count {
                let w = window(of: buffer[runStart])
                let windowStart = start(ofWindow: w)
                let windowEnd = windowStart + size(ofWindow: w)
                var runEnd = runStart + 1
                while runEnd < count, buffer[runEnd] >= windowStart, buffer[runEnd] < windowEnd { runEnd += 1 }
                let first = w * blocksPerWindow
                let blockCount = min(blocksPerWindow, self.blockCount - first)
                for slot in 0..<blockCount { blocks[slot] = blockOrder.element(at: first + slot) }
                // Without the short block every block holds rowsPerBlock rows: the slot is a division.
                let hasShort = shortfall > 0 && shortBlockPosition >= first && shortBlockPosition < first + blockCount
                let run = UnsafeMutableBufferPointer(rebasing: buffer[runStart..<runEnd])
                self.mix(ofWindow: w).fill(run.count, position: { run[$0] - windowStart }, into: run)
                for index in run.indices {
                    var offset = run[index]
                    var slot: Int
                    if hasShort {
                        slot = 0
                        while offset >= size(ofBlock: blocks[slot]) {
                            offset -= size(ofBlock: blocks[slot])
                            slot += 1
                        }
                    } else {
                        slot = offset / rowsPerBlock
                        offset -= slot * rowsPerBlock
                    }
                    run[index] = blocks[slot] * rowsPerBlock + offset
                }
                runStart = runEnd
            }
        }
    }
}

/// The positions of an epoch that one rank of a distributed job serves.
///
/// Rank `r` of `worldSize` takes positions `r, r + worldSize, r + 2·worldSize, …` of the epoch's
/// global order (as PyTorch's `DistributedSampler`). Every rank serves the same number of rows:
/// with ``Remainder/drop`` `⌊count / worldSize⌋`, the last rows are left out; with
/// ``Remainder/pad`` `⌈count / worldSize⌉`, positions past the end wrap to the epoch's first.
public struct Shard: Sendable, Hashable, Codable {
    /// What to do with the rows that do not divide evenly between ranks.
    public enum Remainder: String, Sendable, Hashable, Codable {
        /// Leave them out of this epoch (ranks stay disjoint).
        case drop
        /// Repeat the epoch's first rows to fill the last round.
        case pad
    }

    /// This process's rank, `0..<worldSize`.
    public let rank: Int
    /// The number of ranks.
    public let worldSize: Int
    /// How uneven counts are evened out.
    public let remainder: Remainder

    /// The whole epoch (one rank).
    public static let whole = Shard(unchecked: 0, 1, .drop)

    /// Rank `rank` of `worldSize`.
    /// - Throws: ``DataSetError/invalidShard(rank:worldSize:)``.
    public init(rank: Int, worldSize: Int, remainder: Remainder = .drop) throws(DataSetError) {
        guard worldSize >= 1, rank >= 0, rank < worldSize else { throw .invalidShard(rank: rank, worldSize: worldSize) }
        self.init(unchecked: rank, worldSize, remainder)
    }

    private init(unchecked rank: Int, _ worldSize: Int, _ remainder: Remainder) {
        self.rank = rank
        self.worldSize = worldSize
        self.remainder = remainder
    }

    /// The number of positions this rank serves of an epoch of `count` rows.
    public func count(of total: Int) -> Int {
        if worldSize == 1 { return total }
        switch remainder {
        case .drop: return total / worldSize
        case .pad: return total == 0 ? 0 : (total + worldSize - 1) / worldSize
        }
    }

    /// The global position of this rank's `local`-th position.
    public func globalPosition(_ local: Int, of total: Int) -> Int {
        let global = rank + local * worldSize
        return global < total ? global : global % total
    }
}
