/// A data set served from a cache file: the batch API of ``GeneratorDataSet`` (uncached mode),
/// with every batch gathered from the cache by row index instead of running the encoders.
///
/// For the same options (seed, order, shard, batch size) the batches equal the uncached data
/// set's element for element: both follow the same ``BatchPlan``.
///
/// ```swift
/// let cached = try dataSet.cached(at: "train.dgcache")          // builds it once
/// let cursor = try cached.batches(BatchOptions(batchSize: 128, epochs: 10, order: .full, seed: 1))
/// while let batch = try cursor.next() { train(batch.data, batch.targets!) }
/// ```
public struct CachedDataSet: Sendable {
    /// The open cache: the file, or for a cache set (``source``) its first shard, whose columns
    /// and classes every shard has. Rows, ids and the fingerprint are ``source``'s.
    public let cache: CacheFile
    /// What the rows are read from: ``cache``, or a cache set of which ``rows`` are global rows.
    public let source: CacheSource
    /// The cache rows this data set serves, in its order (all rows, a split, or a subset).
    public let rows: [Int]
    /// The data columns, one per model input, in schema order.
    public let dataColumns: [CacheColumn]
    /// The target column, if the cache has one.
    public let targetColumn: CacheColumn?
    /// Fixed-shape columns decompressed into memory as they are served, when they fit the budget.
    var resident: any ColumnGathering
    /// Augmentations run on data columns every epoch, after the gather.
    public internal(set) var augmentations: [AugmentationStep] = []
    /// The columns delivered converted (``serving(column:as:scale:)``), by column name.
    public internal(set) var conversions: [String: ServeConversion] = [:]
    /// The conversion loops of ``conversions``, chosen once per column.
    var kernels: [String: ServeKernel] = [:]
    /// The image columns served through a transform (``transforming(column:with:)``), by name.
    var transformers: [String: ColumnTransformer] = [:]

    /// The bytes this data set may hold in memory: decompressed columns, and the batch buffers in
    /// flight of ``forEachBatch(_:_:)`` (default: half the machine's memory,
    /// ``defaultMemoryBudget``).
    ///
    /// Fixed-shape columns are made resident smallest first while their decompressed bytes fit:
    /// each unit of a resident column is decompressed once, the first time one of its rows is
    /// served, and later epochs copy from memory; a column stored uncompressed is served straight
    /// from the mapping instead (its pages are the page cache's, counted against the budget as
    /// a copy would be, and shared with other processes). The other columns are decompressed from the
    /// mapped file each time they are served, and the pages of the mapping they read are released
    /// (`madvise(MADV_DONTNEED)`) every quarter of the budget (at least 1 MiB, at most 64 MiB) read,
    /// so the file-backed resident memory stays bounded as well; use window order for such caches.
    /// ``forEachBatch(_:_:)`` prefetches fewer batches when the budget left after the resident
    /// columns cannot hold more (never fewer than the workers plus one).
    /// Copies of a data set (splits, subsets) share its resident columns.
    public var memoryBudget: Int {
        get { resident.budget }
        set { resident = source.gatherer(budget: newValue) }
    }

    /// All rows of `cache`.
    public init(cache: CacheFile) {
        self.init(cache: cache, rows: Array(0..<cache.rowCount))
    }

    /// Opens the cache at `path` and serves all its rows.
    /// - Throws: the errors of ``CacheFile/init(path:)``.
    public init(path: String) throws(CacheError) {
        switch try CacheSource(path: path) {
        case let .file(file): self.init(cache: file)
        case let .set(set): try self.init(set: set)
        }
    }

    /// All rows of the cache set `set`, numbered globally (shard after shard): the batches of one
    /// cache file of the same rows. Opens the first shard (for the columns); the others open as
    /// their rows are first served.
    /// - Throws: the errors of ``CacheSet/shard(_:)`` for the first shard.
    public init(set: CacheSet) throws(CacheError) {
        let source = CacheSource.set(set)
        self.init(cache: try set.shard(0), source: source, rows: Array(0..<set.rowCount))
    }

    init(cache: CacheFile, source: CacheSource? = nil, rows: [Int], resident: (any ColumnGathering)? = nil) {
        let source = source ?? .file(cache)
        self.cache = cache
        self.source = source
        self.rows = rows
        dataColumns = cache.columns.filter { $0.role == .data }
        targetColumn = cache.columns.first { $0.role == .target }
        self.resident = resident ?? source.gatherer(budget: defaultMemoryBudget)
    }

    /// The number of rows served.
    public var size: Int { rows.count }

