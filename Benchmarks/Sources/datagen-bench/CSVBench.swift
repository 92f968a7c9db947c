// The inventory CSV benchmark: load a pandas-layout inventory (`,id,target` header, then index,
// id, label) of 1,000,000 rows with `Inventory(contentsOfCSVFile:)`, which reads the file, parses
// it and builds the inventory (duplicate-id check included). The goal is under 1 s per load.

import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// An error of the CSV benchmark's own set-up (writing its input, reading its arguments).
enum CSVBenchmarkError: Error, CustomStringConvertible {
    /// The temporary input file could not be created or written.
    case cannotWrite(path: String, errno: Int32)
    /// An argument that is not understood.
    case badArgument(String)

    var description: String {
        switch self {
        case let .cannotWrite(path, code): "cannot write \(path): \(String(cString: strerror(code)))"
        case let .badArgument(argument): "bad argument '\(argument)' (usage: csv [--rows N] [--runs K])"
        }
    }
}

/// Writes the benchmark CSV, times several loads and prints the median, rows/s, MB/s and whether
/// the 1 s goal is met.
///
/// Arguments: `--rows N` (default 1,000,000), `--runs K` (default 7).
func runCSVBenchmark(arguments: [String]) throws {
    var rows = 1_000_000
    var runs = 7
    var remaining = arguments[...]
    while let flag = remaining.popFirst() {
        guard let text = remaining.popFirst(), let value = Int(text), value > 0 else {
            throw CSVBenchmarkError.badArgument(flag)
        }
        switch flag {
        case "--rows": rows = value
        case "--runs": runs = value
        default: throw CSVBenchmarkError.badArgument(flag)
        }
    }

    let path = "/tmp/datagen-bench-csv-\(getpid()).csv"
    defer { unlink(path) }
    let bytes = try writeInventoryCSV(rows: rows, to: path)
    print("csv: \(rows) rows x 3 columns (pandas layout), \(formatted(Double(bytes) / 1e6)) MB at \(path)")

    let median = try medianLoadSeconds(path: path, rows: rows, runs: runs, idColumn: .automatic)
    print("load (read + parse + build + unique-id check): median \(formatted(median)) s: "
        + "\(formatted(Double(rows) / median / 1e6)) M rows/s, \(formatted(Double(bytes) / median / 1e6)) MB/s")
    let unchecked = try medianLoadSeconds(path: path, rows: rows, runs: runs, idColumn: .none)
    print("load without the unique-id check: median \(formatted(unchecked)) s: "
        + "\(formatted(Double(rows) / unchecked / 1e6)) M rows/s, \(formatted(Double(bytes) / unchecked / 1e6)) MB/s")
    let goal = 1.0 * Double(rows) / 1_000_000
    print(median < goal ? "goal met: \(formatted(median)) s < \(formatted(goal)) s"
        : "GOAL MISSED: \(formatted(median)) s >= \(formatted(goal)) s")
}

/// The median time of `runs` loads of the file with `Inventory(contentsOfCSVFile:idColumn:)`.
private func medianLoadSeconds(path: String, rows: Int, runs: Int, idColumn: Inventory.IDColumn) throws -> Double {
    var times: [Double] = []
    for _ in 1...runs {
        let start = monotonicSeconds()
        let inventory = try Inventory(contentsOfCSVFile: path, idColumn: idColumn)
        let elapsed = monotonicSeconds() - start
        precondition(inventory.count == rows && inventory.columnNames == ["id", "target"])
        times.append(elapsed)
    }
    times.sort()
    print("  runs (sorted, s): \(times.map(formatted).joined(separator: " "))")
    return times[times.count / 2]
}

/// Writes `,id,target` then `i,id_i,cat_(i % 10)` for each row; returns the file's size.
private func writeInventoryCSV(rows: Int, to path: String) throws -> Int {
    var text: [UInt8] = []
    text.reserveCapacity(rows * 24 + 16)
    text.append(contentsOf: ",id,target\n".utf8)
    for row in 0..<rows {
        text.append(contentsOf: "\(row),id_\(row),cat_\(row % 10)\n".utf8)
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CSVBenchmarkError.cannotWrite(path: path, errno: errno) }
    defer { close(fd) }
    var written = 0
    while written < text.count {
        let n = text.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw CSVBenchmarkError.cannotWrite(path: path, errno: errno) }
        written += n
    }
    return text.count
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// `value` with three decimals.
private func formatted(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
