/// Columns parsed from a CSV text: the header's names and each column's values.
struct CSVTable: Sendable {
    /// The header's field names, in order.
    var header: [String]
    /// One array per header field, each with one value per data row.
    var columns: [[String]]
    /// The 1-based line of the source on which each data row starts (for error messages).
    var rowLines: [Int]
}

/// A byte-level RFC 4180 CSV parser: the first record is the header, every other record must
/// have as many fields.
///
/// Accepted:
/// - fields quoted with `"` holding commas, line breaks and doubled quotes (`""` → `"`);
/// - line ends LF, CRLF and a lone CR (each one line break, inside quotes too);
/// - a UTF-8 byte-order mark at the start, a missing or present final line end;
/// - blank lines (no bytes at all between two line ends), which are skipped as pandas does.
///   A line holding `""` is a record with one empty field.
///
/// Refused, with ``InventoryError/malformedCSV(source:line:reason:)`` naming the 1-based
/// physical line (a line break inside quotes advances the count):
/// - an empty text (nothing but a BOM or blank lines): there is no header to name any column;
/// - invalid UTF-8 and NUL bytes (the line holding the offending byte);
/// - a quote inside an unquoted field, and text after a closing quote;
/// - an unterminated quote (the line where the quoted field started);
/// - a record with the wrong number of fields (the line where the record starts, with the
///   expected and found counts);
/// - a header over ``Limits/maxColumns`` fields, a field over ``Limits/maxFieldBytes`` bytes.
///
/// Memory stays bounded by the input: the header is refused as soon as it passes the column
/// limit, fields past a record's expected count are counted but never stored, and values are
/// built once, straight from the input bytes (small ASCII values live inline in their `String`).
///
/// - Complexity: O(*n*) in the input's length; one pass to validate UTF-8, one to split.
enum CSVParser {
    /// Bounds that keep hostile input from exhausting memory.
    struct Limits: Sendable {
        /// The most header fields accepted.
        var maxColumns: Int
        /// The longest field accepted, in bytes as written between its quotes (`""` counts two).
        var maxFieldBytes: Int

        /// 100,000 columns, 16 MiB per field.
        static let standard = Limits(maxColumns: 100_000, maxFieldBytes: 16 << 20)
    }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    /// Parses `bytes` (UTF-8, optional BOM) into columns.
    /// - Parameters:
    ///   - source: the name of the text for errors (a path, or "<string>").
    ///   - limits: the bounds on columns and field sizes.
    /// - Throws: ``InventoryError/malformedCSV(source:line:reason:)`` naming the line at fault.
    static func parse(_ bytes: UnsafeRawBufferPointer, source: String,
                      limits: Limits = .standard) throws(InventoryError) -> CSVTable {
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        if let (offset, reason) = UTF8Scan.firstProblem(in: bytes, from: start) {
            throw .malformedCSV(source: source, line: lineNumber(of: offset, in: bytes, from: start),
                                reason: reason)
        }
        var reader = Reader(bytes: bytes.assumingMemoryBound(to: UInt8.self), position: start,
                            source: source, limits: limits)
        return try reader.table()
    }

    /// The 1-based line holding byte `offset` (LF, CRLF and a lone CR each end a line).
    static func lineNumber(of offset: Int, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var line = 1
        var index = start
        while index < offset {
            let byte = bytes[index]
            if byte == lineFeed || (byte == carriageReturn && (index + 1 >= bytes.count || bytes[index + 1] != lineFeed)) {
                line += 1
            }
            index += 1
        }
        return line
    }

    /// The splitting pass: a cursor over the bytes that yields records field by field.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position: Int
        let source: String
        let limits: Limits
        /// The current 1-based physical line.
        var line = 1

        init(bytes: UnsafeBufferPointer<UInt8>, position: Int, source: String, limits: Limits) {
            self.bytes = bytes
            self.position = position
            self.source = source
            self.limits = limits
        }

        /// A field's bytes as found: `start..<end` of the input, and whether `""` pairs must
        /// be collapsed.
        struct FieldRange {
            var start: Int
            var end: Int
            var escaped: Bool
        }

        mutating func table() throws(InventoryError) -> CSVTable {
            let bytes = self.bytes, source = self.source, maxColumns = limits.maxColumns
            var header: [String] = []
            while position < bytes.count, header.isEmpty {
                if skipBlankLine() { continue }
                let recordLine = line
                _ = try readRecord(recordLine: recordLine) { (field, range) throws(InventoryError) in
                    guard field < maxColumns else {
                        throw .malformedCSV(source: source, line: recordLine,
                                            reason: "the header has more than \(maxColumns) columns")
                    }
                    header.append(Reader.makeString(range, in: bytes))
                }
            }
            guard !header.isEmpty else {
                throw .malformedCSV(source: source, line: line,
                                    reason: "the CSV text is empty: no header line names the columns")
            }
            let expected = header.count
            var columns = [[String]](repeating: [], count: expected)
            var rowLines: [Int] = []
            while position < bytes.count {
                if skipBlankLine() { continue }
                let recordLine = line
                let found = try readRecord(recordLine: recordLine) { (field, range) throws(InventoryError) in
                    if field < expected { columns[field].append(Reader.makeString(range, in: bytes)) }
                }
                guard found == expected else {
                    throw .malformedCSV(source: source, line: recordLine,
                                        reason: "expected \(expected) fields (as the header), found \(found)")
                }
                rowLines.append(recordLine)
            }
            return CSVTable(header: header, columns: columns, rowLines: rowLines)
        }

