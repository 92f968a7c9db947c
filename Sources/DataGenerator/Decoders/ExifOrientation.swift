/// The EXIF orientation of a JPEG (tag 0x0112 of IFD0 in the first `Exif` APP1 segment) or a PNG
/// (its first `eXIf` chunk), and how to apply it as Pillow's `ImageOps.exif_transpose` does.
///
/// Every offset read from the file is checked against the segment before use: a damaged or
/// hostile EXIF block gives orientation 1 (as stored), never a crash.
public enum ExifOrientation {
    /// The orientation (1…8) that `jpeg` declares, or 1 when it declares none or an invalid one.
    public static func of(jpeg bytes: [UInt8]) -> Int {
        guard let segment = exifSegment(in: bytes) else { return 1 }
        return orientation(inTIFF: segment) ?? 1
    }

    /// The orientation (1…8) that `png` declares in an `eXIf` chunk, or 1 when it declares none or
    /// an invalid one.
    public static func of(png bytes: [UInt8]) -> Int {
        guard let chunk = exifChunk(in: bytes) else { return 1 }
        let exifHeader: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]
        let tiff = chunk.count >= 6 && Array(chunk.prefix(6)) == exifHeader ? chunk.dropFirst(6) : chunk
        return orientation(inTIFF: tiff) ?? 1
    }

    /// The body of the first `eXIf` chunk, walking the chunks from the signature to `IEND`.
    static func exifChunk(in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        var position = 8
        while position <= bytes.count - 12 {
            let length = bytes[position..<(position + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = Array(bytes[(position + 4)..<(position + 8)])
            guard length <= bytes.count - position - 12 else { return nil }
            let body = (position + 8)..<(position + 8 + length)
            if type == Array("eXIf".utf8) { return bytes[body] }
            if type == Array("IEND".utf8) { return nil }
            position = body.upperBound + 4
        }
        return nil
    }

    /// The bytes after `Exif\0\0` of the first APP1 segment that starts so, walking the markers
    /// before the first scan.
    static func exifSegment(in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var position = 2
        while position + 4 <= bytes.count {
            guard bytes[position] == 0xFF else { return nil }
            let marker = bytes[position + 1]
            if marker == 0xFF { position += 1; continue }  // fill bytes
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { position += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan, end of image
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            guard length >= 2, position + 2 + length <= bytes.count else { return nil }
            let body = (position + 4)..<(position + 2 + length)
            if marker == 0xE1, body.count >= 6,
               Array(bytes[body.lowerBound..<(body.lowerBound + 6)]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return bytes[(body.lowerBound + 6)..<body.upperBound]
            }
            position += 2 + length
        }
        return nil
    }

    /// The orientation tag of IFD0 in the TIFF structure `tiff`, when valid (1…8).
    static func orientation(inTIFF tiff: ArraySlice<UInt8>) -> Int? {
        let base = tiff.startIndex
        let count = tiff.count
        guard count >= 8 else { return nil }
        let little: Bool
        switch (tiff[base], tiff[base + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset <= count - 2 else { return nil }
            let a = Int(tiff[base + offset]), b = Int(tiff[base + offset + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ offset: Int) -> Int? {
            guard let low = u16(little ? offset : offset + 2), let high = u16(little ? offset + 2 : offset) else { return nil }
            return low | high << 16
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for index in 0..<entries {
            let entry = ifd + 2 + index * 12
            guard let tag = u16(entry), let type = u16(entry + 2), let values = u32(entry + 4) else { return nil }
            guard tag == 0x0112, values >= 1 else { continue }
            let value: Int?
            switch type {
            case 3: value = u16(entry + 8)  // SHORT, in the entry itself
            case 4: value = u32(entry + 8)  // LONG
            default: value = nil
            }
            guard let value, (1...8).contains(value) else { return nil }
            return value
        }
        return nil
    }

    /// The height and width after applying `orientation` to an image of `height` × `width`.
    public static func orientedSize(height: Int, width: Int, orientation: Int) -> (height: Int, width: Int) {
        (5...8).contains(orientation) ? (width, height) : (height, width)
    }

    /// `pixels` (height × width × channels, row-major) with `orientation` applied, as Pillow's
    /// `exif_transpose`: 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
    /// 7 transverse, 8 rotate 90° counter-clockwise.
    public static func apply(_ orientation: Int, to pixels: [UInt8], height: Int, width: Int, channels: Int) -> [UInt8] {
        guard (2...8).contains(orientation) else { return pixels }
        let (outHeight, outWidth) = orientedSize(height: height, width: width, orientation: orientation)
        return [UInt8](unsafeUninitializedCapacity: pixels.count) { out, initialized in
            pixels.withUnsafeBufferPointer { source in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sy, sx): (Int, Int)
                        switch orientation {
                        case 2: (sy, sx) = (y, width - 1 - x)
                        case 3: (sy, sx) = (height - 1 - y, width - 1 - x)
                        case 4: (sy, sx) = (height - 1 - y, x)
                        case 5: (sy, sx) = (x, y)
                        case 6: (sy, sx) = (height - 1 - x, y)
                        case 7: (sy, sx) = (height - 1 - x, width - 1 - y)
                        default: (sy, sx) = (x, width - 1 - y)
                        }
                        let from = (sy * width + sx) * channels, to = (y * outWidth + x) * channels
                        for c in 0..<channels { out[to + c] = source[from + c] }
                    }
                }
            }
            initialized = pixels.count
        }
    }
}
