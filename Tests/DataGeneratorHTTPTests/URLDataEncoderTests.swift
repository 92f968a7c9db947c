import DataGenerator
@testable import DataGeneratorHTTP
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Options that keep the tests fast: short timeouts and backoffs.
private func fastOptions(retries: Int = 3, timeout: Int64 = 2_000, maxBody: Int = 1 << 20,
                         redirects: Int = 3, concurrent: Int = 4) -> URLFetchOptions {
    URLFetchOptions(timeoutMilliseconds: timeout, maxRetries: retries, initialBackoffMilliseconds: 5,
                    maxBackoffMilliseconds: 20, maxBodyBytes: maxBody, maxRedirects: redirects,
                    maxConcurrentRequests: concurrent)
}

/// An encoder whose transform returns the body's bytes as uint8[n]; with `waits`, retries record
/// their backoffs there instead of sleeping them.
private func bytesEncoder(_ base: String, mapper: IDMapper = .identity, body: URLBodyMode = .binary,
                          options: URLFetchOptions = fastOptions(), waits: BackoffLog? = nil) throws -> URLDataEncoder {
    let wait: @Sendable (Int64) -> Void
    if let waits {
        wait = { milliseconds in waits.record(milliseconds) }
    } else {
        wait = sleepMilliseconds
    }
    return try URLDataEncoder(baseURL: base, idMapper: mapper, body: body, options: options,
                              identity: "bytes@1", output: .variableLength(.uint8), backoffWait: wait) { contents in
        NDArray(contents.bytes, shape: [contents.bytes.count])
    }
}

/// The backoffs a fetcher waited, in order (milliseconds).
private final class BackoffLog: Sendable {
    private let waits = Mutex<[Int64]>([])
    func record(_ milliseconds: Int64) { waits.withLock { $0.append(milliseconds) } }
    var recorded: [Int64] { waits.withLock { $0 } }
}

/// A one-column inventory of ids.
private func records(_ ids: [String]) throws -> Inventory {
    try Inventory(columns: [("id", ids)], idColumn: .named("id"))
}

/// Runs `body`, expecting a ``URLFetchError``, and returns it.
private func fetchError(_ body: () throws -> Void) -> URLFetchError? {
    do {
        try body()
        return nil
    } catch let error as URLFetchError {
        return error
    } catch {
        Issue.record("expected a URLFetchError, got \(error)")
        return nil
    }
}

@Suite("URLDataEncoder against a local HTTP server")
struct URLDataEncoderTests {
    @Test func fetchesTextBinaryAndJSONBodiesAndHandsThemToTheTransform() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let inventory = try records(["a"])

        let text = try URLDataEncoder(baseURL: server.url("/text/"), body: .text, options: fastOptions(),
                                      identity: "length@1", output: ArraySpec(.int32, [])) { contents in
            NDArray(scalar: Int32(try contents.text().count))
        }
        #expect(try text.encode(inventory[0]).scalars(as: Int32.self) == [Int32("text of a".count)])

        let binary = try bytesEncoder(server.url("/bin/"))
        #expect(try binary.encode(inventory[0]).scalars(as: UInt8.self) == [0, 1, 2, 255])

