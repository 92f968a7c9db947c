/// An ordered table of string-valued records: the list of samples a data set serves.
///
/// Usually loaded from a CSV file with an id column naming each sample's file or URL and a target
/// column holding its label. Values are kept as strings, column by column; encoders parse them.
/// An inventory with an id column rejects duplicate ids.
///
/// ```swift
/// let inventory = try Inventory(contentsOfCSVFile: "mnist/inventory.csv")
/// inventory.count            // 12500
/// try inventory.column("target").prefix(3)
/// ```
public struct Inventory: Sendable, Equatable {
    /// The column names, in order.
    public private(set) var columnNames: [String]
    /// The name of the column holding each record's unique id, if the inventory has one.
    public let idColumn: String?
    /// Column-major values: `storage[column][row]`.
    var storage: [[String]]
    /// Column name → position in ``columnNames``.
    var columnIndex: [String: Int]
    /// The 1-based CSV line each record starts on, when the inventory came from a CSV text.
    var lines: [Int]?
    /// The CSV file (or the `source` name) the inventory was parsed from, if any.
    public private(set) var source: String?

    /// The number of records.
    public var count: Int { storage.first?.count ?? 0 }

    /// Whether the inventory has no records.
    public var isEmpty: Bool { count == 0 }

    /// Creates an inventory from named columns, in order.
    ///
    /// - Parameters:
    ///   - columns: pairs of column name and values; every column needs the same number of values.
    ///   - idColumn: the column of unique ids; `"id"` is used when present unless `nil` is given
    ///     through ``init(columns:idColumn:)`` with an explicit name absent from `columns`.
    /// - Throws: ``InventoryError/duplicateColumn(_:)``, ``InventoryError/columnLengthMismatch(column:expected:found:)``,
    ///   ``InventoryError/duplicateID(id:column:firstRow:secondRow:)``, or
    ///   ``InventoryError/missingColumn(_:available:)`` when an explicit id column is absent.
    public init(columns: [(String, [String])], idColumn: IDColumn = .automatic) throws(InventoryError) {
        var index = [String: Int]()
        for (position, (name, values)) in columns.enumerated() {
            guard index[name] == nil else { throw .duplicateColumn(name) }
            index[name] = position
            if let expected = columns.first?.1.count, values.count != expected {
                throw .columnLengthMismatch(column: name, expected: expected, found: values.count)
            }
        }
        let names = columns.map(\.0)
        switch idColumn {
        case .automatic: self.idColumn = index["id"] != nil ? "id" : nil
        case .none: self.idColumn = nil
        case let .named(name):
            guard index[name] != nil else { throw .missingColumn(name, available: names) }
            self.idColumn = name
        }
        self.columnNames = names
        self.storage = columns.map(\.1)
        self.columnIndex = index
        try checkUniqueIDs()
    }

    /// Creates an inventory from a dictionary of columns; columns are ordered by name.
    public init(dictionary: [String: [String]], idColumn: IDColumn = .automatic) throws(InventoryError) {
        try self.init(columns: dictionary.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                      idColumn: idColumn)
    }

    /// Creates an inventory from records given as dictionaries.
    ///
    /// - Parameter columns: the column order; by default the keys of the first record in the
    ///   order of first appearance over all records, sorted by name within each record.
    /// - Throws: ``InventoryError/missingValue(column:row:)`` when a record lacks a column.
    public init(records: [[String: String]], columns: [String]? = nil,
                idColumn: IDColumn = .automatic) throws(InventoryError) {
        var names = columns ?? []
        if columns == nil {
            var seen = Set<String>()
            for record in records {
                for key in record.keys.sorted() where seen.insert(key).inserted { names.append(key) }
            }
        }
        var values = names.map { _ in [String]() }
        for (row, record) in records.enumerated() {
            for (position, name) in names.enumerated() {
                guard let value = record[name] else { throw .missingValue(column: name, row: row) }
                values[position].append(value)
            }
        }
        try self.init(columns: Array(zip(names, values)), idColumn: idColumn)
    }

    /// Parses an inventory from CSV text (RFC 4180).
    ///
    /// Accepts quoted fields holding commas, quotes (`""`) and line breaks, CRLF or LF line ends, a
    /// UTF-8 byte-order mark, and the unnamed first index column that pandas' `DataFrame.to_csv`
    /// writes (it is dropped). Blank lines are skipped; an empty text (no header line) is an
    /// error. Invalid UTF-8, NUL bytes, stray quotes, a header over 100,000 columns and a field
    /// over 16 MiB are errors naming the line.
    /// - Parameter source: the name used in errors (a path).
    /// - Throws: ``InventoryError/malformedCSV(source:line:reason:)`` naming the line, and the
    ///   errors of ``init(columns:idColumn:)``.
    public init(csv bytes: some Collection<UInt8>, source: String = "<csv>",
                idColumn: IDColumn = .automatic) throws(InventoryError) {
        let contiguous = Array(bytes)
        let table: CSVTable
        do {
            table = try contiguous.withUnsafeBytes { raw in try CSVParser.parse(raw, source: source) }
        } catch {
            throw error as! InventoryError  // the closure throws nothing else
        }
        var header = table.header
        var columns = table.columns
        if header.first == "" {  // pandas' unnamed index column
            header.removeFirst()
            columns.removeFirst()
        }
        do {
            try self.init(columns: Array(zip(header, columns)), idColumn: idColumn)
        } catch let .duplicateID(id, column, first, second) {
            throw .malformedCSV(source: source, line: table.rowLines[second],
                                reason: "duplicate id '\(id)' in column '\(column)': rows \(first) (line \(table.rowLines[first])) and \(second) (line \(table.rowLines[second]))")
        }
        self.lines = table.rowLines
        self.source = source
    }

