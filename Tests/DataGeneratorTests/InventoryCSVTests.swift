import Testing
@testable import DataGenerator

/// The CSV loader: RFC 4180 parsing, the pandas layout, and every malformed input named by line.
@Suite("Inventory CSV")
struct InventoryCSVTests {
    /// The error that loading `bytes` throws, or `nil` when it loads.
    private func loadError(_ bytes: [UInt8], source: String = "inv.csv") -> InventoryError? {
        do {
            _ = try Inventory(csv: bytes, source: source)
            return nil
        } catch {
            return error
        }
    }

    private func loadError(_ text: String) -> InventoryError? { loadError(Array(text.utf8)) }

    /// The parser's table for `text`.
    private func table(_ text: String, limits: CSVParser.Limits = .standard) throws -> CSVTable {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw in try CSVParser.parse(raw, source: "t.csv", limits: limits) }
    }

    /// The error the parser throws for `text` under `limits`.
    private func parseError(_ text: String, limits: CSVParser.Limits) -> InventoryError? {
        do {
            _ = try table(text, limits: limits)
            return nil
        } catch {
            return error as? InventoryError
        }
    }

    /// Asserts a malformed-CSV error on `line` whose message contains every fragment.
    private func expectMalformed(_ error: InventoryError?, line: Int, source: String = "inv.csv",
                                 mentions fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard case let .malformedCSV(errorSource, errorLine, _) = error else {
            Issue.record("expected a malformed-CSV error, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(errorSource == source, sourceLocation: sourceLocation)
        #expect(errorLine == line, sourceLocation: sourceLocation)
        let message = error!.description
        #expect(message.hasPrefix("\(source):\(line): "), "\(message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(message.contains(fragment), "'\(message)' lacks '\(fragment)'", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Accepted input

    @Test func quotedFieldsKeepCommasDoubledQuotesAndLineBreaks() throws {
        let inventory = try Inventory(csvText: "id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"one\ntwo\r\nthree\"\n4,\"\"\n")
        #expect(try inventory.column("id") == ["1", "2", "3", "4"])
        #expect(try inventory.column("text") == ["a,b", "say \"hi\"", "one\ntwo\r\nthree", ""])
    }

    @Test func crlfLineEndsLeaveNoCarriageReturnInValues() throws {
        let inventory = try Inventory(csvText: "id,target\r\na,x\r\nb,y\r\n")
        #expect(inventory.columnNames == ["id", "target"])
        #expect(try inventory.column("target") == ["x", "y"])
    }

    @Test func aLoneCarriageReturnEndsALine() throws {
        let oldMac = try Inventory(csvText: "id,target\ra,x\rb,y\r")
        #expect(try oldMac.column("target") == ["x", "y"])
        let mixed = try Inventory(csvText: "id,target\na,x\r")
        #expect(try mixed.column("target") == ["x"])
        #expect(try table("id,t\ra,x\r\nb,y\nc,z").rowLines == [2, 3, 4])
    }

    @Test func aByteOrderMarkIsSkipped() throws {
        let inventory = try Inventory(csv: [0xEF, 0xBB, 0xBF] + Array("id,target\na,x\n".utf8))
        #expect(inventory.columnNames == ["id", "target"])
        #expect(inventory.idColumn == "id")
    }

    @Test func aFinalLineEndAndBlankLinesAreOptional() throws {
        let expected = try Inventory(columns: [("id", ["a", "b"]), ("t", ["x", "y"])])
        for text in ["id,t\na,x\nb,y", "id,t\na,x\nb,y\n", "id,t\na,x\nb,y\n\n", "\nid,t\n\na,x\r\n\r\nb,y\n"] {
            #expect(try Inventory(csvText: text) == expected, "\(text.debugDescription)")
        }
        #expect(try table("\nid,t\n\na,x\r\n\r\nb,y\n").rowLines == [4, 6])
    }

    @Test func emptyFieldsAreEmptyStrings() throws {
        let inventory = try Inventory(csvText: "a,b,c\n,,\n\"\",x,\n")
        #expect(try inventory.column("a") == ["", ""])
        #expect(try inventory.column("b") == ["", "x"])
        #expect(try inventory.column("c") == ["", ""])
    }

    @Test func aQuotedEmptyLineIsARecordNotABlankLine() throws {
        let inventory = try Inventory(csvText: "name\n\"\"\nz\n")
        #expect(try inventory.column("name") == ["", "z"])
    }

    @Test func spacesAndMultibyteTextArePreserved() throws {
        let inventory = try Inventory(csvText: "id,label\n é ,日本語\n🙂,\"ß, ü\"\n")
        #expect(try inventory.column("id") == [" é ", "🙂"])
        #expect(try inventory.column("label") == ["日本語", "ß, ü"])
    }

    @Test func aHeaderWithoutRowsGivesNamedEmptyColumns() throws {
        let inventory = try Inventory(csvText: "id,target\n")
        #expect(inventory.columnNames == ["id", "target"])
        #expect(inventory.count == 0)
        #expect(inventory.isEmpty)
    }

    @Test func pandasUnnamedIndexColumnIsDropped() throws {
        let inventory = try Inventory(csvText: ",id,target\n0,a,x\n1,b,y\n")
        #expect(inventory.columnNames == ["id", "target"])
        #expect(try inventory.column("id") == ["a", "b"])
        #expect(inventory.idColumn == "id")
    }

    @Test func theSeedInventoryFileLoads() throws {
        let inventory = try Inventory(contentsOfCSVFile: Fixtures.seedResources + "/inventory.csv")
        #expect(inventory.count > 0)
        #expect(inventory.hasColumn("id"))
    }

    @Test func quotedNewlinesAdvanceTheLineCount() throws {
        let parsed = try table("id,t\na,\"x\ny\r\nz\rw\"\nb,v\n")
        #expect(parsed.rowLines == [2, 6])
    }

    @Test func randomTablesRoundTripThroughAQuotingWriter() throws {
        var generator = SplitMix64(seed: 42)
        let alphabet: [String] = ["a", "Z", "0", " ", ",", "\"", "\n", "\r\n", "é", "🙂", "x", "_"]
        let width = 4
        var columns = [[String]](repeating: [], count: width)
        for _ in 0..<500 {
            for column in 0..<width {
                let length = generator.next(below: 6)
                columns[column].append((0..<length).map { _ in alphabet[generator.next(below: alphabet.count)] }.joined())
            }
        }
        func quoted(_ value: String) -> String {
            value.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) }) || value.isEmpty
                ? "\"" + value.replacing("\"", with: "\"\"") + "\"" : value
        }
        var text = (0..<width).map { "c\($0)" }.joined(separator: ",") + "\r\n"
        for row in 0..<500 { text += (0..<width).map { quoted(columns[$0][row]) }.joined(separator: ",") + "\r\n" }
        let inventory = try Inventory(csvText: text, idColumn: .none)
        for column in 0..<width { #expect(try inventory.column("c\(column)") == columns[column]) }
    }

    @Test func contentsOfAMissingFileNamesThePath() {
        let error = #expect(throws: InventoryError.self) { try Inventory(contentsOfCSVFile: "/nonexistent/inv.csv") }
        #expect(error?.description.contains("cannot read /nonexistent/inv.csv") == true)
    }

    // MARK: - Refused input

    @Test func anEmptyTextIsRefusedAsHavingNoHeader() {
        expectMalformed(loadError(""), line: 1, mentions: ["empty", "no header"])
        expectMalformed(loadError([0xEF, 0xBB, 0xBF]), line: 1, mentions: ["empty"])
        expectMalformed(loadError("\n\r\n"), line: 3, mentions: ["empty"])
    }

    @Test func invalidUTF8IsAnErrorNamingItsLine() {
        let prefix = Array("id,t\na,x\nb,\"multi\nline\"\n".utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0x80], [0xF4, 0x90, 0x80, 0x80]] {
            expectMalformed(loadError(prefix + Array("c,".utf8) + bad + Array("\nd,y\n".utf8)), line: 5,
                            mentions: ["invalid UTF-8", "0x\(String(bad[0], radix: 16, uppercase: true))"])
        }
        // A sequence cut off by the end of the text.
        expectMalformed(loadError(Array("id\n€".utf8.dropLast())), line: 2, mentions: ["invalid UTF-8"])
    }

    @Test func nulBytesAreRefusedNamingTheLine() {
        expectMalformed(loadError(Array("id,t\na,x\nb,y\u{0}z\n".utf8)), line: 3, mentions: ["NUL"])
        expectMalformed(loadError(Array("id,t\na,\"x\ny\u{0}\"\n".utf8)), line: 3, mentions: ["NUL"])
    }

    @Test func aQuoteInsideAnUnquotedFieldIsAnError() {
        expectMalformed(loadError("id,t\na,x\nb,ab\"c\n"), line: 3, mentions: ["quote inside unquoted field 2"])
        expectMalformed(loadError("id,t\na, \"x\"\n"), line: 2, mentions: ["quote inside unquoted field 2"])
    }

    @Test func textAfterAClosingQuoteIsAnError() {
        expectMalformed(loadError("id,t\na,x\n\"b\"c,y\n"), line: 3, mentions: ["after the closing quote of field 1"])
        expectMalformed(loadError("id,t\na,\"x\ny\" \n"), line: 3, mentions: ["after the closing quote of field 2"])
    }

    @Test func anUnterminatedQuoteNamesTheLineWhereItStarted() {
        expectMalformed(loadError("id,t\na,x\nb,\"never\nclosed\nc,z\n"), line: 3,
                        mentions: ["quoted field 2", "never closed"])
        expectMalformed(loadError("id,\"t"), line: 1, mentions: ["never closed"])
    }

    @Test func aRowWithTooFewFieldsNamesLineAndCounts() {
        expectMalformed(loadError("id,t,u\na,x,1\nb\n"), line: 3, mentions: ["expected 3", "found 1"])
    }

    @Test func aRowWithTooManyFieldsNamesLineAndCounts() {
        expectMalformed(loadError("id,t\na,x\nb,y,z,w\n"), line: 3, mentions: ["expected 2", "found 4"])
        expectMalformed(loadError("id,t\na,x\nb,y,\n"), line: 3, mentions: ["expected 2", "found 3"])
    }

    @Test func aMultilineRecordWithWrongCountNamesItsFirstLine() {
        expectMalformed(loadError("id,t\na,x\n\"b\nc\",y,z\n"), line: 3, mentions: ["expected 2", "found 3"])
    }

    @Test func aHeaderOverTheColumnLimitIsRefused() throws {
        let tooWide = (0...100_000).map { "c\($0)" }.joined(separator: ",") + "\n"
        expectMalformed(loadError(tooWide), line: 1, mentions: ["more than 100000 columns"])
        let atLimit = try table(Array(repeating: "c", count: 100_000).joined(separator: ","))
        #expect(atLimit.header.count == 100_000)
        let small = CSVParser.Limits(maxColumns: 3, maxFieldBytes: 100)
        expectMalformed(parseError("\na,b,c,d\n", limits: small), line: 2, source: "t.csv",
                        mentions: ["more than 3 columns"])
        #expect(parseError("a,b,c\n1,2,3\n", limits: small) == nil)
    }

    @Test func aFieldOverTheSizeLimitIsRefused() {
        let small = CSVParser.Limits(maxColumns: 10, maxFieldBytes: 4)
        #expect(parseError("id,t\nabcd,\"w\"\"y\"\n", limits: small) == nil)
        expectMalformed(parseError("id,t\na,abcde\n", limits: small), line: 2, source: "t.csv",
                        mentions: ["field 2", "5 bytes", "limit of 4"])
        expectMalformed(parseError("id,t\na,b\nc,\"ab\ncde\"\n", limits: small), line: 3, source: "t.csv",
                        mentions: ["field 2", "6 bytes"])
        let huge = Array("id\n".utf8) + [UInt8](repeating: UInt8(ascii: "v"), count: (16 << 20) + 1)
        expectMalformed(loadError(huge), line: 2, mentions: ["field 1", "limit of 16777216"])
    }

    @Test func duplicateIdsNameBothRowsAndLines() {
        let error = loadError("id,t\na,x\nb,\"y\nz\"\na,w\n")
        expectMalformed(error, line: 5, mentions: ["'a'", "rows 0 (line 2) and 2 (line 5)", "column 'id'"])
    }

    @Test func duplicateTargetsWithoutIdColumnAreValid() throws {
        let inventory = try Inventory(csvText: "target\nx\nx\n")
        #expect(inventory.idColumn == nil)
        #expect(inventory.count == 2)
    }
}
