internal import CCurl
import Synchronization

/// An HTTP method the URL encoder sends.
enum HTTPMethod: String, Sendable {
    case GET
    case HEAD
}

/// One HTTP exchange's result: the status line, headers and (for a 2xx) the body.
struct FetchedResponse: Sendable {
    let status: Int
    let reason: String
    /// Header fields in the order received, names lowercased.
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    /// The value of the first header field called `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }
}

/// One request for ``CurlSession/perform(_:)``.
struct CurlRequest {
    let url: String
    let method: HTTPMethod
    let headers: [(name: String, value: String)]
    /// The time left for the whole exchange, in milliseconds (at least 1).
    let timeoutMilliseconds: Int64
    /// The largest body kept; a larger one aborts the exchange.
    let maxBodyBytes: Int
    /// The scheme, host and port the URL must lead to, as libcurl itself parses it.
    let origin: (scheme: String, host: String, port: Int)
}

/// Why an exchange produced no response.
enum CurlFailure: Error {
    /// libcurl reads the URL as another origin than ours, or cannot parse it.
    case urlRefused(String)
    /// The exchange did not finish within its time.
    case timedOut
    /// The body passed the limit (announced by `Content-Length` or while streaming in).
    case bodyTooLarge
    /// A transport failure worth another attempt: refused, reset, no answer, DNS.
    case transient(String)
    /// Any other failure (TLS verification, malformed response, out of memory…).
    case failed(String)
    /// ``CurlSession/shutdown()`` was called.
    case shutDown
}

/// libcurl's process-wide set-up, run once before the first handle exists.
private let curlGlobalStatus: CURLcode = dg_curl_global_init()

/// Blocking HTTP exchanges through libcurl's easy interface, one per calling thread, with a
/// pool of idle easy handles so that connections are kept alive and reused between records.
///
/// `@unchecked Sendable`: the pool is the only shared state and sits in a `Mutex`; an easy
/// handle is used by one thread at a time (taken out of the pool for the whole exchange), as
/// libcurl requires; `CURLOPT_NOSIGNAL` keeps libcurl's timeouts off signals, which are unsafe
/// in a multi-threaded process.
final class CurlSession: @unchecked Sendable {
    /// An idle easy handle. `@unchecked Sendable`: it sits in the pool, touched by no thread,
    /// until one thread takes it out for a whole exchange.
    private struct IdleHandle: @unchecked Sendable {
        let raw: UnsafeMutableRawPointer
    }

    private struct Pool {
        var idle: [IdleHandle] = []
        var isShutDown = false
    }

    private let pool = Mutex(Pool())
    private let maxIdleHandles: Int

    /// A session keeping at most `maxIdleHandles` idle handles (their connections) for reuse.
    init(maxIdleHandles: Int) {
        self.maxIdleHandles = max(1, maxIdleHandles)
    }

    deinit {
        for handle in pool.withLock({ $0.idle }) { curl_easy_cleanup(handle.raw) }
    }

    /// Closes the idle handles and their connections; later exchanges fail with `.shutDown`.
    func shutdown() {
        let idle = pool.withLock { pool -> [IdleHandle] in
            pool.isShutDown = true
            defer { pool.idle = [] }
            return pool.idle
        }
        for handle in idle { curl_easy_cleanup(handle.raw) }
    }

