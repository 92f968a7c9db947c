#if canImport(Glibc)
import Glibc
#endif

/// Parses numbers written as text, the way `numpy.savetxt` writes them: values separated by white
/// space or commas, one or more lines.
///
/// The shape is the one read (lines × values per line; a single line gives one dimension) unless a
/// ``shape`` is given, which must hold the same number of values. Each value is multiplied by
/// ``scale`` and then cast to ``dtype`` (integers round toward zero and clamp).
///
/// ```swift
/// let decoder = TextArrayDecoder(dtype: .float32, shape: [784], scale: 1 / 255)
/// let image = try decoder.decode(contents)   // float32[784]
/// ```
public struct TextArrayDecoder: Sendable, Hashable {
    /// The dtype of the result.
    public var dtype: DType
    /// The shape of the result, or `nil` for the shape as read.
    public var shape: [Int]?
    /// The factor every value is multiplied by before the cast, or `nil` for none.
    public var scale: Double?

    /// A decoder to `dtype`, reshaped to `shape` when given, scaled by `scale` when given.
    public init(dtype: DType = .float32, shape: [Int]? = nil, scale: Double? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.scale = scale
    }

    /// A stable description for encoder identities.
    public var identity: String {
        "text(dtype=\(dtype),shape=\(shape.map { "\($0)" } ?? "as-read"),scale=\(scale.map { "\($0)" } ?? "none"))@1"
    }

    /// The numbers in `contents`.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming the line and the
    ///   text that is not a number, lines of different lengths, or a shape that does not fit.
    public func decode(_ contents: ResourceContents) throws(EncodingError) -> NDArray {
        let parsed: (values: [Double], lines: Int, perLine: Int)
        do {
            parsed = try Self.parse(contents.bytes)
        } catch {
            throw .malformedData(row: contents.row, id: contents.id, location: contents.location, reason: error.reason)
        }
        var values = parsed.values
        if let scale { for index in values.indices { values[index] *= scale } }
        let readShape = parsed.lines <= 1 ? [values.count] : [parsed.lines, parsed.perLine]
        let target = shape ?? readShape
        guard target.allSatisfy({ $0 >= 0 }), target.reduce(1, *) == values.count else {
            throw .malformedData(row: contents.row, id: contents.id, location: contents.location,
                                 reason: "\(values.count) values (\(readShape.map(String.init).joined(separator: "×")) as read) do not fit shape \(target)")
        }
        // The byte count matches the shape by construction.
        return try! NDArray(dtype: dtype, shape: target, bytes: ScalarConversion.bytes(of: values, as: dtype))
    }

    struct ParseFailure: Error { let reason: String }

    @inline(__always)
    static func isSeparator(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x2C || byte == 0x0D || byte == 0x0A
    }

    /// Splits `bytes` into numbers: separators are spaces, tabs, commas and line ends; empty lines
    /// are ignored; every non-empty line must hold the same number of values.
    static func parse(_ bytes: [UInt8]) throws(ParseFailure) -> (values: [Double], lines: Int, perLine: Int) {
        var text = bytes
        text.append(0)  // strtod needs a terminator
        var values = [Double]()
        values.reserveCapacity(bytes.count / 8)
        var lines = 0, perLine = -1, onLine = 0, physicalLine = 1
        var failure: ParseFailure?
        text.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            let end = bytes.count
            var i = 0
            func endLine() -> Bool {
                if onLine > 0 {
                    if perLine >= 0 && onLine != perLine {
                        failure = ParseFailure(reason: "line \(physicalLine) has \(onLine) values, the lines before it \(perLine)")
                        return false
                    }
                    perLine = onLine
                    lines += 1
                    onLine = 0
                }
                physicalLine += 1
                return true
            }
            while i < end {
                let byte = base[i]
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ","), UInt8(ascii: "\r"):
                    i += 1
                case UInt8(ascii: "\n"):
                    guard endLine() else { return }
                    i += 1
                default:
                    var tokenEnd: UnsafeMutablePointer<CChar>? = nil
                    let start = UnsafeMutableRawPointer(mutating: base + i).assumingMemoryBound(to: CChar.self)
                    let value = strtod(start, &tokenEnd)
                    let consumed = tokenEnd.map { UnsafeRawPointer($0) - UnsafeRawPointer(start) } ?? 0
                    let next = i + consumed
                    let separated = next >= end || isSeparator(base[next])
                    guard consumed > 0, separated else {
                        var stop = i
                        while stop < end, stop - i < 40, !isSeparator(base[stop]) { stop += 1 }
                        let token = String(decoding: UnsafeBufferPointer(start: base + i, count: stop - i), as: UTF8.self)
                        failure = ParseFailure(reason: "line \(physicalLine): '\(token)' is not a number")
                        return
                    }
                    values.append(value)
                    onLine += 1
                    i = next
                }
            }
            _ = endLine()
        }
        if let failure { throw failure }
        return (values, lines, max(perLine, 0))
    }
}
