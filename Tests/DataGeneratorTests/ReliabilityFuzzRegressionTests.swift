import Testing
@testable import DataGenerator

/// Inputs that crashed a fuzz target (`tools/fuzz`), kept so that the crash never returns.
@Suite("Reliability: fuzz regressions")
struct ReliabilityFuzzRegressionTests {
    /// A version-1 `.npy` file with the header `text` (padded to a multiple of 16 with a newline)
    /// followed by `data`.
    static func npy(header text: String, data: [UInt8] = []) -> [UInt8] {
        var header = Array(text.utf8)
        while (10 + header.count + 1) % 16 != 0 { header.append(UInt8(ascii: " ")) }
        header.append(0x0A)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + data
    }

    @Test("a Fortran-order npy with a zero dimension and huge others decodes to an empty array instead of overflowing its strides")
    func fortranOrderWithZeroDimensionDoesNotOverflow() throws {
        // Found by FuzzInventoryDecoders: the strides of shape (3, 406, 0, 11111100, 551615100, 111100)
        // overflow Int although the array holds no element.
        let bytes = Self.npy(header: "{'descr': '<u4', 'fortran_order': True, 'shape': (3, 406, 0, 11111100, 551615100, 111100), }")
        let array = try NPYDecoder().decode(ResourceContents(row: 4, id: "r4", location: "r4.npy", bytes: bytes))
        #expect(array.shape == [3, 406, 0, 11111100, 551615100, 111100])
        #expect(array.dtype == .uint32)
        #expect(array.count == 0)
    }
}
