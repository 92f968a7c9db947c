import Synchronization

/// Fetches a URL from a plain worker thread with a deadline, a body limit, checked redirects,
/// retries and a concurrency bound, through libcurl (``CurlSession``): the exchange runs on the
/// calling thread, so no event loop or thread of its own is involved.
///
/// Lifetime: every copy of a ``URLDataEncoder`` shares one fetcher (a class), so one session
/// (its kept-alive connections) and one ``RequestLimiter``. The session's handles are closed
/// when the last copy of the encoder is released, or at once by ``shutdown()``.
final class HTTPFetcher: Sendable {
    let options: URLFetchOptions
    let limiter: RequestLimiter
    private let session: CurlSession
    private let headers: [(name: String, value: String)]
    /// Waits a retry's backoff, in milliseconds (blocking the calling worker thread); tests pass
    /// one that records the waits instead of timing them.
    private let wait: @Sendable (Int64) -> Void

    /// A fetcher with its own session. `accept` is sent unless `options.headers` has an `Accept`.
    init(options: URLFetchOptions, accept: String, wait: @escaping @Sendable (Int64) -> Void = sleepMilliseconds) {
        self.options = options
        self.wait = wait
        limiter = RequestLimiter(limit: options.maxConcurrentRequests)
        var headers = options.headers
        let names = Set(headers.map { $0.name.lowercased() })
        if !names.contains("accept") { headers.append((name: "Accept", value: accept)) }
        if !names.contains("user-agent") { headers.append((name: "User-Agent", value: "DataGenerator")) }
        self.headers = headers
        session = CurlSession(maxIdleHandles: options.maxConcurrentRequests)
    }

    /// Closes the session's connections; later fetches fail. Calling it again does nothing.
    func shutdown() {
        session.shutdown()
    }

    /// Fetches `url` (2xx only), following redirects within `base`'s origin and retrying 5xx
    /// statuses and network failures with exponential backoff.
    /// - Throws: ``URLFetchError`` naming `row`, `id` and the URL at fault.
    func fetch(_ url: URLReference, method: HTTPMethod, base: HTTPOrigin, row: Int, id: String) throws(URLFetchError) -> FetchedResponse {
        var attempt = 0
        while true {
            attempt += 1
            let outcome = limiter.withPermit {
                Result { () throws(Failure) in try followingRedirects(url, method: method, base: base, row: row, id: id) }
            }
            let retryable: URLFetchError
            switch outcome {
            case let .success((answered, response)):
                if (200..<300).contains(response.status) { return response }
                let error = URLFetchError.httpStatus(row: row, id: id, url: answered.description, status: response.status,
                                                     reason: response.reason, attempts: attempt)
                guard response.status >= 500 else { throw error }
                retryable = error
            case let .failure(.final(error)):
                throw error
            case let .failure(.retryable(reason)):
                retryable = .network(row: row, id: id, url: url.withoutFragment.description, reason: reason, attempts: attempt)
            }
            guard attempt <= options.maxRetries else { throw retryable }
            wait(options.backoffMilliseconds(beforeRetry: attempt))
        }
    }

    /// Why one attempt failed: worth another attempt, or not.
    enum Failure: Error {
        case retryable(String)
        case final(URLFetchError)
    }

    /// One attempt: the request and the redirects it leads to, under one deadline.
    private func followingRedirects(_ url: URLReference, method: HTTPMethod, base: HTTPOrigin,
                                    row: Int, id: String) throws(Failure) -> (URLReference, FetchedResponse) {
        let deadline = ContinuousClock.now + .milliseconds(options.timeoutMilliseconds)
        var current = url.withoutFragment
        var redirects = 0
        while true {
            let response = try perform(current, method: method, base: base, deadline: deadline, row: row, id: id)
            guard [301, 302, 303, 307, 308].contains(response.status) else { return (current, response) }
            guard let location = response.header("location") else {
                throw .final(.redirectRefused(row: row, id: id, url: current.description, location: "",
                                              reason: "HTTP \(response.status) without a Location header"))
            }
            let next = current.resolving(URLReference(parsing: URLReference.percentEncodingDisallowed(location))).withoutFragment
            let origin: HTTPOrigin
            do {
                origin = try HTTPOrigin(of: next)
            } catch {
                throw .final(.redirectRefused(row: row, id: id, url: current.description, location: location,
                                              reason: error.description))
            }
            if let difference = base.difference(from: origin) {
                throw .final(.redirectRefused(row: row, id: id, url: current.description, location: location,
                                              reason: difference))
            }
            redirects += 1
            guard redirects <= options.maxRedirects else {
                throw .final(.tooManyRedirects(row: row, id: id, url: url.withoutFragment.description,
                                               limit: options.maxRedirects))
            }
            current = next
        }
    }

    /// One HTTP exchange, performed on this thread within what is left of `deadline`.
    private func perform(_ url: URLReference, method: HTTPMethod, base: HTTPOrigin, deadline: ContinuousClock.Instant,
                         row: Int, id: String) throws(Failure) -> FetchedResponse {
        let text = url.description
        let left = deadline - ContinuousClock.now
        let milliseconds = left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else {
            throw .final(.timedOut(row: row, id: id, url: text, milliseconds: options.timeoutMilliseconds))
        }
        let request = CurlRequest(url: text, method: method, headers: headers, timeoutMilliseconds: milliseconds,
                                  maxBodyBytes: options.maxBodyBytes,
                                  origin: (scheme: base.scheme, host: base.host, port: base.port))
        switch session.perform(request) {
        case let .success(response):
            return response
        case let .failure(failure):
            switch failure {
            case let .urlRefused(reason):
                // libcurl parses the URL again: any reading of it that differs from ours is refused.
                throw .final(.leavesBase(row: row, id: id, url: text, base: base.description, reason: reason))
            case .timedOut:
                throw .final(.timedOut(row: row, id: id, url: text, milliseconds: options.timeoutMilliseconds))
            case .bodyTooLarge:
                throw .final(.bodyTooLarge(row: row, id: id, url: text, limit: options.maxBodyBytes))
            case let .transient(reason):
                throw .retryable(reason)
            case let .failed(reason):
                throw .final(.network(row: row, id: id, url: text, reason: reason, attempts: 1))
            case .shutDown:
                throw .final(.network(row: row, id: id, url: text, reason: "the encoder's HTTP client is shut down", attempts: 1))
            }
        }
    }
}
