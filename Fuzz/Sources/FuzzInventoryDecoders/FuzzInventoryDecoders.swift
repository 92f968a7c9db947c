import DataGenerator
import FuzzSupport

/// libFuzzer's entry point: the first byte picks the parser, the rest is its input.
///
/// 0: the CSV inventory parser (`Inventory(csv:source:)`); 1: ``NPYDecoder`` with the file's own
/// dtype; 2: ``TextArrayDecoder`` (float32); 3–6: ``ResourceDecoder`` in each format with a cast,
/// a fixed shape and a scale, so that the reshaping and conversion paths run too. Thrown
/// ``InventoryError``s and ``EncodingError``s are expected; a crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0, let data = input else { return 0 }
    let selector = data[0] % 7
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let contents = ResourceContents(row: 0, id: "fuzz", location: "fuzz-input", bytes: bytes)
    switch selector {
    case 0:
        if let inventory = try? Inventory(csv: bytes, source: "fuzz.csv") {
            // Every value must be reachable.
            for name in inventory.columnNames {
                let values = try? inventory.column(name)
                precondition(values?.count == inventory.count, "column \(name) lost values")
            }
        }
    case 1:
        _ = try? NPYDecoder().decode(contents)
    case 2:
        _ = try? TextArrayDecoder().decode(contents)
    default:
        let format = ResourceFormat.allCases[Int(selector - 3) % ResourceFormat.allCases.count]
        let shape = size % 2 == 0 ? [2, 2] : nil
        _ = try? ResourceDecoder(format: format, dtype: .int16, shape: shape, scale: 0.5).decode(contents)
    }
    return 0
}

/// The process entry point (see ``runFuzzer(argc:argv:callback:)``).
@_cdecl("FuzzInventoryDecoders_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, callback: fuzz)
}
