import Testing
@testable import DataGenerator

@Suite struct ChecksumTests {
    /// Bytes from a fixed xorshift stream, so that failures reproduce.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    @Test func knownValuesMatchZlib() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 4096)) == 0xC71C_0011)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func foldedChecksumEqualsZlibForEveryLengthOffsetAndSeed() {
        let data = Self.bytes(3000, seed: 42)
        data.withUnsafeBytes { all in
            for offset in [0, 1, 7, 15] {
                for length in 0...1100 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    for seed: UInt32 in [0, 0xDEAD_BEEF] {
                        let expected = CRC32.zlibChecksum(slice, seed: seed)
                        let actual = CRC32.checksum(slice, seed: seed)
                        if actual != expected {
                            Issue.record("length \(length) offset \(offset) seed \(seed): \(actual) != \(expected)")
                            return
                        }
                    }
                }
            }
            // Long buffers run the 64-byte loop many times.
            #expect(CRC32.checksum(all) == CRC32.zlibChecksum(all, seed: 0))
        }
    }

    @Test func checksumContinuesAcrossSplitBuffers() {
        let data = Self.bytes(5000, seed: 7)
        data.withUnsafeBytes { all in
            let whole = CRC32.checksum(all)
            for split in [1, 63, 64, 100, 2500, 4999] {
                let head = CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[..<split]))
                #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[split...]), seed: head) == whole)
            }
        }
    }

    @Test func foldsOnThisMachineWhenTheCPUCan() throws {
        // Guards against the folded path silently never running (the equality tests above would
        // then compare zlib with itself).
        #if arch(x86_64)
        let cpu = String(decoding: try FileIO.readAll("/proc/cpuinfo"), as: UTF8.self)
        let flags = cpu.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let canFold = flags.split(separator: " ").contains("pclmulqdq") && flags.split(separator: " ").contains("sse4_1")
        #expect((CRC32.foldConstants?.count == 4) == canFold)
        #endif
    }
}
