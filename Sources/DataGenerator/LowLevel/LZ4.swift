internal import CLZ4

/// The LZ4 block API: the only file that calls liblz4.
///
/// The block format has no checksum of its own (a corrupted block can decode into wrong bytes),
/// so every stored unit carries a CRC-32 that readers check before decoding.
enum LZ4 {
    /// The largest compressed size of `count` input bytes.
    static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(clamping: count)))
    }

    /// Compresses `source` into `destination` (at least ``compressBound(_:)`` bytes).
    /// - Parameter level: 1 for the fast compressor (acceleration 1); 2…12 for LZ4HC at that level.
    /// - Returns: the compressed size, or `nil` when the input is too large for one block (2 GB).
    static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                         level: Int) -> Int? {
        guard source.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let src = source.baseAddress?.assumingMemoryBound(to: CChar.self)
        let dst = destination.baseAddress?.assumingMemoryBound(to: CChar.self)
        let written: Int32
        if level <= 1 {
            written = LZ4_compress_default(src, dst, Int32(source.count), Int32(clamping: destination.count))
        } else {
            written = LZ4_compress_HC(src, dst, Int32(source.count), Int32(clamping: destination.count), Int32(level))
        }
        return written > 0 || source.isEmpty ? Int(written) : nil
    }

    /// Decompresses a block that must expand to exactly `destination.count` bytes.
    /// - Returns: whether it did (malformed input, a wrong size or an overflow all give `false`;
    ///   liblz4's safe decoder never reads or writes outside the buffers).
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        if destination.isEmpty { return source.count == 1 && source[0] == 0 || source.isEmpty }
        guard source.count <= Int(Int32.max), destination.count <= Int(Int32.max) else { return false }
        let result = LZ4_decompress_safe(source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                         destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                                         Int32(source.count), Int32(destination.count))
        return Int(result) == destination.count
    }
}
