import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// A new directory `/tmp/datagen-bench-<name>-XXXXXX` for a benchmark's files; remove it with
/// ``removeBenchDirectory(_:)``.
func makeBenchDirectory(_ name: String) -> String {
    var template = Array("/tmp/datagen-bench-\(name)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

/// Removes a directory made by ``makeBenchDirectory(_:)`` and everything in it.
func removeBenchDirectory(_ directory: String) { _ = system("rm -rf '\(directory)'") }

/// The MNIST-like workload of the cache benchmarks: `rows` ``SyntheticDigits`` (seed 1) with
/// their labels, as float32 pixels / 255 or as the stored uint8 pixels.
struct DigitsWorkload {
    let digits = SyntheticDigits(seed: 1)
    let inventory: Inventory

    init(rows: Int) throws {
        let digits = self.digits
        inventory = try Inventory(columns: [("id", (0..<rows).map { "digit\($0)" }),
                                            ("label", (0..<rows).map { String(digits.label(of: $0)) })])
    }

    /// float32[784] pixels scaled by 1/255.
    var floatPixels: ClosureEncoder {
        let digits = self.digits
        return ClosureEncoder(identity: "synthetic-digits(seed=1,float32,scale=1/255)@1", output: ArraySpec(.float32, [784])) { record in
            NDArray(digits.image(record.row).map { Float($0) / 255 }, shape: [784])
        }
    }

    /// uint8[784] pixels as drawn.
    var bytePixels: ClosureEncoder {
        let digits = self.digits
        return ClosureEncoder(identity: "synthetic-digits(seed=1,uint8)@1", output: ArraySpec(.uint8, [784])) { record in
            NDArray(digits.image(record.row), shape: [784])
        }
    }

    /// The fitted data set of `encoder` with the labels as target.
    func dataSet(_ encoder: ClosureEncoder) throws -> GeneratorDataSet {
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder, targetEncoder: RecordTargetEncoder.label(column: "label"))
        try dataSet.fitEncoders()
        return dataSet
    }
}
