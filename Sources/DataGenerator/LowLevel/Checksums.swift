internal import CZlib
internal import CCRC32Fold
internal import CCrypto

/// CRC-32 (the zlib / PNG / Python `zlib.crc32` polynomial) of stored cache bytes.
///
/// Hand-written in part, because a benchmark showed zlib's CRC-32 to be a bottleneck: Debian's
/// zlib 1.2.13 checks 420-byte units (a compressed MNIST row) at 1.4 GB/s and large buffers at
/// 3.2 GB/s here, which made checking each unit 14% of a cache's first epoch and most of the first
/// epoch of an uncompressed cache. On x86-64 with PCLMULQDQ, buffers of 64 bytes or more are folded
/// with carry-less multiplication (`CCRC32Fold`: 3.8 GB/s on 420-byte units, 10-11 GB/s on large
/// ones; `datagen-bench crc` measures both paths in one run) and zlib finishes the last 16 to 31
/// bytes, so both paths give zlib's value.
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `seed` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        let blocks = bytes.count / 16
        if blocks >= 4, let constants = foldConstants {
            var folded: (UInt64, UInt64) = (0, 0)
            let status = withUnsafeMutableBytes(of: &folded) { output in
                constants.withUnsafeBufferPointer {
                    dg_crc32_fold(seed, base.assumingMemoryBound(to: UInt8.self), blocks, $0.baseAddress!,
                                  output.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            if status == 0 {
                // The folded block continues from an all-ones register (zlib's "previous CRC" 0xFFFFFFFF).
                let head = withUnsafeBytes(of: &folded) { zlibChecksum($0, seed: 0xFFFF_FFFF) }
                return zlibChecksum(UnsafeRawBufferPointer(rebasing: bytes[(blocks * 16)...]), seed: head)
            }
        }
        return zlibChecksum(bytes, seed: seed)
    }

    /// The CRC-32 of a byte array.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// zlib's own CRC-32 (the reference the folded path is tested and benchmarked against).
    public static func zlibChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        var crc = UInt(seed)
        var pointer = base.assumingMemoryBound(to: UInt8.self)
        var left = bytes.count
        while left > 0 {  // crc32_z takes a size_t, but stay within UInt32 chunks for old zlibs
            let chunk = min(left, 1 << 30)
            crc = crc32(crc, pointer, UInt32(chunk))
            pointer += chunk
            left -= chunk
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The fold constants (see crc32_fold.h), or nil when this CPU cannot fold.
    static let foldConstants: [UInt64]? = dg_crc32_fold_available() == 1
        ? [575, 511, 191, 127].map { reflected(power(of: $0)) } : nil

    /// x^n mod P for the CRC-32 polynomial P = 0x1_04C1_1DB7, in ordinary bit order (bit j holds x^j).
    static func power(of exponent: Int) -> UInt64 {
        var remainder: UInt64 = 1
        for _ in 0..<exponent {
            remainder <<= 1
            if remainder & (1 << 32) != 0 { remainder ^= 0x1_04C1_1DB7 }
        }
        return remainder
    }

    /// A polynomial of degree below 64 with x^j moved to bit 63 − j, as the folded blocks hold it.
    static func reflected(_ value: UInt64) -> UInt64 {
        var result: UInt64 = 0
        for bit in 0..<64 where value & (1 << UInt64(bit)) != 0 { result |= 1 << UInt64(63 - bit) }
        return result
    }
}

/// Incremental SHA-256 over libcrypto's EVP interface.
///
/// Used for cache fingerprints and for the batch digest that `datagen cache bench` and the
/// Python package print (lowercase hex).
public struct SHA256Hasher: ~Copyable {
    private let context: OpaquePointer

    /// A hasher with nothing hashed yet.
    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto could not initialise SHA-256")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Hashes more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// Hashes a byte array.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Hashes a string's UTF-8 bytes followed by a 0 byte (so that concatenations stay distinct).
    public mutating func update(field: String) {
        var copy = field
        copy.withUTF8 { update(UnsafeRawBufferPointer($0)) }
        update([0])
    }

    /// Hashes an integer as 8 little-endian bytes.
    public mutating func update(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { update($0) }
    }

    /// The 32-byte digest; the hasher is consumed.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        digest.withUnsafeMutableBufferPointer { _ = EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        return Array(digest.prefix(Int(length)))
    }

    /// The digest as lowercase hex; the hasher is consumed.
    public consuming func hexDigest() -> String {
        Hex.encode(finalize())
    }
}

/// Lowercase hexadecimal text of bytes.
enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
