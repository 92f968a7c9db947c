import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The blocking face of one AsyncHTTPClient `HTTPClient`: fetches a URL from a plain worker
/// thread with a deadline, a body limit, checked redirects, retries and a concurrency bound.
///
/// Lifetime: every copy of a ``URLDataEncoder`` shares one fetcher (a class), so one client
/// and one ``RequestLimiter``. The client runs on SwiftNIO's process-wide singleton event-loop
/// group (no threads of its own) and is shut down without blocking when the last copy of the
/// encoder is released, or at once, blocking, by ``shutdown()``.
///
/// Bridging: ``fetch(_:method:base:row:id:)`` starts the request on the client's event loop and
/// waits for its future on the calling thread (`EventLoopFuture.wait()`); it refuses to run on an
/// event-loop thread, where waiting would deadlock.
final class HTTPFetcher: Sendable {
    let options: URLFetchOptions
    let limiter: RequestLimiter
    private let client: HTTPClient
    private let headers: HTTPHeaders
    private let isShutDown = Mutex(false)
    /// Waits a retry's backoff, in milliseconds (blocking the calling worker thread); tests pass
    /// one that records the waits instead of timing them.
    private let wait: @Sendable (Int64) -> Void

    /// A fetcher with its own client. `accept` is sent unless `options.headers` has an `Accept`.
    init(options: URLFetchOptions, accept: String, wait: @escaping @Sendable (Int64) -> Void = sleepMilliseconds) {
        self.options = options
        self.wait = wait
        limiter = RequestLimiter(limit: options.maxConcurrentRequests)
        var headers = HTTPHeaders(options.headers.map { ($0.name, $0.value) })
        if !headers.contains(name: "accept") { headers.add(name: "Accept", value: accept) }
        if !headers.contains(name: "user-agent") { headers.add(name: "User-Agent", value: "DataGenerator") }
        self.headers = headers
        let timeout = TimeAmount.milliseconds(options.timeoutMilliseconds)
        let configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            connectionPool: .init(idleTimeout: .seconds(60),
                                  concurrentHTTP1ConnectionsPerHostSoftLimit: options.maxConcurrentRequests),
            decompression: .disabled)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit {
        let running = isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
        // Does not block: the client keeps itself alive until its connections are closed.
        if running { client.shutdown { _ in } }
    }

    /// Shuts the client down, waiting for its connections to close; later fetches fail.
    /// Calling it again does nothing.
    func shutdown() throws {
        let running = isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
        if running { try client.syncShutdown() }
    }

    /// Fetches `url` (2xx only), following redirects within `base`'s origin and retrying 5xx
    /// statuses and network failures with exponential backoff.
    /// - Throws: ``URLFetchError`` naming `row`, `id` and the URL at fault.
    func fetch(_ url: URLReference, method: HTTPMethod, base: HTTPOrigin, row: Int, id: String) throws(URLFetchError) -> FetchedResponse {
        guard MultiThreadedEventLoopGroup.currentEventLoop == nil else {
            throw .calledOnEventLoop(row: row, id: id, url: url.withoutFragment.description)
        }
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
        let deadline = NIODeadline.now() + .milliseconds(options.timeoutMilliseconds)
        var current = url.withoutFragment
        var redirects = 0
        while true {
            let response = try perform(current, method: method, base: base, deadline: deadline, row: row, id: id)
            guard [301, 302, 303, 307, 308].contains(response.status) else { return (current, response) }
            guard let location = response.headers.first(name: "location") else {
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

    /// One HTTP exchange, waited for on this thread.
    private func perform(_ url: URLReference, method: HTTPMethod, base: HTTPOrigin, deadline: NIODeadline,
                         row: Int, id: String) throws(Failure) -> FetchedResponse {
        let text = url.description
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: text, method: method, headers: headers)
        } catch {
            throw .final(.invalidURL(row: row, id: id, url: text, reason: String(describing: error)))
        }
        // The client parses the URL again: refuse any reading of it that differs from ours.
        let seen = (request.scheme.lowercased(), request.host.lowercased(), request.port)
        guard seen == (base.scheme, base.host, base.port) else {
            throw .final(.leavesBase(row: row, id: id, url: text, base: base.description,
                                     reason: "the HTTP client reads it as \(seen.0)://\(seen.1):\(seen.2)"))
        }
        let task = client.execute(request: request, delegate: BodyCollector(limit: options.maxBodyBytes, checksAnnouncedLength: method != .HEAD), deadline: deadline)
        do {
            return try task.futureResult.wait()
        } catch is BodyLimitExceeded {
            throw .final(.bodyTooLarge(row: row, id: id, url: text, limit: options.maxBodyBytes))
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout:
                throw .final(.timedOut(row: row, id: id, url: text, milliseconds: options.timeoutMilliseconds))
            case .remoteConnectionClosed, .connectTimeout, .writeTimeout:
                throw .retryable(String(describing: error))
            case .alreadyShutdown:
                throw .final(.network(row: row, id: id, url: text, reason: "the encoder's HTTP client is shut down", attempts: 1))
            default:
                throw .final(.network(row: row, id: id, url: text, reason: String(describing: error), attempts: 1))
            }
        } catch {
            // Connection refused or reset, DNS failures and other channel errors.
            throw .retryable(String(describing: error))
        }
    }
}
