extension Inventory {
    /// The records sorted by `columns` (stable): a column whose values all parse as numbers sorts
    /// numerically, any other by Unicode code points.
    /// - Throws: ``InventoryError/missingColumn(_:available:)``.
    public func sorted(by columns: [String], ascending: Bool = true) throws(InventoryError) -> Inventory {
        var keys: [([Double]?, [String])] = []
        for name in columns {
            let values = try column(name)
            let numbers = values.map { Double($0.trimmingSpaces) }
            keys.append((numbers.allSatisfy { $0 != nil } ? numbers.map { $0! } : nil, values))
        }
        let order = (0..<count).sorted { a, b in
            for (numbers, strings) in keys {
                if let numbers {
                    if numbers[a] != numbers[b] { return ascending ? numbers[a] < numbers[b] : numbers[a] > numbers[b] }
                } else if strings[a] != strings[b] {
                    let less = strings[a].unicodeScalars.lexicographicallyPrecedes(strings[b].unicodeScalars)
                    return ascending ? less : !less
                }
            }
            return a < b  // stable
        }
        return try selecting(rows: order)
    }

    /// The records in a seeded random order (Fisher–Yates over ``SplitMix64``).
    public func shuffled(seed: UInt64) -> Inventory {
        var order = Array(0..<count)
        var generator = SplitMix64(seed: seed)
        order.seededShuffle(using: &generator)
        return try! selecting(rows: order)  // rows are in range by construction
    }

    /// Splits the records into training, validation and test inventories.
    ///
    /// Sizes follow the seed library: test `round(count × test)`, validation
    /// `round(count × validation)` (rounding half to even, as Python's `round`), training the
    /// rest. Records are drawn with a seeded shuffle; with `stratifiedBy` each value of that column
    /// is spread over the parts in proportion (largest remainders). Each part keeps the
    /// inventory's order.
    /// - Throws: ``InventoryError/invalidSplit(_:)`` for ratios outside 0…1 or summing above 1,
    ///   ``InventoryError/missingColumn(_:available:)``.
    public func split(validation: Double = 0.2, test: Double = 0, seed: UInt64 = 0,
                      stratifiedBy column: String? = nil) throws(InventoryError) -> (training: Inventory, validation: Inventory, test: Inventory) {
        guard (0...1).contains(validation) else { throw .invalidSplit("validation ratio \(validation) is not between 0 and 1") }
        guard (0...1).contains(test) else { throw .invalidSplit("test ratio \(test) is not between 0 and 1") }
        guard validation + test <= 1 else { throw .invalidSplit("validation plus test ratios \(validation + test) exceed 1") }
        let testSize = Int((Double(count) * test).rounded(.toNearestOrEven))
        let validationSize = Int((Double(count) * validation).rounded(.toNearestOrEven))
        guard testSize + validationSize <= count else { throw .invalidSplit("the rounded sizes exceed \(count) records") }

        var generator = SplitMix64(seed: seed)
        var groups: [[Int]]
        if let column {
            let values = try self.column(column)
            var byValue = [String: Int]()
            groups = []
            for (row, value) in values.enumerated() {
                if let index = byValue[value] { groups[index].append(row) } else {
                    byValue[value] = groups.count
                    groups.append([row])
                }
            }
        } else {
            groups = [Array(0..<count)]
        }
        for index in groups.indices { groups[index].seededShuffle(using: &generator) }

        var testRows = [Int](), validationRows = [Int](), trainingRows = [Int]()
        let testQuota = Self.apportion(testSize, over: groups.map(\.count))
        let remaining = zip(groups, testQuota).map { $0.count - $1 }
        let validationQuota = Self.apportion(validationSize, over: remaining)
        for (index, group) in groups.enumerated() {
            testRows += group[0..<testQuota[index]]
            validationRows += group[testQuota[index]..<(testQuota[index] + validationQuota[index])]
            trainingRows += group[(testQuota[index] + validationQuota[index])...]
        }
        return (try selecting(rows: trainingRows.sorted()), try selecting(rows: validationRows.sorted()),
                try selecting(rows: testRows.sorted()))
    }

    /// Splits `total` over groups of `sizes` in proportion: floors, then the largest remainders
    /// (ties to the earlier group), never more than a group holds.
    static func apportion(_ total: Int, over sizes: [Int]) -> [Int] {
        let all = sizes.reduce(0, +)
        guard all > 0, total > 0 else { return sizes.map { _ in 0 } }
        var quota = sizes.map { $0 * total / all }
        var left = total - quota.reduce(0, +)
        let byRemainder = sizes.indices.sorted { a, b in
            let ra = sizes[a] * total % all, rb = sizes[b] * total % all
            return ra != rb ? ra > rb : a < b
        }
        var cursor = 0
        while left > 0 {
            let index = byRemainder[cursor % byRemainder.count]
            if quota[index] < sizes[index] {
                quota[index] += 1
                left -= 1
            }
            cursor += 1
        }
        return quota
    }
}
