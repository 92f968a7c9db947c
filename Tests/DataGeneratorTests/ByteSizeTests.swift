import Testing
@testable import DataGenerator

@Suite("Byte sizes")
struct ByteSizeTests {
    @Test("decimal units count powers of 1000, binary units powers of 1024, any case")
    func unitsAreDecimalOrBinary() throws {
        #expect(try ByteSize(parsing: "512MB").bytes == 512_000_000)
        #expect(try ByteSize(parsing: "300KB").bytes == 300_000)
        #expect(try ByteSize(parsing: "3GB").bytes == 3_000_000_000)
        #expect(try ByteSize(parsing: "2TB").bytes == 2_000_000_000_000)
        #expect(try ByteSize(parsing: "2GiB").bytes == 2 << 30)
        #expect(try ByteSize(parsing: "3KiB").bytes == 3 << 10)
        #expect(try ByteSize(parsing: "5MiB").bytes == 5 << 20)
        #expect(try ByteSize(parsing: "1TiB").bytes == 1 << 40)
        #expect(try ByteSize(parsing: "4096B").bytes == 4096)
        #expect(try ByteSize(parsing: "512mb").bytes == 512_000_000)
        #expect(try ByteSize(parsing: "2gib").bytes == 2 << 30)
        #expect(try ByteSize(parsing: "2GIB").bytes == 2 << 30)
        #expect(try ByteSize(parsing: "7b").bytes == 7)
    }

    @Test("a single letter is decimal, Ki/Mi/Gi binary, as in Kubernetes")
    func shortUnits() throws {
        #expect(try ByteSize(parsing: "1.5G").bytes == 1_500_000_000)
        #expect(try ByteSize(parsing: "64k").bytes == 64_000)
        #expect(try ByteSize(parsing: "2M").bytes == 2_000_000)
        #expect(try ByteSize(parsing: "2Mi").bytes == 2 << 20)
        #expect(try ByteSize(parsing: "1Gi").bytes == 1 << 30)
    }

    @Test("a bare number takes the caller's default unit")
    func bareNumberTakesTheDefaultUnit() throws {
        #expect(try ByteSize(parsing: "44", defaultUnit: .mebibyte).bytes == 44 << 20)
        #expect(try ByteSize(parsing: "44").bytes == 44)
        #expect(try ByteSize(parsing: "0", defaultUnit: .mebibyte).bytes == 0)
        #expect(try ByteSize(parsing: "0.5", defaultUnit: .mebibyte).bytes == 1 << 19)
    }

    @Test("fractions round down to whole bytes; blanks around the unit are ignored")
    func fractionsAndBlanks() throws {
        #expect(try ByteSize(parsing: "1.5GiB").bytes == 3 << 29)
        #expect(try ByteSize(parsing: "1.0001KB").bytes == 1000)
        #expect(try ByteSize(parsing: ".5KiB").bytes == 512)
        #expect(try ByteSize(parsing: " 512 MB ").bytes == 512_000_000)
    }

    @Test("garbage, negative numbers, unknown units and overflow are refused naming the text")
    func garbageIsRefused() {
        for text in ["", "MB", "12XB", "-5MB", "1.2.3GB", "1e9", "nan", "0x10", "5 M B", "10bb", "inf"] {
            #expect(throws: ByteSizeError.notASize(text)) { try ByteSize(parsing: text) }
        }
        #expect(throws: ByteSizeError.tooLarge("9000000000TB")) { try ByteSize(parsing: "9000000000TB") }
        #expect(throws: ByteSizeError.tooLarge("99999999999999999999B")) { try ByteSize(parsing: "99999999999999999999B") }
        #expect(ByteSizeError.notASize("12XB").description.hasPrefix("'12XB' is not a size"))
        #expect(ByteSizeError.notASize("12XB").description.contains("GiB"))
    }

    @Test("a size prints in the largest binary unit that keeps it readable")
    func descriptionIsReadable() {
        #expect(ByteSize(bytes: 300).description == "300 B")
        #expect(ByteSize(bytes: 512 << 20).description == "512 MiB")
        #expect(ByteSize(bytes: 3 << 29).description == "1.5 GiB")
        #expect(ByteSize(bytes: Int.max).description == "8388608 TiB")
    }
}