    /// A copy whose data column `input` goes through `augmentation` every epoch, keyed as in
    /// ``GeneratorDataSet/augmenting(input:with:isStatic:)`` (by the rows' ids), so that cached
    /// and uncached epochs agree.
    /// - Precondition: the column is fixed-shape.
    public func augmenting(input: Int = 0, with augmentation: any Augmentation, isStatic: Bool = false) -> CachedDataSet {
        precondition(input >= 0 && input < dataColumns.count, "no data column \(input)")
        precondition(!dataColumns[input].spec.isVariableLength, "augmentations take fixed-shape columns")
        var copy = self
        copy.augmentations.append(AugmentationStep(input: input, augmentation: augmentation, isStatic: isStatic))
        return copy
    }

    /// The label classes of the cache's target encoder, if it has them.
    public var classes: [String]? { source.classes }

    // MARK: Subsets

    /// The data set restricted to `rows` (positions in this data set), in that order; no rebuild.
    /// - Throws: ``CacheError/rowOutOfRange(row:count:)``.
    public func subset(rows positions: some Sequence<Int>) throws(CacheError) -> CachedDataSet {
        var selected = [Int]()
        for position in positions {
            guard position >= 0 && position < size else { throw .rowOutOfRange(row: position, count: size) }
            selected.append(rows[position])
        }
        var subset = CachedDataSet(cache: cache, source: source, rows: selected, resident: resident)
        subset.augmentations = augmentations
        subset.conversions = conversions
        subset.kernels = kernels
        subset.transformers = transformers
        return subset
    }

    /// Splits into training, validation and test data sets, exactly as
    /// ``GeneratorDataSet/split(validation:test:seed:stratifiedBy:)`` splits the same rows
    /// (sizes `round(n × ratio)`, seeded; `stratified` spreads each target value in proportion).
    public func split(validation: Double = 0.2, test: Double = 0, seed: UInt64 = 0,
                      stratified: Bool = false) throws -> (training: CachedDataSet, validation: CachedDataSet, test: CachedDataSet) {
        var columns: [(String, [String])] = [("position", (0..<size).map(String.init))]
        if stratified {
            guard let targetColumn else { throw DataSetError.noTargetEncoder }
            let values = try source.arrays(column: targetColumn.name, rows: rows)
            columns.append(("stratum", values.map { $0.bytes.map(String.init).joined(separator: ",") }))
        }
        let table = try Inventory(columns: columns, idColumn: .none)
        let parts = try table.split(validation: validation, test: test, seed: seed, stratifiedBy: stratified ? "stratum" : nil)
        func part(_ inventory: Inventory) throws -> CachedDataSet {
            try subset(rows: inventory.column("position").map { Int($0)! })
        }
        return (try part(parts.training), try part(parts.validation), try part(parts.test))
    }

    // MARK: Whole columns

    /// Every row's data, one array per data column (variable-length columns padded at the end
    /// with zeros to the longest row).
    public func data() throws -> [NDArray] {
        guard !dataColumns.isEmpty else { throw DataSetError.noDataEncoder }
        return try dataColumns.map { try gather($0, rows: rows).array }
    }

    /// Every row's target.
    public func targets() throws -> NDArray {
        guard let targetColumn else { throw DataSetError.noTargetEncoder }
        return try gather(targetColumn, rows: rows).array
    }

    // MARK: Batches (owning form)

    /// The number of batches in each epoch under `options`.
    /// - Throws: ``DataSetError/batchSizeTooLarge(batchSize:size:)``.
    public func batchesPerEpoch(_ options: BatchOptions) throws -> Int {
        try BatchPlan(options: options, rowCount: size).batchesPerEpoch
    }

    /// Batches of (data, targets), each gathered on the worker threads into new arrays.
    public func batches(_ options: BatchOptions) throws -> BatchCursor<Batch> {
        let plan = try BatchPlan(options: options, rowCount: size)
        return BatchCursor(plan: plan, fingerprint: source.fingerprint) { [self] sequence in
            try batch(plan: plan, sequence: sequence, parts: .both)
        }
    }

    /// Batches continuing a run saved with ``BatchCursor/checkpoint``: exactly those the saved
    /// run would have served next.
    /// - Throws: ``CacheError/stale(path:differences:)`` for a state saved from another cache,
    ///   ``DataSetError/invalidOption(_:)`` when `options` describe another run.
    public func batches(_ options: BatchOptions, resumingFrom state: IteratorState) throws -> BatchCursor<Batch> {
        guard state.fingerprint == source.fingerprint else {
            throw CacheError.stale(path: source.path, differences: [
                "the iterator state was saved from another cache (fingerprint \(state.fingerprint ?? "none"), this cache \(source.fingerprint))",
            ])
        }
        return try batches(state.resuming(options))
    }

    /// Batches of (data, targets) with the seed library's parameters.
    public func batches(size batchSize: Int = 10, epochs: Int? = nil, truncate: Bool = true,
                        order: EpochOrder = .none, seed: UInt64 = 0, workers: Int? = nil) throws -> BatchCursor<Batch> {
        try batches(BatchOptions(batchSize: batchSize, epochs: epochs, truncate: truncate, order: order, seed: seed, workers: workers))
    }

