import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Fixtures shared by the tests.
enum Fixtures {
    /// `Tests/DataGeneratorTests/Resources`, found from this source file.
    static let resources: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!]) + "/Resources"
    }()

    /// The seed library's test resources: `id1.txt` … `id10.txt` and `inventory.csv`.
    static let seedResources = resources + "/seed"

    /// The seed's data-set fixture: ids `id_0…id_{size-1}`, targets `cat_{i % targets}`.
    static func seedInventory(size: Int = 10, targets: Int = 3) throws -> Inventory {
        try Inventory(records: (0..<size).map { ["id": "id_\($0)", "target": "cat_\($0 % targets)"] },
                      columns: ["id", "target"])
    }

    /// The seed's data encoder: a one-hot vector of length `targets` at `id % targets`.
    static func seedDataEncoder(targets: Int = 3) -> ClosureEncoder {
        ClosureEncoder(identity: "seed-onehot-id@1", output: ArraySpec(.int64, [targets])) { record in
            let position = Int(record["id"]!.split(separator: "_").last!)! % targets
            var encoded = [Int64](repeating: 0, count: targets)
            encoded[position] = 1
            return NDArray(encoded)
        }
    }

    /// The seed's target encoder: the number after `cat_`.
    static func seedTargetEncoder() -> ClosureTargetEncoder {
        ClosureTargetEncoder(identity: "seed-cat-number@1", output: ArraySpec(.int64, [])) { records in
            NDArray(records.map { Int64($0["target"]!.split(separator: "_").last!)! })
        }
    }

    /// A fresh empty temporary directory, removed by `cleanup`.
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/datagen-test-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    /// Removes a directory tree.
    static func remove(_ path: String) {
        _ = path.withCString { system("rm -rf '\(String(cString: $0))'") }
    }

    /// Writes text to a file.
    static func write(_ text: String, to path: String) throws {
        try FileIO.write(Array(text.utf8), to: path)
    }
}

extension NDArray {
    /// Rows of a 2-D integer array, for readable expectations.
    var intRows: [[Int]] {
        let values = doubles().map { Int($0) }
        let width = shape.count > 1 ? shape[1...].reduce(1, *) : 1
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<($0 + width)]) }
    }
}
