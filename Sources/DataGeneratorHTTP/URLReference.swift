/// A URI reference split into its five RFC 3986 components, with reference resolution
/// (RFC 3986 §5.2, what Python's `urljoin` does) and the origin checks the URL encoder needs.
///
/// Parsing follows the regular expression of RFC 3986 appendix B, so any string splits; a
/// component absent from the string is `nil` (an empty query `?` is `""`, not `nil`).
struct URLReference: Equatable, Sendable, CustomStringConvertible {
    var scheme: String?
    var authority: String?
    var path: String
    var query: String?
    var fragment: String?

    /// Splits `string` (RFC 3986 appendix B).
    init(parsing string: String) {
        var rest = Substring(string)
        scheme = nil
        if let colon = rest.firstIndex(where: { $0 == ":" || $0 == "/" || $0 == "?" || $0 == "#" }),
           rest[colon] == ":", colon != rest.startIndex, Self.isScheme(rest[..<colon]) {
            scheme = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        authority = nil
        if rest.hasPrefix("//") {
            let start = rest.index(rest.startIndex, offsetBy: 2)
            let end = rest[start...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            authority = String(rest[start..<end])
            rest = rest[end...]
        }
        fragment = nil
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        query = nil
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        path = String(rest)
    }

    init(scheme: String?, authority: String?, path: String, query: String?, fragment: String?) {
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.fragment = fragment
    }

    /// The reference recomposed (RFC 3986 §5.3).
    var description: String {
        var result = ""
        if let scheme { result += scheme + ":" }
        if let authority { result += "//" + authority }
        result += path
        if let query { result += "?" + query }
        if let fragment { result += "#" + fragment }
        return result
    }

    /// The reference without its fragment: what is sent to a server.
    var withoutFragment: URLReference {
        var copy = self
        copy.fragment = nil
        return copy
    }

    /// `reference` resolved against `self` as base (RFC 3986 §5.2.2, strict).
    func resolving(_ reference: URLReference) -> URLReference {
        var target = URLReference(scheme: nil, authority: nil, path: "", query: nil, fragment: reference.fragment)
        if let scheme = reference.scheme {
            target.scheme = scheme
            target.authority = reference.authority
            target.path = Self.removingDotSegments(reference.path)
            target.query = reference.query
            return target
        }
        target.scheme = scheme
        if let authority = reference.authority {
            target.authority = authority
            target.path = Self.removingDotSegments(reference.path)
            target.query = reference.query
            return target
        }
        target.authority = authority
        if reference.path.isEmpty {
            target.path = path
            target.query = reference.query ?? query
        } else {
            target.path = reference.path.hasPrefix("/")
                ? Self.removingDotSegments(reference.path)
                : Self.removingDotSegments(merged(with: reference.path))
            target.query = reference.query
        }
        return target
    }

    /// The base path merged with a relative reference path (RFC 3986 §5.2.3).
    private func merged(with relative: String) -> String {
        if authority != nil && path.isEmpty { return "/" + relative }
        guard let slash = path.lastIndex(of: "/") else { return relative }
        return String(path[...slash]) + relative
    }

    /// `path` with `.` and `..` segments removed (RFC 3986 §5.2.4).
    static func removingDotSegments(_ path: String) -> String {
        var input = Substring(path)
        var output: [Substring] = []
        while !input.isEmpty {
            if input.hasPrefix("../") {
                input = input.dropFirst(3)
            } else if input.hasPrefix("./") {
                input = input.dropFirst(2)
            } else if input.hasPrefix("/./") {
                input = input.dropFirst(2)
            } else if input == "/." {
                input = "/"
            } else if input.hasPrefix("/../") || input == "/.." {
                input = input == "/.." ? "/" : input.dropFirst(3)
                if !output.isEmpty { output.removeLast() }
            } else if input == "." || input == ".." {
                input = ""
            } else {
                let searchStart = input.hasPrefix("/") ? input.index(after: input.startIndex) : input.startIndex
                let end = input[searchStart...].firstIndex(of: "/") ?? input.endIndex
                output.append(input[..<end])
                input = input[end...]
            }
        }
        return output.joined()
    }

    /// Whether `text` is an RFC 3986 scheme: a letter, then letters, digits, `+`, `-` or `.`.
    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCIILetter else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) }
    }

    /// `text` with every byte that may not appear in a URI reference (spaces, controls, quotes,
    /// `<>\^`{|}`, non-ASCII) percent-encoded as UTF-8; `%` and the reserved characters are kept.
    static func percentEncodingDisallowed(_ text: String) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if Self.isAllowedInReference(byte) {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isAllowedInReference(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~:/?#[]@!$&'()*+,;=%".utf8.contains(byte)
        }
    }
}

/// The parts of an http(s) URL that decide where a request goes: scheme, host and port.
struct HTTPOrigin: Equatable, Sendable, CustomStringConvertible {
    /// `http` or `https`, lowercased.
    let scheme: String
    /// The host, lowercased (an IPv6 literal keeps its brackets).
    let host: String
    /// The port, explicit or the scheme's default (80, 443).
    let port: Int

    /// The origin of `url`.
    /// - Throws: a reason when the scheme is not http/https, the host is missing or the port
    ///   is not a number in 1...65535.
    init(of url: URLReference) throws(OriginProblem) {
        guard let rawScheme = url.scheme else { throw .notAbsolute }
        let scheme = rawScheme.lowercased()
        guard scheme == "http" || scheme == "https" else { throw .unsupportedScheme(rawScheme) }
        guard let authority = url.authority else { throw .missingHost }
        var hostPort = Substring(authority)
        if let at = hostPort.lastIndex(of: "@") { hostPort = hostPort[hostPort.index(after: at)...] }
        var host = hostPort
        var portText: Substring = ""
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw .badHost(String(hostPort)) }
            host = hostPort[...close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .badHost(String(hostPort)) }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .missingHost }
        var port = scheme == "https" ? 443 : 80
        if !portText.isEmpty {
            guard portText.count <= 5, portText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                  let number = Int(portText), (1...65_535).contains(number) else {
                throw .badPort(String(portText))
            }
            port = number
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }

    var description: String { "\(scheme)://\(host):\(port)" }

    /// Why a URL has no usable http(s) origin.
    enum OriginProblem: Error, Equatable, CustomStringConvertible {
        case notAbsolute
        case unsupportedScheme(String)
        case missingHost
        case badHost(String)
        case badPort(String)

        var description: String {
            switch self {
            case .notAbsolute: "it has no scheme (an absolute http or https URL is needed)"
            case let .unsupportedScheme(scheme): "scheme '\(scheme)' is not supported (only http and https)"
            case .missingHost: "it has no host"
            case let .badHost(host): "host '\(host)' is malformed"
            case let .badPort(port): "port '\(port)' is not a number in 1...65535"
            }
        }
    }

    /// Which part of `other` differs from this origin, or `nil` when they are the same.
    func difference(from other: HTTPOrigin) -> String? {
        if scheme != other.scheme { return "scheme \(other.scheme) differs from \(scheme)" }
        if host != other.host { return "host \(other.host) differs from \(host)" }
        if port != other.port { return "port \(other.port) differs from \(port)" }
        return nil
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
