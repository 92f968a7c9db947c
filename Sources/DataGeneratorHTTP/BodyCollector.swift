import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// One HTTP exchange's result: the status line, headers and (for a 2xx) the body.
struct FetchedResponse: Sendable {
    let status: Int
    let reason: String
    let headers: HTTPHeaders
    let body: [UInt8]
}

/// Raised inside a request when the body passes the limit; the request is aborted with it.
struct BodyLimitExceeded: Error {}

/// Collects a response body as it streams in, failing the request the moment it grows past
/// `limit` (or when `Content-Length` already announces more). Bodies of non-2xx responses are
/// discarded: only their status is reported.
///
/// AsyncHTTPClient calls a delegate's methods one at a time on the request's event loop; the
/// state still sits in a `Mutex` so that the class is `Sendable` without `@unchecked`.
final class BodyCollector: HTTPClientResponseDelegate {
    typealias Response = FetchedResponse

    private struct State {
        var head: HTTPResponseHead?
        var body: [UInt8] = []
    }

    private let limit: Int
    private let checksAnnouncedLength: Bool
    private let state = Mutex(State())

    /// A collector refusing bodies over `limit` bytes; `checksAnnouncedLength` refuses a
    /// `Content-Length` over the limit before any byte arrives (off for `HEAD`, whose length
    /// announces a body that never comes).
    init(limit: Int, checksAnnouncedLength: Bool) {
        self.limit = limit
        self.checksAnnouncedLength = checksAnnouncedLength
    }

    func didReceiveHead(task: HTTPClient.Task<FetchedResponse>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock { $0.head = head }
        if checksAnnouncedLength, Self.isSuccess(head.status.code),
           let announced = head.headers.first(name: "content-length").flatMap({ Int($0) }), announced > limit {
            return task.eventLoop.makeFailedFuture(BodyLimitExceeded())
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<FetchedResponse>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let exceeded = state.withLock { state -> Bool in
            guard let head = state.head, Self.isSuccess(head.status.code) else { return false }
            if state.body.count + buffer.readableBytes > limit { return true }
            state.body.append(contentsOf: buffer.readableBytesView)
            return false
        }
        return exceeded ? task.eventLoop.makeFailedFuture(BodyLimitExceeded()) : task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<FetchedResponse>) throws -> FetchedResponse {
        try state.withLock { state in
            guard let head = state.head else { throw HTTPClientError.remoteConnectionClosed }
            return FetchedResponse(status: Int(head.status.code), reason: head.status.reasonPhrase,
                                   headers: head.headers, body: state.body)
        }
    }

    private static func isSuccess(_ code: UInt) -> Bool { (200..<300).contains(code) }
}
