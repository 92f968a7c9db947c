// The URL data encoder lives here, apart from the core library, so that the engine and its
// C API never link an HTTP stack (or Foundation).
//
// Files: URLDataEncoder (the DataEncoder), URLFetchOptions (headers, timeout, retries, bounds),
// URLFetchError, URLReference (RFC 3986 parsing and resolution, origin checks), HTTPFetcher
// (retries, redirects and deadlines), CurlSession (libcurl's easy interface: one exchange on the
// calling thread, a streamed body with a size cap, kept-alive connections), CCurl (the system
// library),
// RequestLimiter (the shared bound on requests in flight), JSONValue (JSON bodies) and
// GeneratorDataSet+URLs (the `generator_for_urls` factory).
