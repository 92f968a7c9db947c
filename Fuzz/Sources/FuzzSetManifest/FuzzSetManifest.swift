import DataGenerator
import FuzzSupport

/// The scratch file every input is written to (one per fuzzing process).
let scratch = ScratchFile(name: "manifest.dgset")

/// libFuzzer's entry point: the input is a cache set manifest (`.dgset`, JSON).
///
/// It is parsed from memory (``SetManifest/parse(_:path:)``) and, through the scratch file, opened
/// as a ``CacheSet`` (no shard is opened: shards are files the fuzzer does not control). A manifest
/// that parses must write back to bytes that parse to the same manifest, and its rows must map to
/// shards consistently. A thrown ``CacheError`` is an expected outcome; a crash, a sanitizer report
/// or a failed precondition is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = input else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let manifest = try? SetManifest.parse(bytes, path: "fuzz.dgset") else { return 0 }
    do {
        let again = try SetManifest.parse(try manifest.encoded(), path: "fuzz.dgset")
        precondition(again == manifest, "a manifest does not survive writing and reading")
    } catch {
        preconditionFailure("a parsed manifest's own bytes are refused: \(error)")
    }
    guard scratch.write(bytes), let set = try? CacheSet(path: scratch.path) else { return 0 }
    precondition(set.rowCount == manifest.rows && set.shardCount == manifest.shards.count)
    for index in 0..<min(set.shardCount, 256) {
        let rows = set.rows(ofShard: index)
        precondition(rows.count == manifest.shards[index].rows, "shard \(index) has the wrong rows")
        _ = set.shardPath(index)
        if let last = rows.last {
            let found = try? set.locate(row: last)
            precondition(found?.shard == index && found?.row == rows.count - 1, "row \(last) is not in shard \(index)")
        }
    }
    for row in [-1, 0, set.rowCount / 2, set.rowCount - 1, set.rowCount] {
        if let (shard, local) = try? set.locate(row: row) {
            precondition(set.rows(ofShard: shard).contains(row) && local == row - set.rows(ofShard: shard).lowerBound)
        }
    }
    return 0
}

/// The process entry point (see ``runFuzzer(argc:argv:callback:)``).
@_cdecl("FuzzSetManifest_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, callback: fuzz)
}
