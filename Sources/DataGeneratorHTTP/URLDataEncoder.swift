public import DataGenerator

/// Fetches each record's URL, the base URL joined with its mapped id, and hands the body to a
/// transform: the seed library's `UrlDataEncoder`.
///
/// The mapped id is a URI reference resolved against ``baseURL`` as RFC 3986 (Python's
/// `urljoin`): `http://host` + `search?q=id1` → `http://host/search?q=id1`, `http://host/a/` +
/// `b` → `http://host/a/b`. Characters that may not appear in a URL (spaces, quotes, non-ASCII)
/// are percent-encoded first; `?`, `#`, `/` and `%` keep their URL meaning. Only `http` and
/// `https` are fetched, and a record's URL, or a redirect, that leads to another scheme, host
/// or port than the base URL's is refused.
///
/// Requests follow ``URLFetchOptions``: headers, a timeout covering the whole exchange (a
/// slow-drip server is cut off), retries with exponential backoff after 5xx statuses and network
/// failures (never after a 4xx), a body size limit enforced while the body streams in, bounded
/// redirects and a bound on the requests in flight, shared by every copy of the encoder.
///
/// ```swift
/// let encoder = try URLDataEncoder(baseURL: "https://example.org/data/", idMapper: IDMapper(suffix: ".json"),
///                                  body: .json, identity: "values@1", output: ArraySpec(.float32, [3])) {
///     let values = try $0.json()["values"]?.array?.compactMap(\.number) ?? []
///     return NDArray(values.map(Float.init), shape: [3])
/// }
/// ```
///
/// Threads and lifetime: ``encode(_:)`` performs the request on the calling worker thread
/// through libcurl (TLS from the system, HTTP/2 where the server offers it), reusing kept-alive
/// connections between records. libcurl honours the standard proxy variables (`https_proxy`,
/// `http_proxy`, `no_proxy`), as curl and Python's `requests` do. The connections are closed when the last copy of the encoder is
/// released, or by ``shutdown()``.
public struct URLDataEncoder: DataEncoder, ResourceLocating {
    /// The URL every record's id is resolved against.
    public let baseURL: String
    /// The column holding each record's id.
    public let idColumn: String
    /// The id → URL reference mapping.
    public let idMapper: IDMapper
    /// What the body holds (text, JSON, binary); checked before the transform runs.
    public let body: URLBodyMode
    /// Headers, timeout, retries and bounds.
    public var options: URLFetchOptions { fetcher.options }
    public let outputSpec: ArraySpec
    private let base: URLReference
    private let baseOrigin: HTTPOrigin
    private let transformIdentity: String
    private let transform: @Sendable (ResourceContents) throws -> NDArray
    private let fetcher: HTTPFetcher

    /// - Parameters:
    ///   - baseURL: an absolute `http` or `https` URL.
    ///   - idColumn: the column of ids (default `"id"`).
    ///   - idMapper: id → URI reference (default: unchanged), e.g. `IDMapper(prefix: "search?q=")`.
    ///   - body: what the body holds (default `.binary`).
    ///   - options: headers, timeout, retries and bounds.
    ///   - identity: a stable name of what `transform` computes.
    ///   - output: the spec of `transform`'s result.
    ///   - transform: turns a body into the record's array.
    /// - Throws: ``URLFetchError/invalidBaseURL(url:reason:)`` for a base URL that is not an
    ///   absolute http(s) URL, or for unusable options.
    public init(baseURL: String, idColumn: String = "id", idMapper: IDMapper = .identity,
                body: URLBodyMode = .binary, options: URLFetchOptions = URLFetchOptions(),
                identity: String, output: ArraySpec,
                transform: @escaping @Sendable (ResourceContents) throws -> NDArray) throws(URLFetchError) {
        try self.init(baseURL: baseURL, idColumn: idColumn, idMapper: idMapper, body: body, options: options,
                      identity: identity, output: output, backoffWait: sleepMilliseconds, transform: transform)
    }

