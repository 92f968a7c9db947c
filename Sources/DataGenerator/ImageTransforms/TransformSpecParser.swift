/// Why a transform spec was refused: where, what was found and what was expected.
///
/// `position` is the 0-based offset in the spec's UTF-8 bytes; the messages count characters
/// from 1, as editors do ("at character 6" of `flip,,chw` is the second comma).
public enum TransformSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Something else than `expected` at offset `position` (0-based) of `spec`; `found` is
    /// the token there (`end of spec` at the end).
    case unexpected(spec: String, position: Int, found: String, expected: String)
    /// A step name that is not a transform.
    case unknownTransform(spec: String, position: Int, name: String)
    /// An argument of a known transform that is out of range or misses a part.
    case invalidArgument(spec: String, position: Int, transform: String, reason: String)
    /// Well-formed steps that do not make a pipeline (see ``ImagePipeline/init(_:)``).
    case invalidPipeline(spec: String, reason: String)

    /// The names the parser knows.
    public static let knownTransforms = ["random-resized-crop", "resize-shorter", "center-crop", "flip", "normalize", "chw"]

    /// The message: the spec, the character position (counted from 1), what was found and what was expected.
    public var description: String {
        switch self {
        case let .unexpected(spec, position, found, expected):
            return "transform spec '\(spec)': expected \(expected) at character \(position + 1), found \(found)"
        case let .unknownTransform(spec, position, name):
            return "transform spec '\(spec)': unknown transform '\(name)' at character \(position + 1); expected one of \(Self.knownTransforms.joined(separator: ", "))"
        case let .invalidArgument(spec, position, transform, reason):
            return "transform spec '\(spec)': \(transform) at character \(position + 1): \(reason)"
        case let .invalidPipeline(spec, reason):
            return "transform spec '\(spec)': \(reason)"
        }
    }
}

/// The parser of the one transform spec syntax: steps separated by commas at the top level,
/// arguments in parentheses (`random-resized-crop(224,scale=0.35..1),flip,normalize(imagenet),chw`).
///
/// ```text
/// spec     = step { "," step }
/// step     = name [ "(" argument { "," argument } ")" ]
/// argument = value | key "=" value
/// value    = number | number ".." number | number "/" number ... | word
/// ```
/// Numbers are decimals (`0.08`, `1e-3`) or, inside a range, fractions (`3/4`). Spaces around
/// tokens are ignored.
enum TransformSpecParser {
    /// The steps of `spec`, each with the 0-based offset at which it starts.
    static func parse(_ spec: String) throws(TransformSpecError) -> [(step: ImageTransform, position: Int)] {
        var scanner = Scanner(spec: spec)
        var steps = [(step: ImageTransform, position: Int)]()
        repeat {
            scanner.skipSpaces()
            let position = scanner.position
            steps.append((try scanner.step(), position))
        } while try scanner.separator()
        return steps
    }

    private struct Scanner {
        let spec: String
        let bytes: [UInt8]
        var position = 0

        init(spec: String) {
            self.spec = spec
            bytes = Array(spec.utf8)
        }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpaces() {
            while let byte = current, byte == 0x20 || byte == 0x09 { position += 1 }
        }

        /// The token at the position, for messages.
        func found() -> String {
            guard position < bytes.count else { return "end of spec" }
            var end = position
            if isWordByte(bytes[end]) {
                while end < bytes.count, isWordByte(bytes[end]) { end += 1 }
            } else {
                end += 1
            }
            return "'\(String(decoding: bytes[position..<end], as: UTF8.self))'"
        }

        func unexpected(_ expected: String) -> TransformSpecError {
            .unexpected(spec: spec, position: position, found: found(), expected: expected)
        }

        func isWordByte(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x2B
        }