        let json = try URLDataEncoder(baseURL: server.url("/json/"), body: .json, options: fastOptions(),
                                      identity: "values@1", output: ArraySpec(.float64, [3])) { contents in
            let values = try contents.json()["values"]?.array?.compactMap(\.number) ?? []
            return NDArray(values, shape: [values.count])
        }
        #expect(try json.encode(inventory[0]).scalars(as: Double.self) == [1, 2.5, -3])
        #expect(server.stats.requests("/json/a") == 1)
    }

    @Test func textAndJSONModesRejectBodiesThatAreNotTextOrJSONNamingTheURL() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let record = try records(["a"])[0]
        let json = try bytesEncoder(server.url("/notjson/"), body: .json)
        #expect {
            try json.encode(record)
        } throws: { error in
            guard case let .malformedData(row, id, location, reason, _) = error as? EncodingError else { return false }
            return row == 0 && id == "a" && location == server.url("/notjson/a") && reason.contains("JSON")
                && "\(error)".contains(server.url("/notjson/a"))
        }
        let text = try bytesEncoder(server.url("/bin/"), body: .text)
        #expect {
            try text.encode(record)
        } throws: { error in
            "\(error)".contains("'a'") && "\(error)".contains(server.url("/bin/a")) && "\(error)".contains("UTF-8")
        }
    }

    @Test func resolvesTheSeedsSearchQueryAgainstTheBaseURL() throws {
        let inventory = try records(["id1", "id2", "id3"])
        let seed = try bytesEncoder("http://google.com", mapper: IDMapper(prefix: "search?q="))
        #expect(try inventory.records.map { try seed.location(of: $0) }
                == ["http://google.com/search?q=id1", "http://google.com/search?q=id2", "http://google.com/search?q=id3"])

        let server = try TestHTTPServer()
        defer { server.stop() }
        let local = try bytesEncoder(server.url(), mapper: IDMapper(prefix: "search?q="))
        #expect(String(decoding: try local.encode(inventory[1]).scalars(as: UInt8.self), as: UTF8.self) == "result for id2")
        #expect(server.stats.requests("/search?q=id2") == 1)
    }

    @Test func resolvesRelativeReferencesAsRFC3986() throws {
        // The "normal examples" of RFC 3986 §5.4.1 that stay on the base host (fragments dropped).
        let base = "http://a/b/c/d;p?q"
        let cases: [(String, String)] = [
            ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"), ("/g", "http://a/g"),
            ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q"),
            ("g;x?y#s", "http://a/b/c/g;x?y"), ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"),
            ("..", "http://a/b/"), ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"), ("g/../h", "http://a/b/c/h"), ("http://a/x", "http://a/x"),
        ]
        let encoder = try bytesEncoder(base)
        let inventory = try records(cases.map(\.0))
        for (row, (reference, expected)) in cases.enumerated() {
            #expect(try encoder.location(of: inventory[row]) == expected, "reference '\(reference)'")
        }
        let directory = try bytesEncoder("http://host/a/")
        #expect(try directory.location(of: try records(["b"])[0]) == "http://host/a/b")
        let spaced = try bytesEncoder("http://host/a/")
        #expect(try spaced.location(of: try records(["x y\u{e9}"])[0]) == "http://host/a/x%20y%C3%A9")
    }

    @Test func refusesIdsLeadingToAnotherSchemeHostOrPortWithoutARequest() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/text/"))
        let hostile = ["//evil.example/x", "https://127.0.0.1:\(server.port)/text/a",
                       "http://127.0.0.1:1/text/a", "ftp://127.0.0.1/x", "file:///etc/passwd"]
        let inventory = try records(hostile)
        for record in inventory.records {
            let id = record["id"] ?? ""
            let error = fetchError { _ = try encoder.encode(record) }
            #expect(error?.id == id)
            #expect(error.map { "\($0)".contains("'\(id)'") && "\($0)".contains("row \(record.row)") } == true)
            #expect(throws: EncodingError.self) { try encoder.location(of: record) }
            do {
                _ = try encoder.location(of: record)
            } catch {
                #expect("\(error)".contains("'\(id)'"), "\(error)")
            }
        }
        let leaving = fetchError { _ = try encoder.encode(inventory[0]) }
        #expect(leaving.map { "\($0)".contains("http://evil.example/x") && "\($0)".contains("host") } == true)
        #expect(server.stats.requests(prefix: "/") == 0)
    }

    @Test func refusesBaseURLsThatAreNotHTTPOrHTTPS() {
        for base in ["file:///tmp/data/", "ftp://127.0.0.1/data/", "data/relative/", "http:///nohost", "http://h:99999/"] {
            #expect {
                _ = try bytesEncoder(base)
            } throws: { error in
                guard let error = error as? URLFetchError, case .invalidBaseURL(let url, _) = error else { return false }
                return url == base && "\(error)".contains(base)
            }
        }
    }

    @Test func aNotFoundIsAnErrorNamingIdURLAndStatusWithoutRetry() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/missing/"), options: fastOptions(retries: 3))
        let error = fetchError { _ = try encoder.encode(try records(["gone"])[0]) }
        #expect(error == .httpStatus(row: 0, id: "gone", url: server.url("/missing/gone"), status: 404,
                                     reason: "Not Found", attempts: 1))
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("'gone'") && message.contains(server.url("/missing/gone")) && message.contains("404"))
        #expect(server.stats.requests("/missing/gone") == 1)
    }

    @Test func retriesServiceUnavailableWithBackoffUntilItSucceeds() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let waits = BackoffLog()
        let encoder = try bytesEncoder(server.url("/flaky/"), options: fastOptions(retries: 3), waits: waits)
        let array = try encoder.encode(try records(["x"])[0])
        #expect(String(decoding: array.scalars(as: UInt8.self), as: UTF8.self) == "recovered x")
        #expect(server.stats.requests("/flaky/x") == 3)
        // The two retries each waited their backoff first: 5 ms, then doubled.
        #expect(waits.recorded == [5, 10])
    }

    @Test func exhaustedRetriesAreAnErrorNamingStatusAndAttempts() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let options = URLFetchOptions(timeoutMilliseconds: 2_000, maxRetries: 2, initialBackoffMilliseconds: 40,
                                      maxBackoffMilliseconds: 1_000)
        let waits = BackoffLog()
        let encoder = try bytesEncoder(server.url("/down/"), options: options, waits: waits)
        let error = fetchError { _ = try encoder.encode(try records(["x"])[0]) }
        // Two retries wait 40 ms, then 80 ms; none after the last attempt.
        #expect(waits.recorded == [40, 80])
        #expect(error == .httpStatus(row: 0, id: "x", url: server.url("/down/x"), status: 503,
                                     reason: "Service Unavailable", attempts: 3))
        #expect(error.map { "\($0)".contains("503") && "\($0)".contains("3 attempts") } == true)
        #expect(server.stats.requests("/down/x") == 3)
    }

    @Test func backoffDoublesFromTheInitialWaitUpToTheMaximum() {
        let options = URLFetchOptions(initialBackoffMilliseconds: 30, maxBackoffMilliseconds: 200)
        let waits = (1...6).map { options.backoffMilliseconds(beforeRetry: $0) }
        for (retry, wait) in waits.enumerated() {
            let doubled = retry == 0 ? options.initialBackoffMilliseconds : waits[retry - 1] * 2
            #expect(wait == min(doubled, options.maxBackoffMilliseconds), "retry \(retry + 1)")
        }
        #expect(waits.last == options.maxBackoffMilliseconds)
    }

    @Test func networkFailuresAreRetriedThenReported() throws {
        // A port nobody listens on: bind one, note it, close it.
        let server = try TestHTTPServer()
        let base = server.url("/text/")
        server.stop()
        let encoder = try bytesEncoder(base, options: fastOptions(retries: 2, timeout: 500))
        let error = fetchError { _ = try encoder.encode(try records(["a"])[0]) }
        guard case let .network(row, id, url, _, attempts) = error else {
            Issue.record("expected a network error, got \(String(describing: error))")
            return
        }
        #expect(row == 0 && id == "a" && url == base + "a" && attempts == 3)
    }

    @Test func aBodyOverTheLimitIsAbortedWithOrWithoutContentLength() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        for path in ["/big/", "/stream/"] {
            let encoder = try bytesEncoder(server.url(path), options: fastOptions(maxBody: 1000))
            let error = fetchError { _ = try encoder.encode(try records(["x"])[0]) }
            #expect(error == .bodyTooLarge(row: 0, id: "x", url: server.url(path + "x"), limit: 1000))
            #expect(error.map { "\($0)".contains("1000 bytes") && "\($0)".contains(server.url(path + "x")) } == true)
            #expect(server.stats.requests(path + "x") == 1)
        }
        let roomy = try bytesEncoder(server.url("/stream/"), options: fastOptions(maxBody: 65_536))
        #expect(try roomy.encode(try records(["y"])[0]).count == 65_536)
    }

    @Test func aSlowDripServerIsCutOffByTheTimeout() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/drip/"), options: fastOptions(retries: 2, timeout: 300))
        let error = fetchError { _ = try encoder.encode(try records(["x"])[0]) }
        // 200 bytes at one per 50 ms would take 10 s: the deadline ends the request, and timeouts
        // are not retried.
        #expect(error == .timedOut(row: 0, id: "x", url: server.url("/drip/x"), milliseconds: 300))
        #expect(error.map { "\($0)".contains("300 ms") && "\($0)".contains("'x'") } == true)
        #expect(server.stats.requests("/drip/x") == 1)
    }

    @Test func redirectsStayOnTheBaseOriginAndAreBounded() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/redirect/"), options: fastOptions(redirects: 3))
        let inventory = try records(["host", "scheme", "same", "loop"])

        let otherHost = fetchError { _ = try encoder.encode(inventory[0]) }
        guard case let .redirectRefused(_, id, _, location, reason) = otherHost else {
            Issue.record("expected a refused redirect, got \(String(describing: otherHost))")
            return
        }
        #expect(id == "host" && location.contains("localhost") && reason.contains("host"))

        let otherScheme = fetchError { _ = try encoder.encode(inventory[1]) }
        #expect(otherScheme.map { "\($0)".contains("https://") && "\($0)".contains("scheme") } == true)

        let same = try encoder.encode(inventory[2])
        #expect(String(decoding: same.scalars(as: UInt8.self), as: UTF8.self) == "text of redirected")

        let loop = fetchError { _ = try encoder.encode(inventory[3]) }
        #expect(loop == .tooManyRedirects(row: 3, id: "loop", url: server.url("/redirect/loop"), limit: 3))
        #expect(server.stats.requests("/redirect/loop") == 4)
        #expect(server.stats.requests("/text/a") == 0)
    }

    @Test func concurrentRequestsStayWithinTheBoundSharedByCopies() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/slow/"), options: fastOptions(concurrent: 2))
        let inventory = try records((0..<12).map { "r\($0)" })
        let failures = FailureBox()
        runOnThreads(inventory.count) { index in
            let copy = encoder
            do { _ = try copy.encode(inventory[index]) } catch { failures.add("\(error)") }
        }
        #expect(failures.all.isEmpty)
        #expect(server.stats.requests(prefix: "/slow/") == 12)
        #expect(server.stats.maxInFlight == 2)
    }

    @Test func waitingForAFreeRequestSlotDoesNotCountAgainstTheTimeout() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        // Eight 60 ms requests one at a time take about 480 ms, more than the 400 ms timeout of
        // each: they all succeed only if the clock starts when a request gets its slot.
        let encoder = try bytesEncoder(server.url("/slow/"), options: fastOptions(retries: 0, timeout: 400, concurrent: 1))
        let inventory = try records((0..<8).map { "w\($0)" })
        let failures = FailureBox()
        runOnThreads(inventory.count) { index in
            do { _ = try encoder.encode(inventory[index]) } catch { failures.add("\(error)") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(server.stats.maxInFlight == 1)
        #expect(server.stats.requests(prefix: "/slow/") == 8)
    }

    @Test func byteSizeUsesTheContentLengthOfAHeadRequest() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/text/"))
        let record = try records(["abc"])[0]
        #expect(try encoder.byteSize(of: record) == "text of abc".utf8.count)
        #expect(server.stats.requests("/text/abc") == 1)
        // HEAD announces the length without sending the body, so the body limit does not apply.
        let big = try bytesEncoder(server.url("/big/"), options: fastOptions(maxBody: 1000))
        #expect(try big.byteSize(of: record) == 65_536)
        let missing = try bytesEncoder(server.url("/missing/"))
        #expect {
            _ = try missing.byteSize(of: record)
        } throws: { error in
            "\(error)".contains("'abc'") && "\(error)".contains(server.url("/missing/abc")) && "\(error)".contains("404")
        }
    }

    @Test func aMissingIdColumnIsAnErrorNamingTheColumn() throws {
        let encoder = try URLDataEncoder(baseURL: "http://host/", idColumn: "key", options: fastOptions(),
                                         identity: "x@1", output: .variableLength(.uint8)) { _ in NDArray(scalar: UInt8(0)) }
        let record = try records(["a"])[0]
        #expect(throws: EncodingError.missingColumn(column: "key", row: 0, available: ["id"])) {
            try encoder.encode(record)
        }
    }

    @Test func identityNamesBaseURLIdColumnMapperBodyAndTransform() throws {
        let encoder = try URLDataEncoder(baseURL: "http://host/data/", idColumn: "key", idMapper: IDMapper(suffix: ".json"),
                                         body: .json, identity: "values@2", output: ArraySpec(.float32, [3])) { _ in
            NDArray(zeros: .float32, shape: [3])
        }
        let identity = encoder.identity
        for part in ["http://host/data/", "key", ".json", "json", "values@2"] {
            #expect(identity.contains(part), "\(identity) lacks \(part)")
        }
        let other = try URLDataEncoder(baseURL: "http://host/other/", idColumn: "key", idMapper: IDMapper(suffix: ".json"),
                                       body: .json, identity: "values@2", output: ArraySpec(.float32, [3])) { _ in
            NDArray(zeros: .float32, shape: [3])
        }
        #expect(other.identity != identity)
    }

    @Test func requestsAfterShutdownFailNamingTheRecordWithoutReachingTheServer() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let encoder = try bytesEncoder(server.url("/text/"))
        let inventory = try records(["a", "b"])
        #expect(try encoder.encode(inventory[0]).scalars(as: UInt8.self) == Array("text of a".utf8))
        encoder.shutdown()
        let error = fetchError { _ = try encoder.encode(inventory[1]) }
        guard case let .network(row, id, url, reason, _) = error else {
            Issue.record("expected a network error, got \(String(describing: error))")
            return
        }
        #expect(row == 1 && id == "b" && url == server.url("/text/b") && reason.contains("shut down"))
        #expect(server.stats.requests("/text/b") == 0)
    }

    @Test func aDataSetServesTheSameBatchesWithOneOrSeveralWorkers() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let ids = (0..<14).map { "r\($0)" }
        let inventory = try Inventory(columns: [("id", ids), ("target", ids.map { "cat_\($0.count % 3)" })],
                                      idColumn: .named("id"))
        let encoder = try URLDataEncoder(baseURL: server.url("/text/"), body: .text, options: fastOptions(),
                                         identity: "sum@1", output: ArraySpec(.int64, [2])) { contents in
            NDArray([Int64(contents.bytes.count), contents.bytes.reduce(0) { $0 + Int64($1) }], shape: [2])
        }
        var dataSet = GeneratorDataSet(inventory: inventory, dataEncoder: encoder,
                                       targetEncoder: RecordTargetEncoder(column: "target", [LabelEncoder()]))
        try dataSet.fitEncoders()
        let one = try dataSet.batches(size: 4, epochs: 2, truncate: false, order: .full, seed: 3, workers: 1).collect()
        let several = try dataSet.batches(size: 4, epochs: 2, truncate: false, order: .full, seed: 3, workers: 4).collect()
        #expect(one.count == 8)
        #expect(one.map(\.inputs) == several.map(\.inputs))
        #expect(one.map(\.targets) == several.map(\.targets))
        #expect(one.map(\.rows) == several.map(\.rows))
        let first = try #require(one.first)
        let expected = first.rows.flatMap { row -> [Int64] in
            let body = Array("text of \(ids[row])".utf8)
            return [Int64(body.count), body.reduce(0) { $0 + Int64($1) }]
        }
        #expect(first.data.scalars(as: Int64.self) == expected)
        #expect(server.stats.requests(prefix: "/text/") == 14 * 2 * 2)
    }

    @Test func forURLsBuildsAFittedDataSetFromAnInventoryCSV() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let path = try TemporaryFile(contents: ",id,target\n0,a,cat_1\n1,bb,cat_0\n2,ccc,cat_1\n")
        defer { path.remove() }
        let dataSet = try GeneratorDataSet.forURLs(inventory: path.path, baseURL: server.url(), identity: "length@1",
                                                   output: ArraySpec(.int32, []), targets: [LabelEncoder()],
                                                   idMapper: IDMapper(prefix: "text/"), options: fastOptions(),
                                                   sizeColumn: "size") { contents in
            NDArray(scalar: Int32(try contents.text().utf8.count))
        }
        #expect(dataSet.size == 3)
        #expect(try dataSet.inventory.column("size") == ["a", "bb", "ccc"].map { String("text of \($0)".utf8.count) })
        let batch = try #require(try dataSet.batches(size: 3, epochs: 1, workers: 2).collect().first)
        #expect(batch.data.scalars(as: Int32.self) == ["a", "bb", "ccc"].map { Int32("text of \($0)".utf8.count) })
        #expect(batch.targets?.doubles() == [1, 0, 1])
        #expect(throws: URLFetchError.self) {
            _ = try GeneratorDataSet.forURLs(inventory: path.path, baseURL: "ftp://host/", identity: "x@1",
                                             output: ArraySpec(.int32, []), targets: []) { _ in NDArray(scalar: Int32(0)) }
        }
    }
}

/// Runs `body(0..<count)`, each call on its own POSIX thread, all at once; returns when all end.
private func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var threads = [pthread_t]()
    for index in 0..<count {
        var thread = pthread_t()
        let job = Unmanaged.passRetained(Job { body(index) }).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, job)
        precondition(result == 0, "pthread_create failed: \(result)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Errors collected from several threads.
private final class FailureBox: @unchecked Sendable {
    private let lock = PThreadLock()
    private var failures: [String] = []
    func add(_ failure: String) { lock.withLock { failures.append(failure) } }
    var all: [String] { lock.withLock { failures } }
}

/// A pthread mutex for ``FailureBox``.
private final class PThreadLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    func withLock<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

/// A file in the temporary directory, written once.
private struct TemporaryFile {
    let path: String

    init(contents: String) throws {
        var template = Array("/tmp/datagenerator-http-XXXXXX.csv".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        guard descriptor >= 0 else { throw TemporaryFileError(errno: errno) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw TemporaryFileError(errno: errno) }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func remove() { unlink(path) }
}

private struct TemporaryFileError: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { "cannot create a temporary file: errno \(errno)" }
}
