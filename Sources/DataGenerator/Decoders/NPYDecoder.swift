/// Reads NumPy `.npy` files (format versions 1, 2 and 3): any bool, integer or float dtype they
/// declare, little- or big-endian, C or Fortran order.
///
/// The result has the file's dtype and shape unless ``dtype`` or ``shape`` are given: then values
/// are scaled by ``scale`` (when given), cast, and reshaped. Object arrays (pickles) are always
/// refused: a data file must never run code.
public struct NPYDecoder: Sendable, Hashable {
    /// The dtype of the result, or `nil` for the file's.
    public var dtype: DType?
    /// The shape of the result, or `nil` for the file's.
    public var shape: [Int]?
    /// The factor every value is multiplied by before the cast, or `nil` for none.
    public var scale: Double?

    /// A decoder that keeps the file's dtype and shape unless told otherwise.
    public init(dtype: DType? = nil, shape: [Int]? = nil, scale: Double? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.scale = scale
    }

    /// A stable description for encoder identities.
    public var identity: String {
        "npy(dtype=\(dtype.map { "\($0)" } ?? "file"),shape=\(shape.map { "\($0)" } ?? "file"),scale=\(scale.map { "\($0)" } ?? "none"))@1"
    }

    /// The dtype and shape a `.npy` header declares, without reading the data.
    public struct Header: Sendable, Hashable {
        /// The element type.
        public var dtype: DType
        /// The array's shape.
        public var shape: [Int]
        /// Whether the data are big-endian.
        public var bigEndian: Bool
        /// Whether the data are in Fortran (column-major) order.
        public var fortranOrder: Bool
        /// Where the data start.
        public var dataOffset: Int
    }

    /// The array in `contents`.
    /// - Throws: ``EncodingError/malformedData(row:id:location:reason:line:)`` naming what is wrong
    ///   with the file (bad magic, unsupported dtype, object arrays, short data, …).
    public func decode(_ contents: ResourceContents) throws(EncodingError) -> NDArray {
        func fail(_ reason: String) -> EncodingError {
            .malformedData(row: contents.row, id: contents.id, location: contents.location, reason: reason)
        }
        let header: Header
        do { header = try Self.header(of: contents.bytes) } catch { throw fail(error.reason) }
        let count = header.shape.reduce(1, *)
        let width = header.dtype.byteWidth
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, contents.bytes.count - header.dataOffset >= byteCount else {
            throw fail("the header declares \(header.dtype)\(header.shape) (\(byteCount) bytes) but the file holds \(contents.bytes.count - header.dataOffset) bytes of data")
        }
        var bytes = Array(contents.bytes[header.dataOffset..<(header.dataOffset + byteCount)])
        if header.bigEndian && width > 1 {
            for start in stride(from: 0, to: bytes.count, by: width) { bytes[start..<(start + width)].reverse() }
        }
        if header.fortranOrder && header.shape.count > 1 && count > 0 {  // no element: no strides (they could overflow)
            bytes = Self.fortranToC(bytes, shape: header.shape, width: width)
        }
        var array = try! NDArray(dtype: header.dtype, shape: header.shape, bytes: bytes)  // sizes checked above
        if let scale {
            let scaled = array.doubles().map { $0 * scale }
            let target = dtype ?? (header.dtype.isFloatingPoint ? header.dtype : .float64)
            array = try! NDArray(dtype: target, shape: array.shape, bytes: ScalarConversion.bytes(of: scaled, as: target))
        } else if let dtype {
            array = array.converted(to: dtype)
        }
        if let shape {
            do { array = try array.reshaped(shape) } catch { throw fail(error.description) }
        }
        return array
    }

    struct ParseFailure: Error { let reason: String }

