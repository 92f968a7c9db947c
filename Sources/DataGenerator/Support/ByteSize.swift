/// A number of bytes written with a unit, as users write sizes: `512MB`, `2GiB`, `1.5G`, `300 KB`,
/// `4096B`.
///
/// Units, case-insensitive: `B`; decimal `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` (10³, 10⁶, 10⁹,
/// 10¹²); binary `Ki`/`KiB`, `Mi`/`MiB`, `Gi`/`GiB`, `Ti`/`TiB` (2¹⁰ … 2⁴⁰). The `i` makes a unit
/// binary, as in Kubernetes and pydantic. A bare number is in the caller's default unit (the CLI's
/// `--memory-budget` keeps MiB for backward compatibility). A fraction is allowed (`1.5GiB`);
/// the result is rounded down to whole bytes.
///
/// ```swift
/// try ByteSize(parsing: "512MB").bytes                          // 512_000_000
/// try ByteSize(parsing: "2GiB").bytes                           // 2_147_483_648
/// try ByteSize(parsing: "44", defaultUnit: .mebibyte).bytes     // 46_137_344
/// ```
public struct ByteSize: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The number of bytes.
    public let bytes: Int

    /// A size of `bytes` bytes.
    public init(bytes: Int) { self.bytes = bytes }

    /// A unit a size is written in.
    public enum Unit: String, Sendable, CaseIterable {
        /// 1 byte.
        case byte = "B"
        /// 10³ bytes.
        case kilobyte = "KB"
        /// 10⁶ bytes.
        case megabyte = "MB"
        /// 10⁹ bytes.
        case gigabyte = "GB"
        /// 10¹² bytes.
        case terabyte = "TB"
        /// 2¹⁰ bytes.
        case kibibyte = "KiB"
        /// 2²⁰ bytes.
        case mebibyte = "MiB"
        /// 2³⁰ bytes.
        case gibibyte = "GiB"
        /// 2⁴⁰ bytes.
        case tebibyte = "TiB"

        /// The bytes in one of the unit.
        public var bytes: Int {
            switch self {
            case .byte: 1
            case .kilobyte: 1_000
            case .megabyte: 1_000_000
            case .gigabyte: 1_000_000_000
            case .terabyte: 1_000_000_000_000
            case .kibibyte: 1 << 10
            case .mebibyte: 1 << 20
            case .gibibyte: 1 << 30
            case .tebibyte: 1 << 40
            }
        }

        /// The unit a suffix names (case-insensitive; `K`, `Ki`, `KB` and `KiB` forms), or nil.
        init?(suffix: String) {
            let lower = suffix.lowercased()
            if lower == "b" {
                self = .byte
                return
            }
            switch lower.hasSuffix("b") ? String(lower.dropLast()) : lower {
            case "k": self = .kilobyte
            case "m": self = .megabyte
            case "g": self = .gigabyte
            case "t": self = .terabyte
            case "ki": self = .kibibyte
            case "mi": self = .mebibyte
            case "gi": self = .gibibyte
            case "ti": self = .tebibyte
            default: return nil
            }
        }
    }

    /// Reads a size such as `512MB`, `2GiB`, `1.5G` or `300 KB` (blanks around the text and
    /// between the number and the unit are ignored).
    /// - Parameter defaultUnit: the unit of a bare number.
    /// - Throws: ``ByteSizeError/notASize(_:)`` for anything but a non-negative decimal number
    ///   and one of the units; ``ByteSizeError/tooLarge(_:)`` beyond `Int.max` bytes.
    public init(parsing text: String, defaultUnit: Unit = .byte) throws(ByteSizeError) {
        let isBlank = { (character: Character) in character == " " || character == "\t" }
        let trimmed = text.drop(while: isBlank).reversed().drop(while: isBlank).reversed()
        let number = String(trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") })
        let suffix = String(trimmed.dropFirst(number.count).drop(while: isBlank))
        guard number.contains(where: \.isNumber), number.filter({ $0 == "." }).count <= 1,
              let value = Double(number) else { throw .notASize(text) }
        let unit: Unit
        if suffix.isEmpty {
            unit = defaultUnit
        } else if let named = Unit(suffix: suffix) {
            unit = named
        } else {
            throw .notASize(text)
        }
        let whole = Int(number.prefix { $0 != "." })
        if !number.contains("."), let whole {
            let (product, overflow) = whole.multipliedReportingOverflow(by: unit.bytes)
            guard !overflow else { throw .tooLarge(text) }
            bytes = product
        } else {
            let product = (value * Double(unit.bytes)).rounded(.down)
            guard product < 0x1p63 else { throw .tooLarge(text) }
            bytes = Int(product)
        }
    }

    /// The size in the largest binary unit that keeps it readable, e.g. `512 MiB`, `1.5 GiB`,
    /// `300 B`.
    public var description: String {
        for unit in [Unit.tebibyte, .gibibyte, .mebibyte, .kibibyte] where bytes >= unit.bytes {
            let tenths = Int((Double(bytes) / Double(unit.bytes) * 10).rounded())
            return "\(tenths / 10)\(tenths % 10 == 0 ? "" : ".\(tenths % 10)") \(unit.rawValue)"
        }
        return "\(bytes) B"
    }
}

/// A size that ``ByteSize/init(parsing:defaultUnit:)`` cannot read.
public enum ByteSizeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a number followed by a known unit.
    case notASize(String)
    /// More bytes than an `Int` holds.
    case tooLarge(String)

    public var description: String {
        switch self {
        case let .notASize(text):
            "'\(text)' is not a size: write a number with an optional unit, e.g. 512MB, 2GiB, 1.5G, 300KB or 4096B (KB, MB, GB = 1000^n bytes; KiB, MiB, GiB = 1024^n)"
        case let .tooLarge(text):
            "'\(text)' is too large a size"
        }
    }
}
