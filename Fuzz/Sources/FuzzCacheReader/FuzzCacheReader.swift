import DataGenerator
import FuzzSupport

/// The scratch file every input is written to (one per fuzzing process).
let scratch = ScratchFile(name: "reader.dgcache")

/// The most rows gathered per input, so that one execution stays short.
let rowLimit = 4096

/// libFuzzer's entry point: the input, after a mode byte, is a cache file.
///
/// Mode byte bit 0 set: the checksums are repaired first (``ChecksumRepair``), so that mutations
/// reach the structure checks and the decoders instead of stopping at a CRC. The file is then
/// opened, verified, and every row of every column gathered (also after a failed verify: reads
/// must check on their own), with the ids; then served as a data set (``serve(path:)``). A thrown ``CacheError`` is an expected outcome; a crash,
/// a sanitizer report or another error type is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0, let data = input else { return 0 }
    let mode = data[0]
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if mode & 1 == 1 { bytes = ChecksumRepair.repair(bytes) }
    guard scratch.write(bytes) else { return 0 }
    exercise(path: scratch.path)
    return 0
}

/// Opens, verifies and reads the cache at `path`; only ``CacheError``s may be thrown.
func exercise(path: String) {
    let cache: CacheFile
    do { cache = try CacheFile(path: path) } catch { return }
    _ = try? cache.verify()
    _ = try? cache.ids()
    let rows = min(cache.rowCount, rowLimit)
    for column in cache.columns {
        var start = 0
        while start < rows {
            let end = min(start + 64, rows)
            do {
                let gathered = try cache.gatherVariable(column: column.name, rows: start..<end)
                precondition(gathered.lengths.count == end - start, "gatherVariable returned \(gathered.lengths.count) lengths")
            } catch {
                break
            }
            start = end
        }
        // Random access too: the last row first, then the first (a different unit order).
        if rows > 0 { _ = try? cache.gatherVariable(column: column.name, rows: [rows - 1, 0]) }
    }
    serve(path: path)
}

/// Serves one shuffled epoch of the cache at `path` as a data set would, through the lending
/// path: resident columns (decoded as first served, then the fast path's prefetching copies),
/// uncompressed ones straight from the mapping (each row located and checked four places before
/// its copy), then with a budget of 0 (streamed). Batches of 5, so that the last is partial.
func serve(path: String) {
    guard var dataSet = try? CachedDataSet(path: path), dataSet.size > 0, dataSet.size <= rowLimit else { return }
    let options = BatchOptions(batchSize: 5, epochs: 1, truncate: false, order: .full, seed: 1, workers: 0)
    for budget in [Int.max, 0] {
        dataSet.memoryBudget = budget
        for _ in 0..<2 {  // the second epoch copies what the first decoded
            _ = try? dataSet.forEachBatch(options) { _ in true }
        }
    }
}

/// The process entry point (see ``runFuzzer(argc:argv:callback:)``).
@_cdecl("FuzzCacheReader_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, callback: fuzz)
}
