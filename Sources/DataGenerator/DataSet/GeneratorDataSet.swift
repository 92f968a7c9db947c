/// An inventory with its data and target encoders, serving (data, targets) batches epoch after
/// epoch: the seed library's `GeneratorDataSet`, in uncached mode (every epoch runs the encoders).
///
/// ```swift
/// var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder,
///                                targetEncoder: RecordTargetEncoder.oneHot())
/// try dataSet.fitEncoders()
/// let (training, validation, _) = try dataSet.split(validation: 0.2, seed: 7)
/// let cursor = try training.batches(size: 128, epochs: 3, order: .full, seed: 1)
/// while let batch = try cursor.next() { … }
/// ```
public struct GeneratorDataSet: Sendable {
    /// The records, in serving order.
    public private(set) var inventory: Inventory
    /// The data encoders; each gives one input of a batch.
    public private(set) var dataEncoders: [any DataEncoding]
    /// The target encoder, if any.
    public private(set) var targetEncoder: (any TargetEncoder)?
    /// Augmentations run on inputs every epoch, in order (never stored in a cache).
    public private(set) var augmentations: [AugmentationStep] = []

    /// A data set with several data encoders (several model inputs).
    public init(inventory: Inventory, dataEncoders: [any DataEncoding], targetEncoder: (any TargetEncoder)? = nil) {
        self.inventory = inventory
        self.dataEncoders = dataEncoders
        self.targetEncoder = targetEncoder
    }

    /// A data set with one data encoder.
    public init(inventory: Inventory, dataEncoder: any DataEncoding, targetEncoder: (any TargetEncoder)? = nil) {
        self.init(inventory: inventory, dataEncoders: [dataEncoder], targetEncoder: targetEncoder)
    }

    /// The number of records.
    public var size: Int { inventory.count }

    /// A copy whose input `input` goes through `augmentation` every epoch, with randomness keyed
    /// by (seed, epoch, record id); `isStatic` holds the epoch term fixed. A cache built from the
    /// data set stores the input before the augmentation, and cached epochs run it again.
    /// - Precondition: the input is fixed-shape.
    public func augmenting(input: Int = 0, with augmentation: any Augmentation, isStatic: Bool = false) -> GeneratorDataSet {
        precondition(input >= 0 && input < dataEncoders.count, "no input \(input)")
        precondition(!dataEncoders[input].outputSpec.isVariableLength, "augmentations take fixed-shape inputs")
        var copy = self
        copy.augmentations.append(AugmentationStep(input: input, augmentation: augmentation, isStatic: isStatic))
        return copy
    }

    /// Fits the target encoder and every data encoder on the whole inventory.
    public mutating func fitEncoders() throws {
        try targetEncoder?.fit(on: inventory)
        for index in dataEncoders.indices { try dataEncoders[index].fit(on: inventory) }
    }

    /// Sorts the records by `columns` (stable; numerically for a column whose values are all
    /// numbers, else by code points), as the seed's `sort`.
    public mutating func sort(by columns: [String], ascending: Bool = true) throws {
        inventory = try inventory.sorted(by: columns, ascending: ascending)
    }

    /// Reorders the records once with a seeded shuffle (the seed's `shuffle`).
    public mutating func shuffle(seed: UInt64) {
        inventory = inventory.shuffled(seed: seed)
    }

    /// Splits into training, validation and test data sets sharing the encoders; see
    /// ``Inventory/split(validation:test:seed:stratifiedBy:)``.
    public func split(validation: Double = 0.2, test: Double = 0, seed: UInt64 = 0,
                      stratifiedBy column: String? = nil) throws -> (training: GeneratorDataSet, validation: GeneratorDataSet, test: GeneratorDataSet) {
        let parts = try inventory.split(validation: validation, test: test, seed: seed, stratifiedBy: column)
        return (with(parts.training), with(parts.validation), with(parts.test))
    }

    /// The data set restricted to `rows` of its inventory, in that order.
    public func subset(rows: some Sequence<Int>) throws -> GeneratorDataSet {
        with(try inventory.selecting(rows: rows))
    }

    private func with(_ inventory: Inventory) -> GeneratorDataSet {
        var copy = self
        copy.inventory = inventory
        return copy
    }

    // MARK: Whole arrays

