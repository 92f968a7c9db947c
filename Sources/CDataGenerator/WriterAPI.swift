import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

// The writer functions of include/datagen.h: a `dg_writer *` is a retained `WriterHandle` around
// one `CacheWriter`, released by dg_writer_finish or dg_writer_abort.

/// What a `dg_writer *` points to: a started ``CacheWriter``.
final class WriterHandle {
    let writer: CacheWriter

    init(path: String, schemaJSON: String, rowsDigest: String) throws {
        let schema = try argument { () throws(CacheError) in try CacheWriterSchema(json: schemaJSON, rowsDigest: rowsDigest) }
        writer = try CacheWriter(output: path, schema: schema)
        _ = try writer.start()
    }

    /// Appends group `index` from the caller's column buffers.
    func put(group index: Int, buffers: UnsafePointer<UnsafeRawPointer?>, sizes: UnsafePointer<Int64>,
             lengths: UnsafePointer<UnsafePointer<Int64>?>?, skipped: [SkippedRecord]) throws {
        let schema = writer.schema
        guard index == writer.groupsDone, index < schema.groupCount else {
            throw ArgumentError(description: "group \(index) given where group \(writer.groupsDone) of \(schema.groupCount) comes next")
        }
        let rows = schema.rows(ofGroup: index)
        let keptCount = rows.count - skipped.count
        guard keptCount >= 0 else {
            throw ArgumentError(description: "group \(index) has \(rows.count) rows but \(skipped.count) skipped records")
        }
        var parts = [EncodedColumnPart]()
        for (position, column) in schema.columns.enumerated() {
            let size = sizes[position]
            guard size >= 0, size == 0 || buffers[position] != nil else {
                throw ArgumentError(description: "column '\(column.name)': the buffer is NULL or its size \(size) is negative")
            }
            let bytes = UnsafeRawBufferPointer(start: buffers[position], count: Int(size))
            var rowLengths: [Int]?
            if let lengths, let pointer = lengths[position] {
                rowLengths = (0..<keptCount).map { Int(pointer[$0]) }
            } else if column.spec.isVariableLength && keptCount == 0 {
                rowLengths = []  // every row skipped: no lengths to point to
            }
            parts.append(try argument { () throws(CacheError) in
                try EncodedColumnPart(column: column, bytes: bytes, lengths: rowLengths, rowCount: keptCount)
            })
        }
        let group = EncodedGroup(index: index, rows: rows, skipped: skipped, columns: parts)
        try argument { () throws(CacheError) in try writer.append(group) }
    }
}

/// Runs `body`, reporting ``CacheError/invalidOption(_:)`` (the caller's mistake) as an
/// ``ArgumentError`` and every other cache error as it is.
private func argument<T>(_ body: () throws(CacheError) -> T) throws -> T {
    do {
        return try body()
    } catch .invalidOption(let message) {
        throw ArgumentError(description: message)
    }
}

private func writerHandle(_ pointer: OpaquePointer?) throws -> WriterHandle {
    guard let pointer else { throw ArgumentError(description: "the writer handle is NULL") }
    return Unmanaged<WriterHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// `dg_writer_open`: takes the cache's lock, resumes its journal and stores a new writer handle and
/// the number of groups already written (datagen.h).
@_cdecl("dg_writer_open")
public func dg_writer_open(_ path: UnsafePointer<CChar>?, _ schemaJSON: UnsafePointer<CChar>?,
                           _ rowsDigest: UnsafePointer<CChar>?, _ writer: UnsafeMutablePointer<OpaquePointer?>?,
                           _ groupsDone: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        guard let path, let schemaJSON, let rowsDigest, let writer else {
            throw ArgumentError(description: "dg_writer_open needs a path, a schema, a rows digest and a result pointer")
        }
        let handle = try WriterHandle(path: String(cString: path), schemaJSON: String(cString: schemaJSON),
                                      rowsDigest: String(cString: rowsDigest))
        groupsDone?.pointee = Int64(handle.writer.groupsDone)
        writer.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
        return Status.ok
    }
}

/// `dg_writer_put_group`: packs, compresses and appends the next row group (datagen.h).
@_cdecl("dg_writer_put_group")
public func dg_writer_put_group(_ writer: OpaquePointer?, _ group: Int64,
                                _ buffers: UnsafePointer<UnsafeRawPointer?>?, _ sizes: UnsafePointer<Int64>?,
                                _ lengths: UnsafePointer<UnsafePointer<Int64>?>?,
                                _ skippedJSON: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let handle = try writerHandle(writer)
        guard let buffers, let sizes else { throw ArgumentError(description: "dg_writer_put_group needs buffers and sizes") }
        let skipped = try skippedJSON.map { json in
            try argument { () throws(CacheError) in try SkippedRecord.list(json: String(cString: json)) }
        } ?? []
        try handle.put(group: Int(group), buffers: buffers, sizes: sizes, lengths: lengths, skipped: skipped)
        return Status.ok
    }
}

/// `dg_writer_finish`: writes the index and metadata and publishes the cache; releases the handle
/// (datagen.h).
@_cdecl("dg_writer_finish")
public func dg_writer_finish(_ writer: OpaquePointer?, _ ids: UnsafePointer<CChar>?, _ idLengths: UnsafePointer<Int64>?,
                             _ classesJSON: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let handle = try writerHandle(writer)
        defer {
            handle.writer.abort()
            Unmanaged<WriterHandle>.fromOpaque(UnsafeRawPointer(writer!)).release()
        }
        let count = handle.writer.schema.recordCount
        var idList: [String]?
        if let ids {
            guard let idLengths else { throw ArgumentError(description: "dg_writer_finish: ids given without their lengths") }
            var list = [String]()
            list.reserveCapacity(count)
            var offset = 0
            for row in 0..<count {
                let length = Int(idLengths[row])
                guard length >= 0 else { throw ArgumentError(description: "id \(row) has the negative length \(length)") }
                let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(ids) + offset, count: length)
                guard let id = String(validating: bytes, as: UTF8.self) else {
                    throw ArgumentError(description: "id \(row) is not valid UTF-8")
                }
                list.append(id)
                offset += length
            }
            idList = list
        }
        let classes = try classesJSON.map { json in
            try argument { () throws(CacheError) in try CacheWriterSchema.classes(json: String(cString: json)) }
        }
        _ = try argument { () throws(CacheError) in try handle.writer.finish(ids: idList, classes: classes) }
        return Status.ok
    }
}

/// `dg_writer_abort`: stops writing, keeps the partial file and its journal for a resume, releases
/// the lock and the handle (datagen.h).
@_cdecl("dg_writer_abort")
public func dg_writer_abort(_ writer: OpaquePointer?) {
    guard let writer else { return }
    let handle = Unmanaged<WriterHandle>.fromOpaque(UnsafeRawPointer(writer))
    handle.takeUnretainedValue().writer.abort()
    handle.release()
}
