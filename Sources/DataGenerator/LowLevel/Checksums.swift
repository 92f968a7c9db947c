internal import CZlib
internal import CCrypto

/// CRC-32 (the zlib / PNG / Python `zlib.crc32` polynomial) of stored cache bytes.
enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `seed` (0 to start).
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
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

    /// The CRC-32 of a byte array.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
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
