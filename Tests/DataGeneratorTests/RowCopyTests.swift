import CRowCopy
import Testing

/// `dg_copy_rows`, the resident fast path's gather, copies exactly the rows asked for, in order,
/// whatever the count (fewer rows than it prefetches ahead, none) and the row size (under a
/// cache line, not a multiple of one, longer than the lines it prefetches).
@Suite struct RowCopyTests {
    @Test(arguments: [1, 7, 64, 100, 3136, 5000])
    func copyingRowsWithPrefetchGivesTheBytesOfACopyPerRow(rowBytes: Int) {
        let sourceRows = 37
        let source = (0..<(sourceRows * rowBytes)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / rowBytes) }
        for count in [0, 1, 3, 4, 5, 16, 37] {
            let rows = (0..<count).map { ($0 * 11 + 5) % sourceRows }
            var copied = [UInt8](repeating: 0xEE, count: count * rowBytes + 1)
            source.withUnsafeBytes { from in
                rows.withUnsafeBufferPointer { indices in
                    copied.withUnsafeMutableBytes { to in
                        dg_copy_rows(to.baseAddress, from.baseAddress, indices.baseAddress, count, rowBytes)
                    }
                }
            }
            var expected = [UInt8]()
            for row in rows { expected += source[(row * rowBytes)..<((row + 1) * rowBytes)] }
            expected.append(0xEE)
            #expect(copied == expected, "\(count) rows of \(rowBytes) bytes")
        }
    }
}