        /// A name: letters, digits and dashes starting with a letter.
        mutating func name(_ what: String) throws(TransformSpecError) -> (String, Int) {
            skipSpaces()
            let start = position
            guard let first = current, (first >= 0x61 && first <= 0x7A) || (first >= 0x41 && first <= 0x5A) else {
                throw unexpected(what)
            }
            while let byte = current, (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                    || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F {
                position += 1
            }
            return (String(decoding: bytes[start..<position], as: UTF8.self).lowercased(), start)
        }

        /// Consumes `byte` when it comes next (after spaces).
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpaces()
            guard current == byte else { return false }
            position += 1
            return true
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(TransformSpecError) {
            guard take(byte) else { throw unexpected(what) }
        }

        /// After a step: `true` for a comma, `false` at the end.
        mutating func separator() throws(TransformSpecError) -> Bool {
            if take(0x2C) { return true }
            skipSpaces()
            guard current == nil else { throw unexpected("',' or the end of the spec") }
            return false
        }

        /// A decimal number.
        mutating func number(_ what: String) throws(TransformSpecError) -> Double {
            skipSpaces()
            let start = position
            if current == 0x2D || current == 0x2B { position += 1 }
            var digits = 0
            var seenDot = false
            while let byte = current {
                if byte >= 0x30 && byte <= 0x39 { digits += 1; position += 1; continue }
                // A dot starts a fraction unless it begins a `..` range.
                if byte == 0x2E && !seenDot && !(position + 1 < bytes.count && bytes[position + 1] == 0x2E) {
                    seenDot = true
                    position += 1
                    continue
                }
                break
            }
            if digits > 0, current == 0x65 || current == 0x45 {
                let mark = position
                position += 1
                if current == 0x2D || current == 0x2B { position += 1 }
                var exponentDigits = 0
                while let byte = current, byte >= 0x30 && byte <= 0x39 { exponentDigits += 1; position += 1 }
                if exponentDigits == 0 { position = mark }
            }
            guard digits > 0, let value = Double(String(decoding: bytes[start..<position], as: UTF8.self)), value.isFinite else {
                position = start
                throw unexpected(what)
            }
            return value
        }

        /// A whole number.
        mutating func integer(_ transform: String) throws(TransformSpecError) -> Int {
            skipSpaces()
            let start = position
            let value = try number("a size (a whole number)")
            guard value == value.rounded(), value >= 1, value <= Double(ImagePipeline.maximumSide) else {
                throw .invalidArgument(spec: spec, position: start, transform: transform,
                                       reason: "the size must be a whole number in 1...\(ImagePipeline.maximumSide)")
            }
            return Int(value)
        }

        /// A number or a fraction `A/B`.
        mutating func ratioNumber(_ transform: String) throws(TransformSpecError) -> Double {
            let start = position
            let value = try number("a number")
            guard take(0x2F) else { return value }
            let denominator = try number("a denominator")
            guard denominator != 0 else {
                throw .invalidArgument(spec: spec, position: start, transform: transform, reason: "division by zero")
            }
            return value / denominator
        }

        /// `A..B` with A ≤ B, both positive.
        mutating func range(_ transform: String, key: String) throws(TransformSpecError) -> ClosedRange<Double> {
            skipSpaces()
            let start = position
            let lower = try ratioNumber(transform)
            guard take(0x2E), take(0x2E) else { throw unexpected("'..' (a range A..B)") }
            let upper = try ratioNumber(transform)
            guard lower > 0, lower <= upper else {
                throw .invalidArgument(spec: spec, position: start, transform: transform,
                                       reason: "\(key)=\(ImageTransform.number(lower))..\(ImageTransform.number(upper)) needs 0 < A ≤ B")
            }
            return lower...upper
        }

        /// `A/B/C`: one value per channel (or one for all).
        mutating func channelValues() throws(TransformSpecError) -> [Double] {
            var values = [try number("a number")]
            while take(0x2F) { values.append(try number("a number")) }
            return values
        }

        mutating func step() throws(TransformSpecError) -> ImageTransform {
            let (name, start) = try name("a transform name (\(TransformSpecError.knownTransforms.joined(separator: ", ")))")
            switch name {
            case "random-resized-crop":
                try expect(0x28, "'(' and the crop's size")
                let size = try integer(name)
                var scale = ImageTransform.defaultScale
                var ratio = ImageTransform.defaultRatio
                var seen = Set<String>()
                while take(0x2C) {
                    let (key, keyStart) = try self.name("'scale=' or 'ratio='")
                    guard key == "scale" || key == "ratio" else {
                        position = keyStart
                        throw unexpected("'scale=' or 'ratio='")
                    }
                    guard seen.insert(key).inserted else {
                        throw .invalidArgument(spec: spec, position: keyStart, transform: name, reason: "\(key) is given twice")
                    }
                    try expect(0x3D, "'=' after \(key)")
                    if key == "scale" { scale = try range(name, key: key) } else { ratio = try range(name, key: key) }
                }
                try expect(0x29, "',' or ')'")
                return .randomResizedCrop(size: size, scale: scale, ratio: ratio)
            case "resize-shorter", "center-crop":
                try expect(0x28, "'(' and a size")
                let size = try integer(name)
                try expect(0x29, "')'")
                return name == "center-crop" ? .centerCrop(size) : .resizeShorter(size)
            case "flip", "chw":
                if take(0x28) { throw unexpected("')': \(name) takes no arguments") }
                return name == "flip" ? .flip : .chw
            case "normalize":
                try expect(0x28, "'(' and 'imagenet' or 'mean=A/B/C,std=D/E/F'")
                let (word, wordStart) = try self.name("'imagenet' or 'mean='")
                if word == "imagenet" {
                    try expect(0x29, "')'")
                    return ImageTransform.normalizeImageNet
                }
                guard word == "mean" else {
                    position = wordStart
                    throw unexpected("'imagenet' or 'mean='")
                }
                try expect(0x3D, "'=' after mean")
                let mean = try channelValues()
                try expect(0x2C, "',std=' after the means")
                let (std, stdStart) = try self.name("'std='")
                guard std == "std" else {
                    position = stdStart
                    throw unexpected("'std='")
                }
                try expect(0x3D, "'=' after std")
                let deviations = try channelValues()
                try expect(0x29, "')'")
                guard mean.count == deviations.count else {
                    throw .invalidArgument(spec: spec, position: start, transform: name,
                                           reason: "\(mean.count) means but \(deviations.count) standard deviations")
                }
                guard deviations.allSatisfy({ $0 != 0 }) else {
                    throw .invalidArgument(spec: spec, position: stdStart, transform: name, reason: "a standard deviation is zero")
                }
                return .normalize(mean: mean, std: deviations)
            default:
                throw .unknownTransform(spec: spec, position: start, name: name)
            }
        }
    }
}