    /// Parses an inventory from CSV text held in a string.
    public init(csvText: String, source: String = "<csv>", idColumn: IDColumn = .automatic) throws(InventoryError) {
        try self.init(csv: Array(csvText.utf8), source: source, idColumn: idColumn)
    }

    /// Loads an inventory from a CSV file; see ``init(csv:source:idColumn:)``.
    /// - Throws: ``InventoryError/unreadableFile(path:reason:)`` and the parsing errors.
    public init(contentsOfCSVFile path: String, idColumn: IDColumn = .automatic) throws(InventoryError) {
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(path) } catch {
            throw .unreadableFile(path: path, reason: error.description)
        }
        try self.init(csv: bytes, source: path, idColumn: idColumn)
    }

    /// How an inventory finds its id column.
    public enum IDColumn: Sendable, Equatable, ExpressibleByStringLiteral {
        /// `"id"` when there is such a column, else none.
        case automatic
        /// No id column: ids are not checked for uniqueness (a target-only inventory).
        case none
        /// The named column, which must exist.
        case named(String)

        public init(stringLiteral value: String) { self = .named(value) }
    }

    /// The 1-based line of the CSV text where the record at `row` starts (the header is line 1;
    /// a quoted field holding line breaks makes lines and rows differ), or `nil` when the
    /// inventory was not parsed from a CSV or `row` is outside it. Selecting, sorting, shuffling
    /// and splitting keep each record's line.
    public func line(ofRow row: Int) -> Int? {
        guard let lines, row >= 0, row < lines.count else { return nil }
        return lines[row]
    }

    /// The record at `row`.
    /// - Precondition: `0 <= row < count`.
    public subscript(row: Int) -> Record {
        precondition(row >= 0 && row < count, "row \(row) outside 0..<\(count)")
        return Record(inventory: self, row: row)
    }

    /// All records in order.
    public var records: [Record] { (0..<count).map { Record(inventory: self, row: $0) } }

    /// The values of column `name`, in row order.
    /// - Throws: ``InventoryError/missingColumn(_:available:)``.
    public func column(_ name: String) throws(InventoryError) -> [String] {
        guard let index = columnIndex[name] else { throw .missingColumn(name, available: columnNames) }
        return storage[index]
    }

    /// Whether the inventory has a column called `name`.
    public func hasColumn(_ name: String) -> Bool { columnIndex[name] != nil }

    /// The records at `rows`, in that order (rows may repeat only when there is no id column).
    /// - Throws: ``InventoryError/rowOutOfRange(_:count:)``.
    public func selecting(rows: some Sequence<Int>) throws(InventoryError) -> Inventory {
        let rows = Array(rows)
        for row in rows where row < 0 || row >= count { throw .rowOutOfRange(row, count: count) }
        var copy = self
        copy.storage = storage.map { column in rows.map { column[$0] } }
        copy.lines = lines.map { lines in rows.map { lines[$0] } }
        return copy
    }

    /// A copy with one more column (or a column replaced).
    /// - Throws: ``InventoryError/columnLengthMismatch(column:expected:found:)``.
    public func adding(column name: String, values: [String]) throws(InventoryError) -> Inventory {
        guard values.count == count || columnNames.isEmpty else {
            throw .columnLengthMismatch(column: name, expected: count, found: values.count)
        }
        var copy = self
        if let index = columnIndex[name] {
            copy.storage[index] = values
        } else {
            copy.columnIndex[name] = columnNames.count
            copy.columnNames.append(name)
            copy.storage.append(values)
        }
        if name == idColumn { try copy.checkUniqueIDs() }
        return copy
    }

    private func checkUniqueIDs() throws(InventoryError) {
        guard let idColumn, let index = columnIndex[idColumn] else { return }
        if let (first, second) = DuplicateFinder.firstDuplicate(in: storage[index]) {
            throw .duplicateID(id: storage[index][second], column: idColumn, firstRow: first, secondRow: second)
        }
    }

    public static func == (lhs: Inventory, rhs: Inventory) -> Bool {
        lhs.columnNames == rhs.columnNames && lhs.idColumn == rhs.idColumn && lhs.storage == rhs.storage
    }
}
