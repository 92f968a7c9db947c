/// Why an image file could not be decoded, before the record that holds it is named (see
/// ``ImageDecoder/decode(_:)``, which turns it into ``EncodingError/malformedData(row:id:location:reason:line:)``).
public enum ImageDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file holds no byte.
    case empty
    /// The first bytes are neither a JPEG's nor a PNG's signature.
    case notAnImage(firstBytes: [UInt8])
    /// The header declares more pixels than the decoder allows (checked before any allocation).
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// The header declares a zero width or height.
    case emptyImage(width: Int, height: Int)
    /// libjpeg or libpng refused the data (truncated, bad CRC, bad Huffman codes, …).
    case corrupt(format: ImageFormat, reason: String)

    public var description: String {
        switch self {
        case .empty:
            "empty file: not an image"
        case let .notAnImage(firstBytes):
            "not a JPEG or PNG image (first bytes \(firstBytes.map { Self.hex($0) }.joined(separator: " ")))"
        case let .tooManyPixels(width, height, limit):
            "the image declares \(width)×\(height) = \(width * height) pixels, more than --max-pixels \(limit)"
        case let .emptyImage(width, height):
            "the image declares \(width)×\(height) pixels: nothing to decode"
        case let .corrupt(format, reason):
            "corrupt \(format.rawValue.uppercased()): \(reason)"
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// The image formats ``ImageDecoder`` reads, recognised by their first bytes.
public enum ImageFormat: String, Sendable, Hashable {
    /// JPEG (`FF D8 FF`).
    case jpeg
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    case png

    /// The format whose signature `bytes` start with, or `nil`.
    public static func recognise(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8 && Array(bytes[0..<8]) == png { return .png }
        return nil
    }
}
