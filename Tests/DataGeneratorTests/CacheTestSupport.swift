import Testing
@testable import DataGenerator

/// Fixtures of the cache tests: small generated data sets and cache files in temporary directories.
enum CacheFixtures {
    /// An inventory of `count` rows with ids `r0…` and labels `a`, `b`, `c`.
    static func inventory(_ count: Int, idPrefix: String = "r") throws -> Inventory {
        try Inventory(columns: [("id", (0..<count).map { "\(idPrefix)\($0)" }),
                                ("label", (0..<count).map { ["a", "b", "c"][$0 % 3] })])
    }

    /// Deterministic bytes for a row: a run of zeros (compressible) then a pseudo-random tail.
    static func rowBytes(row: Int, count: Int, salt: Int) -> [UInt8] {
        var state = UInt64(truncatingIfNeeded: row &* 0x9E37_79B9 &+ salt &* 0x85EB_CA6B) | 1
        return (0..<count).map { index in
            if index < count / 2 { return UInt8(truncatingIfNeeded: (index / 64) & 1) }
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// A per-record encoder of fixed `dtype[shape]` arrays made of ``rowBytes(row:count:salt:)``.
    static func fixedEncoder(_ dtype: DType, _ shape: [Int], salt: Int = 0) -> ClosureEncoder {
        let spec = ArraySpec(dtype, shape)
        let count = shape.reduce(1, *) * dtype.byteWidth
        return ClosureEncoder(identity: "fixed(\(spec),salt=\(salt))@1", output: spec) { record in
            var bytes = rowBytes(row: record.row, count: count, salt: salt)
            if dtype == .bool { bytes = bytes.map { $0 & 1 } }
            return try NDArray(dtype: dtype, shape: shape, bytes: bytes)
        }
    }

    /// A per-record encoder of variable-length `dtype[*, trailing]` arrays whose lengths come from
    /// `length(row)`.
    static func variableEncoder(_ dtype: DType, trailing: [Int] = [], salt: Int = 0,
                                length: @escaping @Sendable (Int) -> Int) -> ClosureEncoder {
        let spec = ArraySpec.variableLength(dtype, trailing: trailing)
        let step = trailing.reduce(1, *) * dtype.byteWidth
        return ClosureEncoder(identity: "variable(\(spec),salt=\(salt))@1", output: spec) { record in
            let rows = length(record.row)
            return try NDArray(dtype: dtype, shape: [rows] + trailing,
                               bytes: rowBytes(row: record.row, count: rows * step, salt: salt))
        }
    }

    /// A fitted data set.
    static func dataSet(_ inventory: Inventory, _ encoders: [any DataEncoding],
                        target: (any TargetEncoder)? = nil) throws -> GeneratorDataSet {
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoders: encoders, targetEncoder: target)
        try dataSet.fitEncoders()
        return dataSet
    }

    /// Builds a cache of `dataSet` in `directory` and opens it.
    @discardableResult
    static func build(_ dataSet: GeneratorDataSet, in directory: String, name: String = "test.dgcache",
                      options: CacheBuildOptions = CacheBuildOptions(workers: 2)) throws -> (CacheFile, CacheBuildReport) {
        let path = directory + "/" + name
        let report = try CacheBuilder(dataSet: dataSet, output: path, options: options).build()
        return (try CacheFile(path: path), report)
    }

    /// The bytes of a file.
    static func bytes(_ path: String) throws -> [UInt8] { try FileIO.readAll(path) }

    /// This process's memory figures from `/proc/self/status` (`VmRSS`, `VmHWM`, `RssAnon`,
    /// `RssFile`…), in bytes.
    static func processStatus() throws -> [String: Int] {
        let text = String(decoding: try FileIO.readAll("/proc/self/status"), as: UTF8.self)
        var values = [String: Int]()
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            if fields.count >= 2, let kilobytes = Int(fields[1]) { values[String(fields[0])] = kilobytes * 1024 }
        }
        return values
    }

    /// Runs `body` with a fresh temporary directory, removed afterwards.
    static func withDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        return try body(directory)
    }

    /// The error `body` throws, as a ``CacheError`` (recording an issue when it throws nothing
    /// or something else).
    static func cacheError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> CacheError? {
        do {
            try body()
            Issue.record("expected a CacheError, nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as CacheError {
            return error
        } catch {
            Issue.record("expected a CacheError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }
}
