import Testing
@testable import DataGenerator

/// The built-in resource formats: savetxt text, `.npy`, raw bytes and UTF-8 text.
@Suite struct DecoderTests {
    func contents(_ bytes: [UInt8], id: String = "r1") -> ResourceContents {
        ResourceContents(row: 4, id: id, location: "/data/\(id).txt", bytes: bytes)
    }

    @Test func textReadsSavetxtLinesAsTheirShape() throws {
        let text = "1.000000000000000000e+00 2.0e+00 3\n4 5 6\n"
        let array = try TextArrayDecoder().decode(contents(Array(text.utf8)))
        #expect(array.dtype == .float32)
        #expect(array.shape == [2, 3])
        #expect(array.scalars(as: Float.self) == [1, 2, 3, 4, 5, 6])
    }

    @Test func textOnOneLineIsOneDimensionalAndAcceptsCommas() throws {
        let array = try TextArrayDecoder(dtype: .int32).decode(contents(Array("7,8, 9\r\n".utf8)))
        #expect(array.shape == [3])
        #expect(array.scalars(as: Int32.self) == [7, 8, 9])
    }

    @Test func textScalesThenCastsAndReshapes() throws {
        let array = try TextArrayDecoder(dtype: .uint8, shape: [2, 2], scale: 0.5).decode(contents(Array("2 5 255 7".utf8)))
        #expect(array.shape == [2, 2])
        #expect(array.scalars(as: UInt8.self) == [1, 2, 127, 3])
    }

    @Test func textThatIsNotANumberNamesTheRecordLineAndToken() {
        #expect {
            try TextArrayDecoder().decode(contents(Array("1 2\n3 x4\n".utf8), id: "img7"))
        } throws: { error in
            let text = String(describing: error)
            return text.contains("img7") && text.contains("line 2") && text.contains("'x4'") && text.contains("/data/img7.txt")
        }
    }

    @Test func textWithRaggedLinesIsAnError() {
        #expect {
            try TextArrayDecoder().decode(contents(Array("1 2\n3\n".utf8)))
        } throws: { String(describing: $0).contains("line 2 has 1 values") }
    }

    @Test func textThatDoesNotFitTheShapeNamesBoth() {
        #expect {
            try TextArrayDecoder(shape: [5]).decode(contents(Array("1 2 3 4".utf8)))
        } throws: { String(describing: $0).contains("4 values") && String(describing: $0).contains("[5]") }
    }

    @Test func demoWriterTextParsesBackToTheImage() throws {
        let writer = DemoDataWriter(records: 3)
        let array = try TextArrayDecoder(dtype: .uint8, shape: [28, 28]).decode(contents(writer.text(of: 2)))
        #expect(array.scalars(as: UInt8.self) == writer.digits.image(2))
        let zeros = writer.digits.image(2).filter { $0 == 0 }.count
        #expect(zeros > 784 / 2 && zeros < 784)  // mostly background, some ink
    }

    /// A `.npy` file with the given header fields and data bytes (format version 1).
    func npy(descr: String, fortran: Bool = false, shape: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let length = header.utf8.count
        bytes += version == 1 ? [UInt8(length & 255), UInt8(length >> 8)] : [UInt8(length & 255), UInt8(length >> 8), 0, 0]
        return bytes + Array(header.utf8) + data
    }

    @Test func npyReadsLittleEndianFloat32() throws {
        let values: [Float] = [1.5, -2, 3, 4.25, 5, 6]
        let data = values.withUnsafeBytes { Array($0) }
        let array = try NPYDecoder().decode(contents(npy(descr: "<f4", shape: "(2, 3)", data: data)))
        #expect(array.dtype == .float32)
        #expect(array.shape == [2, 3])
        #expect(array.scalars(as: Float.self) == values)
    }

    @Test func npyReadsVersionTwoAndThreeHeaders() throws {
        for version: UInt8 in [2, 3] {
            let array = try NPYDecoder().decode(contents(npy(descr: "|u1", shape: "(3,)", data: [1, 2, 3], version: version)))
            #expect(array.scalars(as: UInt8.self) == [1, 2, 3])
        }
    }

    @Test func npyReadsBigEndianAndBool() throws {
        let big = try NPYDecoder().decode(contents(npy(descr: ">i2", shape: "(2,)", data: [0x01, 0x02, 0xFF, 0xFE])))
        #expect(big.scalars(as: Int16.self) == [0x0102, -2])
        let flags = try NPYDecoder().decode(contents(npy(descr: "|b1", shape: "(2,)", data: [1, 0])))
        #expect(flags.scalars(as: Bool.self) == [true, false])
    }

    @Test func npyFortranOrderIsReorderedToC() throws {
        // [[1, 2, 3], [4, 5, 6]] stored column by column: 1 4 2 5 3 6.
        let data = ([1, 4, 2, 5, 3, 6] as [Int32]).withUnsafeBytes { Array($0) }
        let array = try NPYDecoder().decode(contents(npy(descr: "<i4", fortran: true, shape: "(2, 3)", data: data)))
        #expect(array.scalars(as: Int32.self) == [1, 2, 3, 4, 5, 6])
    }

    @Test func npyCastsAndScalesWhenAsked() throws {
        let array = try NPYDecoder(dtype: .float32, scale: 0.5).decode(contents(npy(descr: "|u1", shape: "(2,)", data: [4, 9])))
        #expect(array.scalars(as: Float.self) == [2, 4.5])
    }

    @Test func npyObjectArraysAreRefused() {
        #expect {
            try NPYDecoder().decode(contents(npy(descr: "|O", shape: "(1,)", data: [0]), id: "evil"))
        } throws: { String(describing: $0).contains("object arrays") && String(describing: $0).contains("evil") }
    }

    @Test func npyShortDataAndBadMagicAreErrors() {
        #expect {
            try NPYDecoder().decode(contents(npy(descr: "<f8", shape: "(4,)", data: [0, 0, 0])))
        } throws: { String(describing: $0).contains("holds 3 bytes") }
        #expect {
            try NPYDecoder().decode(contents(Array("not numpy at all".utf8)))
        } throws: { String(describing: $0).contains("bad magic") }
    }

    @Test func rawIsVariableLengthUInt8UnlessShaped() throws {
        let raw = ResourceDecoder(format: .raw)
        #expect(try raw.outputSpec(sample: nil) == .variableLength(.uint8))
        #expect(try raw.decode(contents([9, 8, 7])).scalars(as: UInt8.self) == [9, 8, 7])
        let shaped = ResourceDecoder(format: .raw, shape: [2, 2])
        #expect(try shaped.outputSpec(sample: nil) == ArraySpec(.uint8, [2, 2]))
        #expect(throws: EncodingError.self) { try shaped.decode(contents([1, 2, 3])) }
    }

    @Test func utf8RejectsInvalidText() throws {
        let utf8 = ResourceDecoder(format: .utf8)
        #expect(try utf8.decode(contents(Array("héllo".utf8))).count == 6)
        #expect { try utf8.decode(contents([0xFF, 0xFE], id: "bad")) } throws: {
            String(describing: $0).contains("bad") && String(describing: $0).contains("UTF-8")
        }
    }

    @Test func textSpecWithoutShapeIsReadFromTheSample() throws {
        let decoder = ResourceDecoder(format: .text)
        #expect(try decoder.outputSpec(sample: contents(Array("1 2\n3 4\n5 6\n".utf8))) == ArraySpec(.float32, [3, 2]))
        #expect(throws: EncodingError.self) { try decoder.outputSpec(sample: nil) }
    }
}