    /// The public initializer's work, with the function that waits a retry's backoff (tests
    /// record the waits instead of sleeping them).
    init(baseURL: String, idColumn: String = "id", idMapper: IDMapper = .identity,
         body: URLBodyMode = .binary, options: URLFetchOptions = URLFetchOptions(),
         identity: String, output: ArraySpec, backoffWait: @escaping @Sendable (Int64) -> Void,
         transform: @escaping @Sendable (ResourceContents) throws -> NDArray) throws(URLFetchError) {
        let base = URLReference(parsing: URLReference.percentEncodingDisallowed(baseURL))
        do {
            baseOrigin = try HTTPOrigin(of: base)
        } catch {
            throw .invalidBaseURL(url: baseURL, reason: error.description)
        }
        if let problem = options.problem() { throw .invalidBaseURL(url: baseURL, reason: "options: \(problem)") }
        self.baseURL = baseURL
        self.base = base.withoutFragment
        self.idColumn = idColumn
        self.idMapper = idMapper
        self.body = body
        self.transformIdentity = identity
        self.outputSpec = output
        self.transform = transform
        fetcher = HTTPFetcher(options: options, accept: body.acceptHeader, wait: backoffWait)
    }

    /// The base URL, id column, id mapping, body mode and transform identity. Headers are left
    /// out (they may carry credentials): name them in `identity` if they change the content.
    public var identity: String {
        "url(base=\(baseURL.debugDescription),id=\(idColumn.debugDescription),\(idMapper.identity),body=\(body.rawValue))|\(transformIdentity)"
    }

    /// The URL of `record`: the base URL joined with the mapped id (RFC 3986 reference resolution).
    /// - Throws: ``EncodingError/missingColumn(column:row:available:line:)``, or
    ///   ``EncodingError/unreadable(row:id:path:reason:line:)`` when the URL is refused (another
    ///   scheme, host or port than the base URL's).
    public func location(of record: Record) throws(EncodingError) -> String {
        let id = try recordID(of: record)
        do {
            return try resolvedURL(of: record, id: id).description
        } catch {
            throw error.encodingError
        }
    }

    /// The size in bytes of `record`'s body: the `Content-Length` of a `HEAD` request, or, when
    /// the server sends none, the length of the body fetched with `GET` (within the size limit).
    /// - Throws: ``EncodingError/unreadable(row:id:path:reason:line:)`` naming the URL and the failure.
    public func byteSize(of record: Record) throws(EncodingError) -> Int {
        let id = try recordID(of: record)
        do {
            let url = try resolvedURL(of: record, id: id)
            let head = try fetcher.fetch(url, method: .HEAD, base: baseOrigin, row: record.row, id: id)
            if let length = head.header("content-length").flatMap({ Int($0) }), length >= 0 {
                return length
            }
            return try fetcher.fetch(url, method: .GET, base: baseOrigin, row: record.row, id: id).body.count
        } catch {
            throw error.encodingError
        }
    }

    /// Fetches `record`'s URL, checks the body against ``body`` and transforms it.
    /// - Throws: ``URLFetchError`` (naming the row, id and URL) for a refused URL or a failed
    ///   request, ``EncodingError/malformedData(row:id:location:reason:line:)`` for a body that is not
    ///   the expected text or JSON, and whatever `transform` throws.
    public func encode(_ record: Record) throws -> NDArray {
        let id = try recordID(of: record)
        let url = try resolvedURL(of: record, id: id)
        let response = try fetcher.fetch(url, method: .GET, base: baseOrigin, row: record.row, id: id)
        let contents = ResourceContents(row: record.row, id: id, location: url.description, bytes: response.body)
        switch body {
        case .text: _ = try contents.text()
        case .json: _ = try contents.json()
        case .binary: break
        }
        return try transform(contents)
    }

    /// Closes the connections that all copies of this encoder share; later requests fail.
    /// Optional: they are also closed when the last copy is released.
    public func shutdown() {
        fetcher.shutdown()
    }

    /// The record's id.
    private func recordID(of record: Record) throws(EncodingError) -> String {
        guard let id = record[idColumn] else {
            throw .missingColumn(column: idColumn, row: record.row, available: record.inventory.columnNames)
        }
        return id
    }

    /// The record's URL (without fragment), checked to keep the base URL's origin.
    private func resolvedURL(of record: Record, id: String) throws(URLFetchError) -> URLReference {
        let reference = URLReference(parsing: URLReference.percentEncodingDisallowed(idMapper(id)))
        let url = base.resolving(reference).withoutFragment
        let origin: HTTPOrigin
        do {
            origin = try HTTPOrigin(of: url)
        } catch {
            throw .invalidURL(row: record.row, id: id, url: url.description, reason: error.description)
        }
        if let difference = baseOrigin.difference(from: origin) {
            throw .leavesBase(row: record.row, id: id, url: url.description, base: baseURL, reason: difference)
        }
        return url
    }
}