        /// Consumes a line end at the cursor, if there is one, and says whether it did.
        mutating func skipBlankLine() -> Bool {
            let byte = bytes[position]
            if byte == lineFeed {
                position += 1
            } else if byte == carriageReturn {
                position += 1
                if position < bytes.count, bytes[position] == lineFeed { position += 1 }
            } else {
                return false
            }
            line += 1
            return true
        }

        /// Reads one record (the cursor at its first byte) through its line end, handing each
        /// field's position and range to `store`; returns the number of fields.
        mutating func readRecord(
            recordLine: Int, store: (Int, FieldRange) throws(InventoryError) -> Void
        ) throws(InventoryError) -> Int {
            var field = 0
            while true {
                let range: FieldRange
                if position < bytes.count, bytes[position] == quote {
                    range = try quotedField(number: field + 1)
                } else {
                    range = try unquotedField(number: field + 1)
                }
                try store(field, range)
                field += 1
                guard position < bytes.count else { return field }
                let byte = bytes[position]
                position += 1
                switch byte {
                case comma:
                    continue
                case lineFeed:
                    line += 1
                    return field
                case carriageReturn:
                    if position < bytes.count, bytes[position] == lineFeed { position += 1 }
                    line += 1
                    return field
                default:  // only a quoted field stops before another byte
                    throw .malformedCSV(source: source, line: line,
                                        reason: "text after the closing quote of field \(field)")
                }
            }
        }

        /// Scans an unquoted field up to the next comma, line end or the end of the text.
        mutating func unquotedField(number: Int) throws(InventoryError) -> FieldRange {
            let start = position
            let count = bytes.count
            var index = position
            while index < count {
                let byte = bytes[index]
                if byte > comma {  // letters, digits and most punctuation: one comparison
                    index += 1
                    continue
                }
                if byte == comma || byte == lineFeed || byte == carriageReturn { break }
                if byte == quote {
                    throw .malformedCSV(source: source, line: line,
                                        reason: "a quote inside unquoted field \(number) (quote the whole field and double the quote)")
                }
                index += 1
            }
            position = index
            try checkSize(index - start, field: number, line: line)
            return FieldRange(start: start, end: index, escaped: false)
        }

        /// Scans a quoted field (the cursor on its opening quote) through its closing quote.
        mutating func quotedField(number: Int) throws(InventoryError) -> FieldRange {
            let startLine = line
            let count = bytes.count
            let start = position + 1
            var index = start
            var escaped = false
            while true {
                guard index < count else {
                    throw .malformedCSV(source: source, line: startLine,
                                        reason: "quoted field \(number) starting on this line is never closed")
                }
                let byte = bytes[index]
                if byte == quote {
                    if index + 1 < count, bytes[index + 1] == quote {
                        escaped = true
                        index += 2
                        continue
                    }
                    break
                }
                if byte == lineFeed || (byte == carriageReturn && (index + 1 >= count || bytes[index + 1] != lineFeed)) {
                    line += 1
                }
                index += 1
            }
            position = index + 1
            try checkSize(index - start, field: number, line: startLine)
            return FieldRange(start: start, end: index, escaped: escaped)
        }

        func checkSize(_ size: Int, field: Int, line: Int) throws(InventoryError) {
            guard size <= limits.maxFieldBytes else {
                throw .malformedCSV(source: source, line: line,
                                    reason: "field \(field) holds \(size) bytes, more than the limit of \(limits.maxFieldBytes)")
            }
        }

        /// The field's value, built once from the input bytes (already validated UTF-8).
        static func makeString(_ range: FieldRange, in bytes: UnsafeBufferPointer<UInt8>) -> String {
            guard range.escaped else {
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[range.start..<range.end]), as: UTF8.self)
            }
            return String(unsafeUninitializedCapacity: range.end - range.start) { buffer in
                var written = 0
                var index = range.start
                while index < range.end {
                    let byte = bytes[index]
                    buffer[written] = byte
                    written += 1
                    index += byte == quote ? 2 : 1  // inside quotes, quotes only come in pairs
                }
                return written
            }
        }
    }
}

/// UTF-8 validation with the offset of the first bad byte, and NUL detection: an ASCII fast path
/// eight bytes at a time, then the well-formed sequences of the Unicode Standard, Table 3-7.
enum UTF8Scan {
    /// The offset of the first NUL byte or invalid UTF-8 sequence at or after `start`, and why.
    static func firstProblem(in bytes: UnsafeRawBufferPointer, from start: Int) -> (offset: Int, reason: String)? {
        let count = bytes.count
        var index = start
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        while index < count {
            if index + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let hasZero = (word &- ones) & ~word & highBits
                if (word | hasZero) & highBits == 0 {
                    index += 8
                    continue
                }
            }
            let byte = bytes[index]
            if byte == 0 { return (index, "a NUL byte at offset \(index)") }
            if byte < 0x80 {
                index += 1
                continue
            }
            let length = sequenceLength(bytes, at: index)
            guard length > 0 else {
                return (index, "invalid UTF-8 (byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(index))")
            }
            index += length
        }
        return nil
    }

    /// The length of the well-formed sequence starting at `index`, or 0.
    private static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the second byte's range
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        guard (low...high).contains(bytes[index + 1]) else { return 0 }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) { return 0 }
        return length
    }
}
