import DataGenerator
import DataGeneratorHTTP

/// Builds the URL data encoder for `--base-url`.
enum URLSource {
    /// A URL encoder decoding bodies with `decoder`; `sample` (the first record) is fetched when
    /// the output shape must be read from it.
    static func encoder(baseURL: String, idColumn: String, idMapper: IDMapper, decoder: ResourceDecoder,
                        sample: Record?) throws -> any DataEncoder {
        let body: URLBodyMode = decoder.format == .text || decoder.format == .utf8 ? .text : .binary
        var spec: ArraySpec
        do {
            spec = try decoder.outputSpec(sample: nil)
        } catch {
            guard let sample else { throw error }
            let probe = try URLDataEncoder(baseURL: baseURL, idColumn: idColumn, idMapper: idMapper, body: body,
                                           identity: "probe", output: .variableLength(.uint8)) { NDArray($0.bytes) }
            let bytes = try probe.encode(sample).bytes
            let contents = ResourceContents(row: sample.row, id: sample[idColumn] ?? "",
                                            location: try probe.location(of: sample), bytes: bytes)
            spec = try decoder.outputSpec(sample: contents)
        }
        return try URLDataEncoder(baseURL: baseURL, idColumn: idColumn, idMapper: idMapper, body: body,
                                  identity: decoder.identity, output: spec, transform: { try decoder.decode($0) })
    }
}
