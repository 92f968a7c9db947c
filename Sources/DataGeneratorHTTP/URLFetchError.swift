import DataGenerator

/// A failure fetching a record's URL; every case names the record (row and id) and the URL at
/// fault, and the cases about responses say what the server answered.
public enum URLFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The encoder's base URL is unusable: not http/https, no host, a bad port.
    case invalidBaseURL(url: String, reason: String)
    /// The record's URL (base + mapped id) has no usable http(s) origin.
    case invalidURL(row: Int, id: String, url: String, reason: String)
    /// The record's URL points to another scheme, host or port than the base URL.
    case leavesBase(row: Int, id: String, url: String, base: String, reason: String)
    /// The server answered a status that is not retried (a 4xx), or a 5xx after the last retry.
    case httpStatus(row: Int, id: String, url: String, status: Int, reason: String, attempts: Int)
    /// The body grew past the encoder's maximum; the download was aborted there.
    case bodyTooLarge(row: Int, id: String, url: String, limit: Int)
    /// The request (connection, headers and the whole body) did not finish in time.
    case timedOut(row: Int, id: String, url: String, milliseconds: Int64)
    /// A redirect that is refused: to another scheme, host or port, or without a usable `Location`.
    case redirectRefused(row: Int, id: String, url: String, location: String, reason: String)
    /// More redirects than allowed.
    case tooManyRedirects(row: Int, id: String, url: String, limit: Int)
    /// A network failure (connection refused or reset, …) after the last retry.
    case network(row: Int, id: String, url: String, reason: String, attempts: Int)

    public var description: String {
        switch self {
        case let .invalidBaseURL(url, reason):
            "base URL \(url) is refused: \(reason)"
        default:
            "\(Self.name(row, id)): \(detail)"
        }
    }

    /// The record's row (`-1` for a base URL error).
    public var row: Int {
        switch self {
        case .invalidBaseURL: -1
        case let .invalidURL(row, _, _, _), let .leavesBase(row, _, _, _, _), let .httpStatus(row, _, _, _, _, _),
             let .bodyTooLarge(row, _, _, _), let .timedOut(row, _, _, _), let .redirectRefused(row, _, _, _, _),
             let .tooManyRedirects(row, _, _, _), let .network(row, _, _, _, _):
            row
        }
    }

    /// The record's id (empty for a base URL error).
    public var id: String {
        switch self {
        case .invalidBaseURL: ""
        case let .invalidURL(_, id, _, _), let .leavesBase(_, id, _, _, _), let .httpStatus(_, id, _, _, _, _),
             let .bodyTooLarge(_, id, _, _), let .timedOut(_, id, _, _), let .redirectRefused(_, id, _, _, _),
             let .tooManyRedirects(_, id, _, _), let .network(_, id, _, _, _):
            id
        }
    }

    /// The URL at fault.
    public var url: String {
        switch self {
        case let .invalidBaseURL(url, _), let .invalidURL(_, _, url, _), let .leavesBase(_, _, url, _, _),
             let .httpStatus(_, _, url, _, _, _), let .bodyTooLarge(_, _, url, _), let .timedOut(_, _, url, _),
             let .redirectRefused(_, _, url, _, _), let .tooManyRedirects(_, _, url, _), let .network(_, _, url, _, _):
            url
        }
    }

    /// What went wrong with the URL, without the record's name.
    public var detail: String {
        switch self {
        case let .invalidBaseURL(url, reason):
            "base URL \(url) is refused: \(reason)"
        case let .invalidURL(_, _, url, reason):
            "URL \(url) is refused: \(reason)"
        case let .leavesBase(_, _, url, base, reason):
            "URL \(url) leaves the base URL \(base): \(reason)"
        case let .httpStatus(_, _, url, status, reason, attempts):
            "GET \(url) answered HTTP \(status) \(reason)\(Self.afterAttempts(attempts))"
        case let .bodyTooLarge(_, _, url, limit):
            "the body of \(url) exceeds the maximum of \(limit) bytes; the download was aborted"
        case let .timedOut(_, _, url, milliseconds):
            "GET \(url) did not complete within the timeout of \(milliseconds) ms"
        case let .redirectRefused(_, _, url, location, reason):
            "redirect from \(url) to '\(location)' is refused: \(reason)"
        case let .tooManyRedirects(_, _, url, limit):
            "GET \(url) redirected more than \(limit) times"
        case let .network(_, _, url, reason, attempts):
            "GET \(url) failed: \(reason)\(Self.afterAttempts(attempts))"
        }
    }

    /// The error as the core library's ``EncodingError`` (for ``ResourceLocating``'s typed throws).
    var encodingError: EncodingError {
        .unreadable(row: row, id: id, path: url, reason: detail)
    }

    private static func afterAttempts(_ attempts: Int) -> String {
        attempts > 1 ? " (after \(attempts) attempts)" : ""
    }

    private static func name(_ row: Int, _ id: String) -> String { "row \(row) (id '\(id)')" }
}
