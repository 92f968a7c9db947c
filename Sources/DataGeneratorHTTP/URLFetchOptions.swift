/// How the URL encoder fetches: headers, time limits, retries, size and concurrency bounds.
///
/// The defaults suit a server on the same network: 30 s per request, 3 retries starting at
/// 100 ms, 64 MiB per body, 5 redirects, 8 requests at once.
public struct URLFetchOptions: Sendable, Equatable {
    /// Headers sent with every request, in order (for example an `Authorization` token).
    /// They are not part of the encoder's identity, since they may carry credentials.
    public var headers: [(name: String, value: String)]
    /// The time one request may take, from connecting to the body's last byte, in milliseconds.
    /// A server that drips its body slowly is cut off here.
    public var timeoutMilliseconds: Int64
    /// How many times a request is retried after a 5xx status or a network failure (never after a
    /// 4xx, not even a 429, nor after a timeout, a refused redirect or an oversized body).
    public var maxRetries: Int
    /// The wait before the first retry, in milliseconds; it doubles for each further retry.
    public var initialBackoffMilliseconds: Int64
    /// The longest wait between two retries, in milliseconds.
    public var maxBackoffMilliseconds: Int64
    /// The largest body accepted, in bytes; the download is aborted as soon as it is exceeded.
    public var maxBodyBytes: Int
    /// How many redirects one request may follow (each to the base URL's scheme, host and port).
    public var maxRedirects: Int
    /// How many requests may run at once, over all copies of the encoder and all threads.
    public var maxConcurrentRequests: Int

    /// Options; see each property.
    public init(headers: [(name: String, value: String)] = [], timeoutMilliseconds: Int64 = 30_000,
                maxRetries: Int = 3, initialBackoffMilliseconds: Int64 = 100, maxBackoffMilliseconds: Int64 = 5_000,
                maxBodyBytes: Int = 64 << 20, maxRedirects: Int = 5, maxConcurrentRequests: Int = 8) {
        self.headers = headers
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxRetries = maxRetries
        self.initialBackoffMilliseconds = initialBackoffMilliseconds
        self.maxBackoffMilliseconds = maxBackoffMilliseconds
        self.maxBodyBytes = maxBodyBytes
        self.maxRedirects = maxRedirects
        self.maxConcurrentRequests = maxConcurrentRequests
    }

    /// The wait before retry number `retry` (1 for the first): the initial backoff doubled
    /// `retry - 1` times, capped at ``maxBackoffMilliseconds``. No jitter, so runs repeat.
    public func backoffMilliseconds(beforeRetry retry: Int) -> Int64 {
        var wait = max(0, initialBackoffMilliseconds)
        for _ in 1..<max(1, retry) {
            if wait >= maxBackoffMilliseconds { break }
            wait *= 2
        }
        return min(wait, maxBackoffMilliseconds)
    }

    /// Whether the options are usable.
    /// - Returns: the first problem, or `nil`.
    func problem() -> String? {
        if timeoutMilliseconds <= 0 { return "the timeout must be positive (got \(timeoutMilliseconds) ms)" }
        if maxRetries < 0 { return "maxRetries must be at least 0 (got \(maxRetries))" }
        if maxBodyBytes < 0 { return "maxBodyBytes must be at least 0 (got \(maxBodyBytes))" }
        if maxRedirects < 0 { return "maxRedirects must be at least 0 (got \(maxRedirects))" }
        if maxConcurrentRequests < 1 { return "maxConcurrentRequests must be at least 1 (got \(maxConcurrentRequests))" }
        return nil
    }

    public static func == (lhs: URLFetchOptions, rhs: URLFetchOptions) -> Bool {
        lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
            && lhs.timeoutMilliseconds == rhs.timeoutMilliseconds && lhs.maxRetries == rhs.maxRetries
            && lhs.initialBackoffMilliseconds == rhs.initialBackoffMilliseconds
            && lhs.maxBackoffMilliseconds == rhs.maxBackoffMilliseconds && lhs.maxBodyBytes == rhs.maxBodyBytes
            && lhs.maxRedirects == rhs.maxRedirects && lhs.maxConcurrentRequests == rhs.maxConcurrentRequests
    }
}

/// What a URL's body is expected to hold, as the seed library's `type` (`text`, `json`, `binary`).
///
/// The mode sets the default `Accept` header and what is checked before the transform runs, so
/// that, say, an HTML error page served with status 200 is reported naming the row, id and URL
/// rather than failing somewhere inside the transform.
public enum URLBodyMode: String, Sendable, Equatable, CaseIterable {
    /// UTF-8 text; the bytes are checked to be valid UTF-8 (read them with ``ResourceContents/text()``).
    case text
    /// A JSON document; the bytes are checked to parse (read them with ``ResourceContents/json()``
    /// or ``ResourceContents/decodeJSON(_:)``).
    case json
    /// Raw bytes, unchecked.
    case binary

    /// The `Accept` header sent unless the options set one.
    var acceptHeader: String {
        switch self {
        case .text: "text/*, */*;q=0.5"
        case .json: "application/json, */*;q=0.5"
        case .binary: "*/*"
        }
    }
}
