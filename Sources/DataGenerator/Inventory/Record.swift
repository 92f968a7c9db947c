/// One row of an ``Inventory``: string values by column name, plus the row's position.
///
/// Records are cheap views: they share the inventory's storage.
public struct Record: Sendable {
    /// The inventory the record belongs to.
    public let inventory: Inventory
    /// The row's position in ``inventory``, from 0.
    public let row: Int

    /// The value of `column`, or `nil` when the inventory has no such column.
    public subscript(column: String) -> String? {
        guard let index = inventory.columnIndex[column] else { return nil }
        return inventory.storage[index][row]
    }

    /// The value of `column`.
    /// - Throws: ``InventoryError/missingColumn(_:available:)``.
    public func value(_ column: String) throws(InventoryError) -> String {
        guard let value = self[column] else {
            throw .missingColumn(column, available: inventory.columnNames)
        }
        return value
    }

    /// The 1-based CSV line the record starts on, when the inventory came from a CSV text.
    public var line: Int? { inventory.line(ofRow: row) }

    /// The record's name in messages: `row R (line L), id 'x'` (the parts it has).
    public var displayName: String { EncodingError.name(row, id, line: line) }

    /// The value of the inventory's id column, when it has one.
    public var id: String? {
        inventory.idColumn.flatMap { self[$0] }
    }

    /// All values by column name.
    public var values: [String: String] {
        Dictionary(uniqueKeysWithValues: inventory.columnNames.indices.map {
            (inventory.columnNames[$0], inventory.storage[$0][row])
        })
    }
}
