/// What a column's row bytes are: the array itself (``plain``, every column of format versions
/// 1 and 2), or a JPEG file that decodes to the row's recorded shape (``jpeg``, format version 3,
/// `--image-store jpeg`; docs/FORMAT.md, "JPEG-encoded columns").
public enum CacheColumnEncoding: String, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Each row's bytes are its array's elements, in C order.
    case plain
    /// Each row's bytes are a JPEG file; its decoded `uint8 [height, width, channels]` shape is in
    /// the row-shape table. Units hold the files raw (codec `none`).
    case jpeg

    public var description: String { rawValue }
}