    /// Every record's data, one array per data encoder, records along the first axis.
    public func data(workers: Int? = nil) throws -> [NDArray] {
        guard !dataEncoders.isEmpty else { throw DataSetError.noDataEncoder }
        if size == 0 || dataEncoders.contains(where: { $0.outputSpec.isVariableLength }) {
            return try encodeInputs(inventory.records).map(\.array)
        }
        let parts = try dataBatches(size: 256, epochs: 1, truncate: false, workers: workers).collect()
        return try dataEncoders.indices.map { index throws(ArrayError) in
            try NDArray.concatenate(parts.map { $0[index] })
        }
    }

    /// Every record's target, records along the first axis.
    public func targets() throws -> NDArray {
        guard let targetEncoder else { throw DataSetError.noTargetEncoder }
        return try targetEncoder.encodeBatch(inventory.records)
    }

    // MARK: Batches

    /// Batches of (data, targets).
    /// - Throws: ``DataSetError/batchSizeTooLarge(batchSize:size:)`` when `truncate` is on and no
    ///   batch fits.
    public func batches(size batchSize: Int = 10, epochs: Int? = nil, truncate: Bool = true,
                        order: EpochOrder = .none, seed: UInt64 = 0, workers: Int? = nil) throws -> BatchCursor<Batch> {
        try batches(BatchOptions(batchSize: batchSize, epochs: epochs, truncate: truncate, order: order,
                                 seed: seed, workers: workers))
    }

    /// Batches of (data, targets) under full options.
    public func batches(_ options: BatchOptions) throws -> BatchCursor<Batch> {
        let plan = try BatchPlan(options: options, rowCount: size)
        return BatchCursor(plan: plan) { [self] sequence in
            try encodeBatch(plan: plan, sequence: sequence, parts: .both)
        }
    }

    /// Batches continuing an uncached run saved with ``BatchCursor/checkpoint``.
    /// - Throws: ``DataSetError/invalidOption(_:)`` for a state saved from a cached run or
    ///   another run.
    public func batches(_ options: BatchOptions, resumingFrom state: IteratorState) throws -> BatchCursor<Batch> {
        guard state.fingerprint == nil else {
            throw DataSetError.invalidOption("the iterator state was saved from a cached run (fingerprint \(state.fingerprint!)); resume it on that cache")
        }
        return try batches(state.resuming(options))
    }

    /// Batches of data only: one array per data encoder (the targets are not encoded).
    public func dataBatches(size batchSize: Int = 10, epochs: Int? = nil, truncate: Bool = true,
                            order: EpochOrder = .none, seed: UInt64 = 0, workers: Int? = nil) throws -> BatchCursor<[NDArray]> {
        guard !dataEncoders.isEmpty else { throw DataSetError.noDataEncoder }
        let plan = try BatchPlan(options: BatchOptions(batchSize: batchSize, epochs: epochs, truncate: truncate,
                                                       order: order, seed: seed, workers: workers), rowCount: size)
        return BatchCursor(plan: plan) { [self] sequence in
            try encodeBatch(plan: plan, sequence: sequence, parts: .data).inputs
        }
    }

    /// Batches of targets only (the data encoders are not run).
    public func targetBatches(size batchSize: Int = 10, epochs: Int? = nil, truncate: Bool = true,
                              order: EpochOrder = .none, seed: UInt64 = 0, workers: Int? = nil) throws -> BatchCursor<NDArray> {
        guard targetEncoder != nil else { throw DataSetError.noTargetEncoder }
        let plan = try BatchPlan(options: BatchOptions(batchSize: batchSize, epochs: epochs, truncate: truncate,
                                                       order: order, seed: seed, workers: workers), rowCount: size)
        return BatchCursor(plan: plan) { [self] sequence in
            try encodeBatch(plan: plan, sequence: sequence, parts: .targets).targets!
        }
    }

    enum Parts { case data, targets, both }

    private func encodeBatch(plan: BatchPlan, sequence: Int, parts: Parts) throws -> Batch {
        let (epoch, index) = plan.locate(sequence)
        let rows = plan.rows(epoch: epoch, index: index)
        let records = rows.map { inventory[$0] }
        let inputs = parts == .targets ? [] : try encodeInputs(records)
        let targets = parts == .data ? nil : try targetEncoder?.encodeBatch(records)
        var arrays = inputs.map(\.array)
        if !augmentations.isEmpty && !arrays.isEmpty {
            let keys = records.map { AugmentationRandom.key(id: $0.id, row: $0.row) }
            for step in augmentations {
                arrays[step.input] = try step.apply(to: arrays[step.input], keys: keys, seed: plan.options.seed, epoch: epoch)
            }
        }
        return Batch(inputs: arrays, targets: targets, rows: rows, epoch: epoch, index: index,
                     lengths: inputs.map(\.lengths), shapes: inputs.map(\.shapes))
    }

