import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The hostile inventory whose test measures the process's memory: run alone (tools/test.sh), so
/// that no other test's allocations count against its bound.
@Suite("Hostile inventories: bounded memory", .serialized)
struct HostileInventoryMemoryTests {
    @Test("a header of 3 million columns is refused at line 1 without holding them all")
    func millionsOfColumnsAreRefusedInBoundedMemory() throws {
        var header = [UInt8]()
        header.reserveCapacity(3_000_000 * 2 + 1)
        for _ in 0..<3_000_000 { header += [UInt8(ascii: "c"), UInt8(ascii: ",")] }
        header[header.count - 1] = UInt8(ascii: "\n")
        var error: InventoryError?
        let growth = ReliabilityFixtures.peakGrowth {
            error = #expect(throws: InventoryError.self) { _ = try Inventory(csv: header, source: "wide.csv") }
        }
        guard case let .malformedCSV(source, line, reason)? = error else {
            Issue.record("expected malformedCSV, got \(String(describing: error))")
            return
        }
        #expect(source == "wide.csv" && line == 1)
        #expect(reason.contains("column"), "\(reason)")
        // 3 million one-letter Strings in arrays would take well over 100 MB.
        #expect(growth < 96 << 20, "peak memory grew by \(growth >> 20) MiB")
    }
}