    /// Batches of data only: one array per data column.
    public func dataBatches(_ options: BatchOptions) throws -> BatchCursor<[NDArray]> {
        guard !dataColumns.isEmpty else { throw DataSetError.noDataEncoder }
        let plan = try BatchPlan(options: options, rowCount: size)
        return BatchCursor(plan: plan) { [self] sequence in try batch(plan: plan, sequence: sequence, parts: .data).inputs }
    }

    /// Batches of targets only.
    public func targetBatches(_ options: BatchOptions) throws -> BatchCursor<NDArray> {
        guard targetColumn != nil else { throw DataSetError.noTargetEncoder }
        let plan = try BatchPlan(options: options, rowCount: size)
        return BatchCursor(plan: plan) { [self] sequence in try batch(plan: plan, sequence: sequence, parts: .targets).targets! }
    }

    private func batch(plan: BatchPlan, sequence: Int, parts: GeneratorDataSet.Parts) throws -> Batch {
        let (epoch, index) = plan.locate(sequence)
        let positions = plan.rows(epoch: epoch, index: index)
        let cacheRows = positions.map { rows[$0] }
        let inputs = parts == .targets ? [] : try dataColumns.map { try gather($0, rows: cacheRows, seed: plan.options.seed, epoch: epoch) }
        let targets = parts == .data ? nil : try targetColumn.map { try gather($0, rows: cacheRows).array }
        var arrays = inputs.map(\.array)
        if !augmentations.isEmpty && !arrays.isEmpty {
            let keys = try cacheRows.map { row in AugmentationRandom.key(id: try source.id(ofRow: row), row: row) }
            for step in augmentations {
                arrays[step.input] = try step.apply(to: arrays[step.input], keys: keys, seed: plan.options.seed, epoch: epoch)
            }
        }
        return Batch(inputs: arrays, targets: targets, rows: positions, epoch: epoch, index: index,
                     lengths: inputs.map(\.lengths), shapes: inputs.map(\.shapes))
    }

    /// `rows` of `column` as one array: stacked, padded at the end with zeros for a
    /// variable-length column (as a data encoder's default `finalizeBatch`), or padded to the
    /// batch's largest size along every axis for a variable-shape column, with its rows' shapes.
    /// A transformed column is rendered for epoch `epoch` under `seed`.
    func gather(_ column: CacheColumn, rows: [Int], seed: UInt64 = 0, epoch: Int = 0) throws -> (array: NDArray, lengths: [Int]?, shapes: [[Int]]?) {
        if let transformer = transformers[column.name] {
            return (try transformedBatch(transformer, rows: rows, seed: seed, epoch: epoch), nil, nil)
        }
        if !column.spec.isVariableLength {
            let kernel = kernels[column.name]
            let dtype = conversions[column.name]?.dtype ?? column.spec.dtype
            return (try NDArray(dtype: dtype, shape: [rows.count] + column.spec.shape) { (buffer) throws(CacheError) in
                try resident.gather(column: column.name, rows: rows, into: buffer, kernel: kernel)
            }, nil, nil)
        }
        if column.spec.isVariableShape {
            let padded = try Padding.paddedToLargest(try source.arrays(column: column.name, rows: rows), spec: column.spec)
            return (padded.array, nil, padded.shapes)
        }
        let padded = try Padding.padded(try source.arrays(column: column.name, rows: rows), spec: column.spec, value: 0, side: .end)
        return (padded.array, padded.lengths, nil)
    }
}

extension GeneratorDataSet {
    /// This data set backed by the cache at `path`: built first when it is missing or was built
    /// from other inputs (`policy: .buildIfNeeded`), or opened and checked against this data
    /// set (`policy: .openExisting`, where a stale cache is ``CacheError/stale(path:differences:)``).
    ///
    /// The encoders must be fitted. Rows skipped by the build (policy `skip`) are not served.
    public func cached(at path: String, policy: CachePolicy = .buildIfNeeded,
                       options: CacheBuildOptions = CacheBuildOptions()) throws -> CachedDataSet {
        switch policy {
        case .buildIfNeeded:
            _ = try CacheBuilder(dataSet: self, output: path, options: options).build()
        case .openExisting:
            break
        }
        var cached = CachedDataSet(cache: try CacheFile(path: path, for: self, dataColumnNames: options.dataColumnNames,
                                                        targetColumnName: options.targetColumnName))
        cached.augmentations = augmentations
        return cached
    }
}

/// What ``GeneratorDataSet/cached(at:policy:options:)`` does with the cache file.
public enum CachePolicy: Sendable, Hashable {
    /// Build it when missing or stale (a matching cache is opened as it is).
    case buildIfNeeded
    /// Only open it; a missing or stale cache is an error.
    case openExisting
}
