import CRowCopy
@testable import DataGenerator
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

/// The gathers that prefetch the rows ahead (the resident fast path, a resident column's
/// conversion, the uncompressed column served from the mapping, which locates each row four
/// places early) serve the bytes the encoders gave, whatever the batch size around that distance.
@Suite struct PrefetchingGatherTests {
    @Test(arguments: [1, 3, 4, 5, 7])
    func everyColumnPathServesTheEncodedRowsWhateverTheBatchSize(batchSize: Int) throws {
        let dataSet = try CachedEpochTests.dataSet(count: 23, variable: false)
        try CacheFixtures.withDirectory { directory in
            let options = BatchOptions(batchSize: batchSize, epochs: 2, truncate: false, order: .full, seed: 4, workers: 1)
            // Uncached mode runs the encoders: the reference.
            let expected = try dataSet.batches(options).collect()
            for codec in [CacheCodec.lz4, .none] {
                let cached = try dataSet.cached(at: directory + "/\(codec).dgcache", options: CacheBuildOptions(codec: codec, workers: 1))
                // Twice: the first epoch decodes (lz4) or checks units (none), the next ones copy.
                for pass in 0..<2 {
                    let owned = try cached.batches(options).collect()
                    #expect(owned.map { $0.inputs[0].bytes } == expected.map { $0.inputs[0].bytes }, "\(codec), pass \(pass)")
                    var lent = [[UInt8]]()
                    try cached.forEachBatch(options) { batch in
                        lent.append(Array(batch.data(0)))
                        return true
                    }
                    #expect(lent == expected.map { $0.inputs[0].bytes }, "\(codec), pass \(pass), lent")
                }
                let doubled = try cached.serving(column: cached.dataColumns[0].name, as: .float64, scale: 2)
                let converted = try doubled.batches(options).collect()
                let want = expected.map { $0.inputs[0].scalars(as: Float.self).map { Double($0) * 2 } }
                #expect(converted.map { $0.inputs[0].scalars(as: Double.self) } == want, "\(codec), converted")
            }
        }
    }
}