    /// Performs `request` on this thread, blocking until it ends.
    func perform(_ request: CurlRequest) -> Result<FetchedResponse, CurlFailure> {
        guard curlGlobalStatus == CURLE_OK else {
            return .failure(.failed("libcurl failed to initialise (code \(curlGlobalStatus.rawValue))"))
        }
        let taken = pool.withLock { pool -> (IdleHandle?, Bool) in
            (pool.isShutDown ? nil : pool.idle.popLast(), pool.isShutDown)
        }
        if taken.1 { return .failure(.shutDown) }
        guard let handle = taken.0?.raw ?? curl_easy_init() else {
            return .failure(.failed("libcurl could not create a handle"))
        }
        let result = Self.exchange(request, on: handle)
        curl_easy_reset(handle)  // keeps its connections, drops every pointer set for this request
        let idle = IdleHandle(raw: handle)
        let kept = pool.withLock { pool -> Bool in
            guard !pool.isShutDown, pool.idle.count < maxIdleHandles else { return false }
            pool.idle.append(idle)
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
        return result
    }

    /// The exchange on `handle`: URL checked as libcurl parses it, options set, performed.
    private static func exchange(_ request: CurlRequest, on handle: UnsafeMutableRawPointer) -> Result<FetchedResponse, CurlFailure> {
        guard let url = curl_url() else { return .failure(.failed("libcurl could not allocate a URL")) }
        defer { curl_url_cleanup(url) }
        let parsed = curl_url_set(url, CURLUPART_URL, request.url, 0)
        guard parsed == CURLUE_OK else {
            return .failure(.urlRefused("libcurl cannot parse it: \(String(cString: curl_url_strerror(parsed)))"))
        }
        let seen = (part(url, CURLUPART_SCHEME)?.lowercased() ?? "", part(url, CURLUPART_HOST)?.lowercased() ?? "",
                    part(url, CURLUPART_PORT).flatMap { Int($0) } ?? -1)
        guard seen == request.origin else {
            return .failure(.urlRefused("libcurl reads it as \(seen.0)://\(seen.1):\(seen.2)"))
        }

        var fields: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers {
            guard let extended = curl_slist_append(fields, "\(name): \(value)") else {
                curl_slist_free_all(fields)
                return .failure(.failed("out of memory for the request's headers"))
            }
            fields = extended
        }
        defer { curl_slist_free_all(fields) }

        let state = ExchangeState(limit: request.maxBodyBytes, checksAnnouncedLength: request.method != .HEAD)
        let context = Unmanaged.passUnretained(state).toOpaque()
        var message = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code = withExtendedLifetime(state) {
            message.withUnsafeMutableBufferPointer { messageBuffer -> CURLcode in
                let milliseconds = Int(clamping: max(1, request.timeoutMilliseconds))
                let settings: [CURLcode] = [
                    dg_curl_set_long(handle, CURLOPT_NOSIGNAL, 1),
                    dg_curl_set_pointer(handle, CURLOPT_CURLU, UnsafeMutableRawPointer(url)),
                    dg_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
                    dg_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0),  // redirects are checked by the caller
                    dg_curl_set_long(handle, CURLOPT_TIMEOUT_MS, milliseconds),
                    dg_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds),
                    dg_curl_set_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(fields)),
                    dg_curl_set_long(handle, CURLOPT_NOBODY, request.method == .HEAD ? 1 : 0),
                    dg_curl_set_callback(handle, CURLOPT_HEADERFUNCTION, receiveHeader),
                    dg_curl_set_pointer(handle, CURLOPT_HEADERDATA, context),
                    dg_curl_set_callback(handle, CURLOPT_WRITEFUNCTION, receiveBody),
                    dg_curl_set_pointer(handle, CURLOPT_WRITEDATA, context),
                    dg_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, messageBuffer.baseAddress),
                ]
                if let refused = settings.first(where: { $0 != CURLE_OK }) { return refused }
                return curl_easy_perform(handle)
            }
        }
        if state.exceeded { return .failure(.bodyTooLarge) }
        guard code == CURLE_OK else {
            let detail = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let reason = "libcurl: " + (detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
            switch code {
            case CURLE_OPERATION_TIMEDOUT:
                return .failure(.timedOut)
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_RECV_ERROR, CURLE_SEND_ERROR,
                 CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
                return .failure(.transient(reason))
            default:
                return .failure(.failed(reason))
            }
        }
        guard state.status > 0 else { return .failure(.transient("the server sent no status line")) }
        return .success(FetchedResponse(status: state.status, reason: state.reason, headers: state.headers, body: state.body))
    }

    /// One part of a parsed URL (the port filled in from the scheme when absent).
    private static func part(_ url: OpaquePointer, _ which: CURLUPart) -> String? {
        var text: UnsafeMutablePointer<CChar>?
        guard curl_url_get(url, which, &text, UInt32(CURLU_DEFAULT_PORT)) == CURLUE_OK, let text else { return nil }
        defer { curl_free(text) }
        return String(cString: text)
    }
}

/// What libcurl's callbacks collect during one exchange, on the thread that performs it.
private final class ExchangeState {
    let limit: Int
    let checksAnnouncedLength: Bool
    var status = 0
    var reason = ""
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var exceeded = false

    init(limit: Int, checksAnnouncedLength: Bool) {
        self.limit = limit
        self.checksAnnouncedLength = checksAnnouncedLength
    }

    var isSuccess: Bool { (200..<300).contains(status) }

    /// One header line (status lines included); returns the bytes taken, 0 to abort.
    func header(_ line: UnsafeRawBufferPointer) -> Int {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\n") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let text = Substring(String(decoding: UnsafeRawBufferPointer(rebasing: line[..<end]), as: UTF8.self))
        if text.hasPrefix("HTTP/") {
            // A new status line (after a 1xx, say) starts a new head.
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            reason = parts.count > 2 ? String(parts[2]) : ""
            headers = []
            return line.count
        }
        guard let colon = text.firstIndex(of: ":") else { return line.count }
        let name = text[..<colon].lowercased()
        let value = String(text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
        headers.append((name, value))
        if checksAnnouncedLength, isSuccess, name == "content-length", let announced = Int(value), announced > limit {
            exceeded = true
            return 0
        }
        return line.count
    }

    /// A piece of the body; returns the bytes taken, 0 to abort. Bodies of non-2xx responses
    /// are discarded: only their status is reported.
    func body(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard isSuccess else { return bytes.count }
        guard body.count + bytes.count <= limit else {
            exceeded = true
            return 0
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }
}

private func receiveHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                           _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let state = Unmanaged<ExchangeState>.fromOpaque(context).takeUnretainedValue()
    return state.header(UnsafeRawBufferPointer(start: data, count: size * count))
}

private func receiveBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                         _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let state = Unmanaged<ExchangeState>.fromOpaque(context).takeUnretainedValue()
    return state.body(UnsafeRawBufferPointer(start: data, count: size * count))
}