    /// Parses the header of a `.npy` file.
    static func header(of bytes: [UInt8]) throws(ParseFailure) -> Header {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw ParseFailure(reason: "not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw ParseFailure(reason: "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw ParseFailure(reason: ".npy format version \(major) is not supported (1–3 are)")
        }
        guard headerLength <= 1 << 20, bytes.count >= start + headerLength else {
            throw ParseFailure(reason: "truncated .npy header (\(headerLength) bytes declared)")
        }
        guard let text = String(validating: bytes[start..<(start + headerLength)], as: UTF8.self) else {
            throw ParseFailure(reason: ".npy header is not valid text")
        }
        guard let descr = Self.value(of: "descr", in: text),
              let fortran = Self.value(of: "fortran_order", in: text),
              let shapeText = Self.value(of: "shape", in: text) else {
            throw ParseFailure(reason: ".npy header lacks descr, fortran_order or shape: \(text)")
        }
        let typeCode = descr.trimmingCharacters(in: "'\" ")
        guard typeCode.count >= 2 else { throw ParseFailure(reason: "unsupported .npy dtype \(descr)") }
        let order = typeCode.first!
        let kind = typeCode.dropFirst()
        if kind.first == "O" { throw ParseFailure(reason: ".npy object arrays (pickles) are refused") }
        let dtypes: [Substring: DType] = [
            "b1": .bool, "u1": .uint8, "u2": .uint16, "u4": .uint32, "u8": .uint64,
            "i1": .int8, "i2": .int16, "i4": .int32, "i8": .int64, "f2": .float16, "f4": .float32, "f8": .float64,
        ]
        guard "<>|=".contains(order), let dtype = dtypes[kind] else {
            throw ParseFailure(reason: "unsupported .npy dtype \(typeCode) (bool, integers and floats are supported)")
        }
        let fortranOrder: Bool
        switch fortran.trimmingCharacters(in: " ") {
        case "True": fortranOrder = true
        case "False": fortranOrder = false
        default: throw ParseFailure(reason: "bad fortran_order \(fortran)")
        }
        let inner = shapeText.trimmingCharacters(in: "() ")
        var shape = [Int]()
        for part in inner.split(separator: ",") {
            let trimmed = String(part).trimmingCharacters(in: " L")
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), dimension >= 0 else { throw ParseFailure(reason: "bad .npy shape \(shapeText)") }
            shape.append(dimension)
        }
        var total = 1
        for dimension in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= 1 << 40 else { throw ParseFailure(reason: ".npy shape \(shape) is absurdly large") }
            total = product
        }
        return Header(dtype: dtype, shape: shape, bigEndian: order == ">" && dtype.byteWidth > 1,
                      fortranOrder: fortranOrder, dataOffset: start + headerLength)
    }

    /// The text of the value of `key` in the header's Python dict literal (up to the next top-level comma).
    private static func value(of key: String, in text: String) -> String? {
        let characters = Array(text)
        for quote in ["'", "\""] {
            let needle = Array(quote + key + quote)
            guard needle.count <= characters.count,
                  let start = (0...(characters.count - needle.count)).first(where: {
                      characters[$0..<($0 + needle.count)].elementsEqual(needle)
                  }) else { continue }
            var rest = characters[(start + needle.count)...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst()
            var depth = 0
            var result = ""
            for character in rest {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1 }
                if (character == "," && depth == 0) || character == "}" { break }
                result.append(character)
            }
            return result.trimmingCharacters(in: " ")
        }
        return nil
    }

    /// Column-major bytes reordered to row-major.
    static func fortranToC(_ bytes: [UInt8], shape: [Int], width: Int) -> [UInt8] {
        let count = shape.reduce(1, *)
        var result = [UInt8](repeating: 0, count: bytes.count)
        var cStrides = [Int](repeating: 1, count: shape.count)
        var fStrides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { cStrides[axis] = cStrides[axis + 1] * shape[axis + 1] }
        for axis in 1..<shape.count { fStrides[axis] = fStrides[axis - 1] * shape[axis - 1] }
        for cIndex in 0..<count {
            var rest = cIndex, fIndex = 0
            for axis in 0..<shape.count {
                fIndex += (rest / cStrides[axis]) * fStrides[axis]
                rest %= cStrides[axis]
            }
            for byte in 0..<width { result[cIndex * width + byte] = bytes[fIndex * width + byte] }
        }
        return result
    }
}

extension StringProtocol {
    /// The text without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        guard let start = firstIndex(where: { !drop($0) }) else { return "" }
        let end = lastIndex(where: { !drop($0) })!
        return String(self[start...end])
    }
}
