import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 (port 0) with routes that misbehave on purpose, counting
/// requests per path and the most requests in flight at once.
///
/// Routes: `/text/ID`, `/bin/ID`, `/json/ID`, `/search?q=ID`, `/notjson/ID` (200);
/// `/missing/ID` (404); `/flaky/ID` (503 twice per path, then 200); `/down/ID` (always 503);
/// `/big/ID` (a 64 KiB body with `Content-Length`), `/stream/ID` (64 KiB chunked, no length);
/// `/drip/ID` (one byte every 50 ms); `/redirect/host`, `/redirect/scheme`, `/redirect/same`,
/// `/redirect/loop`; `/slow/ID` (answers after 60 ms). `HEAD` gets the `GET` headers only.
final class TestHTTPServer: Sendable {
    let stats = ServerStats()
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The bound port.
    let port: Int

    init() throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let stats = self.stats
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RouteHandler(stats: stats))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    func url(_ path: String = "") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Stops listening and shuts the server's event loop down.
    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
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

private final class RouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let stats: ServerStats
    private var head: HTTPRequestHead?

    init(stats: ServerStats) { self.stats = stats }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            route(context: context, head: head)
        }
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let uri = head.uri
        let earlier = stats.begin(uri)
        let isHead = head.method == .HEAD
        let parts = uri.split(separator: "/", omittingEmptySubsequences: true)
        let kind = parts.first.map(String.init) ?? ""
        let name = parts.count > 1 ? String(parts[1]) : ""
        let port = context.channel.localAddress?.port ?? 0
        switch kind {
        case "text": respond(context, 200, Array("text of \(name)".utf8), isHead: isHead)
        case "bin": respond(context, 200, [0, 1, 2, 255], isHead: isHead)
        case "json": respond(context, 200, Array(#"{"values": [1, 2.5, -3]}"#.utf8), isHead: isHead)
        case "notjson": respond(context, 200, Array("<html>oops</html>".utf8), isHead: isHead)
        case _ where uri.hasPrefix("/search?q="):
            respond(context, 200, Array("result for \(uri.dropFirst("/search?q=".count))".utf8), isHead: isHead)
        case "missing": respond(context, 404, Array("no such thing".utf8), isHead: isHead)
        case "flaky":
            if earlier < 2 {
                respond(context, 503, Array("busy".utf8), isHead: isHead)
            } else {
                respond(context, 200, Array("recovered \(name)".utf8), isHead: isHead)
            }
        case "down": respond(context, 503, Array("down".utf8), isHead: isHead)
        case "big": respond(context, 200, [UInt8](repeating: 7, count: 65_536), isHead: isHead)
        case "stream": stream(context, chunks: 64, chunkSize: 1024)
        case "drip":
            writeHead(context, 200, length: 200)
            drip(context, remaining: 200)
        case "redirect":
            let location = switch name {
            case "host": "http://localhost:\(port)/text/a"
            case "scheme": "https://127.0.0.1:\(port)/text/a"
            case "same": "/text/redirected"
            default: "/redirect/loop"
            }
            writeHead(context, 302, length: 0, extra: [("Location", location)])
            finish(context)
        case "slow":
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(60)) {
                self.respond(context, 200, Array("slow \(name)".utf8), isHead: isHead)
            }
        default: respond(context, 404, [], isHead: isHead)
        }
    }

    private func writeHead(_ context: ChannelHandlerContext, _ status: Int, length: Int?,
                           extra: [(String, String)] = []) {
        var headers = HTTPHeaders(extra)
        if let length { headers.add(name: "Content-Length", value: String(length)) }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    private func respond(_ context: ChannelHandlerContext, _ status: Int, _ body: [UInt8], isHead: Bool) {
        writeHead(context, status, length: body.count)
        if !isHead && !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        }
        finish(context)
    }

    private func finish(_ context: ChannelHandlerContext) {
        stats.end()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func stream(_ context: ChannelHandlerContext, chunks: Int, chunkSize: Int) {
        writeHead(context, 200, length: nil)
        for _ in 0..<chunks {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: 1, count: chunkSize)))), promise: nil)
        }
        finish(context)
    }

    private func drip(_ context: ChannelHandlerContext, remaining: Int) {
        guard context.channel.isActive else {
            stats.end()
            return
        }
        guard remaining > 0 else {
            finish(context)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: [65])))), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(50)) {
            self.drip(context, remaining: remaining - 1)
        }
    }
}
