import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 (port 0) with routes that misbehave on purpose, counting
/// requests per path and the most requests in flight at once. Plain sockets, one thread per
/// connection, one request per connection (`Connection: close`): enough for the URL encoder's
/// tests, with no HTTP stack to compile.
///
/// Routes: `/text/ID`, `/bin/ID`, `/json/ID`, `/search?q=ID`, `/notjson/ID` (200);
/// `/missing/ID` (404); `/flaky/ID` (503 twice per path, then 200); `/down/ID` (always 503);
/// `/big/ID` (a 64 KiB body with `Content-Length`), `/stream/ID` (64 KiB chunked, no length);
/// `/drip/ID` (one byte every 50 ms); `/redirect/host`, `/redirect/scheme`, `/redirect/same`,
/// `/redirect/loop`; `/slow/ID` (answers after 60 ms). `HEAD` gets the `GET` headers only.
final class TestHTTPServer: Sendable {
    let stats = ServerStats()
    /// The bound port.
    let port: Int
    private let listener: Int32
    private let acceptor: Mutex<pthread_t?> = Mutex(nil)

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServerError.system("socket", errno) }
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0, listen(socket, 64) == 0 else {
            close(socket)
            throw ServerError.system("bind/listen", errno)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        listener = socket
        port = Int(UInt16(bigEndian: address.sin_port))
        let stats = self.stats, port = self.port
        let thread = startThread {
            while true {
                let connection = accept(socket, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    return  // the listener was shut down
                }
                startThread(detached: true) { Connection(fd: connection, stats: stats, port: port).serve() }
            }
        }
        acceptor.withLock { $0 = thread }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    func url(_ path: String = "") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Stops listening (later connections are refused) and waits for the accepting thread.
    func stop() {
        guard let thread = acceptor.withLock({ state -> pthread_t? in
            defer { state = nil }
            return state
        }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        pthread_join(thread, nil)
        close(listener)
    }

    enum ServerError: Error { case system(String, Int32) }
}

/// What the server saw.
final class ServerStats: Sendable {
    private struct State {
        var requests: [String: Int] = [:]
        var inFlight = 0
        var maxInFlight = 0
    }

    private let state = Mutex(State())

    /// The number of requests whose target (path and query) was `uri`.
    func requests(_ uri: String) -> Int { state.withLock { $0.requests[uri, default: 0] } }

    /// The number of requests whose target starts with `prefix`.
    func requests(prefix: String) -> Int {
        state.withLock { $0.requests.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +) }
    }

    /// The most requests handled at the same time.
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }

    /// Records a request; returns how many there were to `uri` before it.
    func begin(_ uri: String) -> Int {
        state.withLock { state in
            let earlier = state.requests[uri, default: 0]
            state.requests[uri] = earlier + 1
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
            return earlier
        }
    }

    func end() { state.withLock { $0.inFlight -= 1 } }
}

/// Ends a request's count in the server's stats once.
private final class Ending {
    private let stats: ServerStats
    private var ended = false
    init(stats: ServerStats) { self.stats = stats }
    func now() {
        if !ended { stats.end() }
        ended = true
    }
}

/// One accepted connection: reads a request head, answers its route, closes.
private struct Connection {
    let fd: Int32
    let stats: ServerStats
    let port: Int

    func serve() {
        defer { close(fd) }
        guard let (method, uri) = readRequestHead() else { return }
        let earlier = stats.begin(uri)
        let ending = Ending(stats: stats)
        defer { ending.now() }
        let isHead = method == "HEAD"
        let parts = uri.split(separator: "/", omittingEmptySubsequences: true)
        let kind = parts.first.map(String.init) ?? ""
        let name = parts.count > 1 ? String(parts[1]) : ""
        // A request counts as in flight until its response's last bytes are about to go out (the
        // client may send its next request as soon as it has them).
        func respond(_ status: Int, _ body: [UInt8], isHead: Bool) {
            ending.now()
            self.respond(status, body, isHead: isHead)
        }
        switch kind {
        case "text": respond(200, Array("text of \(name)".utf8), isHead: isHead)
        case "bin": respond(200, [0, 1, 2, 255], isHead: isHead)
        case "json": respond(200, Array(#"{"values": [1, 2.5, -3]}"#.utf8), isHead: isHead)
        case "notjson": respond(200, Array("<html>oops</html>".utf8), isHead: isHead)
        case _ where uri.hasPrefix("/search?q="):
            respond(200, Array("result for \(uri.dropFirst("/search?q=".count))".utf8), isHead: isHead)
        case "missing": respond(404, Array("no such thing".utf8), isHead: isHead)
        case "flaky":
            if earlier < 2 {
                respond(503, Array("busy".utf8), isHead: isHead)
            } else {
                respond(200, Array("recovered \(name)".utf8), isHead: isHead)
            }
        case "down": respond(503, Array("down".utf8), isHead: isHead)
        case "big": respond(200, [UInt8](repeating: 7, count: 65_536), isHead: isHead)
        case "stream":
            guard writeHead(200, length: nil, extra: [("Transfer-Encoding", "chunked")]) else { return }
            if isHead { return }
            let chunk = Array("400\r\n".utf8) + [UInt8](repeating: 1, count: 1024) + Array("\r\n".utf8)
            for _ in 0..<64 where send(chunk) {}
            _ = send(Array("0\r\n\r\n".utf8))
        case "drip":
            guard writeHead(200, length: 200), !isHead else { return }
            for _ in 0..<200 {
                guard send([65]) else { return }  // the client hung up
                usleep(50_000)
            }
        case "redirect":
            let location = switch name {
            case "host": "http://localhost:\(port)/text/a"
            case "scheme": "https://127.0.0.1:\(port)/text/a"
            case "same": "/text/redirected"
            default: "/redirect/loop"
            }
            _ = writeHead(302, length: 0, extra: [("Location", location)])
        case "slow":
            usleep(60_000)
            respond(200, Array("slow \(name)".utf8), isHead: isHead)
        default: respond(404, [], isHead: isHead)
        }
    }

    /// The request line's method and target, once the whole head has arrived.
    private func readRequestHead() -> (String, String)? {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0, head.count < 65_536 else { return nil }
            head.append(contentsOf: buffer[..<count])
            if let end = head.firstRange(of: Array("\r\n\r\n".utf8)) { head.removeSubrange(end.upperBound...) }
        }
        let line = String(decoding: head.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count == 3 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    private func writeHead(_ status: Int, length: Int?, extra: [(String, String)] = []) -> Bool {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\nConnection: close\r\n"
        if let length { text += "Content-Length: \(length)\r\n" }
        for (name, value) in extra { text += "\(name): \(value)\r\n" }
        return send(Array((text + "\r\n").utf8))
    }

    private func respond(_ status: Int, _ body: [UInt8], isHead: Bool) {
        guard writeHead(status, length: body.count), !isHead, !body.isEmpty else { return }
        _ = send(body)
    }

    /// Writes all of `bytes`; false once the peer is gone (no SIGPIPE).
    private func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 302: "Found"
        case 404: "Not Found"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

/// Starts `body` on a new thread; returns the thread to join, or nil when `detached`.
@discardableResult
private func startThread(detached: Bool = false, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let job = Unmanaged.passRetained(Job(body)).toOpaque()
    let result = pthread_create(&thread, nil, { raw in
        Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, job)
    precondition(result == 0, "pthread_create failed: \(result)")
    if detached {
        pthread_detach(thread)
        return nil
    }
    return thread
}
