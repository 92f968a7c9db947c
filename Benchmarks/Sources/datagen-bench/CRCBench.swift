// CRC-32 of cache units: the folded (carry-less multiply) path against zlib's, on the unit sizes
// a cache holds, in the same run.

import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

func runCRCBenchmark(arguments: [String]) throws {
    let total = 64 << 20
    var bytes = [UInt8](repeating: 0, count: total)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for index in bytes.indices {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        bytes[index] = UInt8(truncatingIfNeeded: state)
    }
    print("CRC-32 over \(total >> 20) MiB in units of each size; best of 5 passes, release build")
    bytes.withUnsafeBytes { buffer in
        for unitSize in [420, 3136, 65536, 4 << 20] {
            func best(_ checksum: (UnsafeRawBufferPointer, UInt32) -> UInt32) -> (seconds: Double, sum: UInt32) {
                var fastest = Double.infinity
                var sum: UInt32 = 0
                for _ in 0..<5 {
                    let start = monotonicSeconds()
                    var offset = 0
                    while offset + unitSize <= total {
                        sum &+= checksum(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + unitSize)]), 0)
                        offset += unitSize
                    }
                    fastest = min(fastest, monotonicSeconds() - start)
                }
                return (fastest, sum)
            }
            let zlib = best { CRC32.zlibChecksum($0, seed: $1) }
            let folded = best { CRC32.checksum($0, seed: $1) }
            precondition(zlib.sum == folded.sum, "the two paths disagree")
            let gigabytes = Double(total / unitSize * unitSize) / 1e9
            print("units of \(unitSize) B: zlib \(format3(gigabytes / zlib.seconds)) GB/s, folded \(format3(gigabytes / folded.seconds)) GB/s, ratio \(format3(zlib.seconds / folded.seconds))")
        }
    }
}
