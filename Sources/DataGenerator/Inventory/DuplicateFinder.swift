/// Finds the first repeated value in a column: the inventory's unique-id check.
///
/// An open-addressing table of row numbers keyed by a cheap hash of each value's UTF-8 bytes
/// (eight bytes per multiply), with full hashes kept per row so that strings are compared only
/// when their hashes agree. It runs several times faster than a `Set<String>` on a million ids:
/// hand-written because a benchmark showed the `Dictionary` check was the bottleneck of loading an
/// inventory (1,000,000 rows: 0.64–1.23 s with it, 0.31 s with this; `datagen-bench csv`).
/// The hash is keyed with a fresh random seed on each call, and should a probe sequence grow
/// long anyway (crafted collisions), the search starts over with a `Dictionary`, whose hashing
/// resists flooding: the result never depends on the hash, only the time does.
enum DuplicateFinder {
    /// The rows of the first value that appears twice: the earlier row and the first repeat.
    /// - Parameter maxProbes: the longest probe sequence tolerated before falling back to a
    ///   `Dictionary`.
    /// - Complexity: O(*n*) expected.
    static func firstDuplicate(in values: [String], maxProbes: Int = 64) -> (first: Int, second: Int)? {
        guard values.count > 1 else { return nil }
        guard values.count < Int(Int32.max) / 2, let found = probeTable(values, maxProbes: maxProbes) else {
            return dictionarySearch(values)
        }
        return found.first < 0 ? nil : (found.first, found.second)
    }

    /// The table search; `nil` when a probe sequence grew too long, `(-1, -1)` for no duplicate.
    private static func probeTable(_ values: [String], maxProbes: Int) -> (first: Int, second: Int)? {
        var capacity = 16
        while capacity < values.count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [Int32](repeating: -1, count: capacity)
        var hashes = [UInt64](repeating: 0, count: values.count)
        let key = UInt64.random(in: .min ... .max)
        for (row, value) in values.enumerated() {
            let hash = Self.hash(value, key: key)
            hashes[row] = hash
            var slot = Int(truncatingIfNeeded: hash) & mask
            var probes = 0
            while true {
                let other = Int(slots[slot])
                if other < 0 {
                    slots[slot] = Int32(row)
                    break
                }
                if hashes[other] == hash, values[other] == value { return (other, row) }
                probes += 1
                if probes > maxProbes { return nil }
                slot = (slot + 1) & mask
            }
        }
        return (-1, -1)
    }

    /// The same search with the standard library's flooding-resistant hashing.
    private static func dictionarySearch(_ values: [String]) -> (first: Int, second: Int)? {
        var firstRow = [String: Int](minimumCapacity: values.count)
        for (row, value) in values.enumerated() {
            if let first = firstRow.updateValue(row, forKey: value) { return (first, row) }
        }
        return nil
    }

    /// A keyed 64-bit hash of `value`'s UTF-8 bytes.
    static func hash(_ value: String, key: UInt64) -> UInt64 {
        if let hash = value.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0), key: key) }) {
            return hash
        }
        return Array(value.utf8).withUnsafeBytes { hash($0, key: key) }
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer, key: UInt64) -> UInt64 {
        var state = key ^ UInt64(bytes.count)
        var index = 0
        while index + 8 <= bytes.count {
            state = (state ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            state ^= state >> 29
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            tail |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        return SplitMix64.mix(state ^ tail ^ (key &* 0xD6E8_FEB8_6659_FD93))
    }
}