    /// Runs every data encoder over `records`, checking each output against its spec.
    func encodeInputs(_ records: [Record]) throws -> [(array: NDArray, lengths: [Int]?, shapes: [[Int]]?)] {
        try dataEncoders.map { encoder in try Self.encodeWithLengths(records, with: encoder) }
    }

    /// One encoder's batch array for `records`.
    static func encode(_ records: [Record], with encoder: any DataEncoding) throws -> NDArray {
        try encodeWithLengths(records, with: encoder).array
    }

    /// One encoder's batch array for `records`, with each record's length along the first axis
    /// for a variable-length per-record encoder.
    static func encodeWithLengths(_ records: [Record], with encoder: any DataEncoding) throws -> (array: NDArray, lengths: [Int]?, shapes: [[Int]]?) {
        let spec = encoder.outputSpec
        if let perRecord = encoder as? any DataEncoder {
            var arrays = [NDArray]()
            arrays.reserveCapacity(records.count)
            for record in records {
                let array = try withContext(encoder, record) { try perRecord.encode(record) }
                guard spec.accepts(array) else {
                    throw EncodingError.unexpectedOutput(encoder: encoder.identity, row: record.row, id: record.id,
                                                         expected: spec, found: array.spec, line: record.line)
                }
                arrays.append(array)
            }
            let lengths = spec.isVariableLength && !spec.isVariableShape ? arrays.map { $0.shape.first ?? 0 } : nil
            let shapes = spec.isVariableShape ? arrays.map(\.shape) : nil
            return (try withContext(encoder, records.first) { try perRecord.finalizeBatch(arrays, records: records) }, lengths, shapes)
        }
        guard let batchEncoder = encoder as? any BatchDataEncoder else {
            throw DataSetError.invalidOption("encoder '\(encoder.identity)' is neither a DataEncoder nor a BatchDataEncoder")
        }
        let array = try withContext(encoder, records.first) { try batchEncoder.encodeBatch(records) }
        let fits = array.dtype == spec.dtype && array.shape.first == records.count
            && (spec.isVariableLength ? array.rank == spec.shape.count + 2 && Array(array.shape.dropFirst(2)) == spec.shape
                                      : Array(array.shape.dropFirst()) == spec.shape)
        guard fits else {
            throw EncodingError.unexpectedOutput(encoder: encoder.identity, row: records.first?.row ?? 0,
                                                 id: records.first?.id, expected: spec,
                                                 found: ArraySpec(array.dtype, array.shape), line: records.first?.line)
        }
        return (array, nil, nil)
    }

    /// Runs `body`, turning foreign errors into ``EncodingError/failed(encoder:row:id:reason:line:)``
    /// that name the encoder and record.
    private static func withContext<R>(_ encoder: any DataEncoding, _ record: Record?, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as EncodingError {
            throw record.map { error.withLine(from: $0.inventory) } ?? error
        } catch let error as InventoryError {
            throw error
        } catch {
            throw EncodingError.failed(encoder: encoder.identity, row: record?.row ?? 0, id: record?.id,
                                       reason: String(describing: error), line: record?.line)
        }
    }
}

extension NDArray {
    /// Joins arrays along their existing first axis (all other dimensions must agree).
    public static func concatenate(_ arrays: [NDArray]) throws(ArrayError) -> NDArray {
        guard let first = arrays.first else { throw .emptyStack }
        var bytes = [UInt8]()
        var rows = 0
        for (index, array) in arrays.enumerated() {
            guard array.dtype == first.dtype, array.rank >= 1, array.shape.dropFirst() == first.shape.dropFirst() else {
                throw .stackMismatch(index: index, expected: first.spec, found: array.spec)
            }
            rows += array.shape[0]
            bytes.append(contentsOf: array.bytes)
        }
        return try NDArray(dtype: first.dtype, shape: [rows] + first.shape.dropFirst(), bytes: bytes)
    }
}
