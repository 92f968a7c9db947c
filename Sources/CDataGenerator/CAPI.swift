import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

// The C functions of include/datagen.h. Each converts its arguments, runs inside `guarded` (errors
// become status codes and the thread's last error) and never lets a Swift error or type cross.

private func cacheHandle(_ pointer: OpaquePointer?) throws -> CacheHandle {
    guard let pointer else { throw ArgumentError(description: "the cache handle is NULL") }
    return Unmanaged<CacheHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

private func iteratorHandle(_ pointer: OpaquePointer?) throws -> IteratorHandle {
    guard let pointer else { throw ArgumentError(description: "the iterator handle is NULL") }
    return Unmanaged<IteratorHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// `dg_last_error`: copies the calling thread's last error message; returns its length (datagen.h).
@_cdecl("dg_last_error")
public func dg_last_error(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64) -> Int64 {
    guard let message = LastError.message else {
        if let buffer, capacity > 0 { buffer[0] = 0 }
        return 0
    }
    let length = strlen(message)
    if let buffer, capacity > 0 {
        let count = min(length, Int(capacity) - 1)
        memcpy(buffer, message, count)
        buffer[count] = 0
    }
    return Int64(length)
}

/// `dg_last_error_kind`: the calling thread's last fault kind, a `DG_FAULT_*` code (datagen.h).
@_cdecl("dg_last_error_kind")
public func dg_last_error_kind() -> Int32 {
    LastError.kind
}

/// `dg_open`: opens a cache file and stores a new cache handle (datagen.h).
@_cdecl("dg_open")
public func dg_open(_ path: UnsafePointer<CChar>?, _ memoryBudget: Int64,
                    _ cache: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        guard let path, let cache else { throw ArgumentError(description: "dg_open needs a path and a result pointer") }
        guard memoryBudget >= 0 else { throw ArgumentError(description: "the memory budget \(memoryBudget) is negative") }
        let handle = try CacheHandle(path: String(cString: path), memoryBudget: Int(memoryBudget))
        cache.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
        return Status.ok
    }
}

/// `dg_close`: releases a cache handle (datagen.h).
@_cdecl("dg_close")
public func dg_close(_ cache: OpaquePointer?) {
    guard let cache else { return }
    Unmanaged<CacheHandle>.fromOpaque(UnsafeRawPointer(cache)).release()
}

/// `dg_info_json`: the cache's schema and metadata as JSON (datagen.h).
@_cdecl("dg_info_json")
public func dg_info_json(_ cache: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64,
                         _ length: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded { copyOut(try cacheHandle(cache).infoJSON(), buffer, capacity, length) }
}

/// `dg_row_id`: the id of one row (datagen.h).
@_cdecl("dg_row_id")
public func dg_row_id(_ cache: OpaquePointer?, _ row: Int64, _ buffer: UnsafeMutablePointer<CChar>?,
                      _ capacity: Int64, _ length: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let source = try cacheHandle(cache).current().source
        guard row >= 0, row < Int64(source.rowCount) else {
            throw ArgumentError(description: "row \(row) is outside the cache's rows 0..<\(source.rowCount)")
        }
        guard let id = try source.id(ofRow: Int(row)) else {
            throw ArgumentError(description: "\(source.path) has no row ids")
        }
        return copyOut(id, buffer, capacity, length)
    }
}

/// `dg_verify`: checks every checksum of the cache (datagen.h).
@_cdecl("dg_verify")
public func dg_verify(_ cache: OpaquePointer?) -> Int32 {
    guarded {
        _ = try cacheHandle(cache).current().source.verify()
        return Status.ok
    }
}

/// `dg_iterator_create`: a batch iterator over epochs of the cache (datagen.h).
@_cdecl("dg_iterator_create")
public func dg_iterator_create(_ cache: OpaquePointer?, _ rows: UnsafePointer<Int64>?, _ rowCount: Int64,
                               _ batchSize: Int64, _ shuffle: Int32, _ seed: UInt64, _ epoch: Int64,
                               _ epochs: Int64, _ rank: Int64, _ worldSize: Int64, _ dropLast: Int32,
                               _ workers: Int32, _ prefetch: Int32,
                               _ iterator: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        let handle = try cacheHandle(cache)
        guard let iterator else { throw ArgumentError(description: "dg_iterator_create needs a result pointer") }
        let order: EpochOrder
        switch shuffle {
        case 0: order = .none
        case 1: order = .full
        case 2: order = .window
        default: throw ArgumentError(description: "unknown shuffle mode \(shuffle): use 0 (none), 1 (full) or 2 (window)")
        }
        guard epochs >= -1, workers >= 0, prefetch >= 0, epoch >= 0 else {
            throw ArgumentError(description: "epochs \(epochs), epoch \(epoch), workers \(workers) and prefetch \(prefetch) must not be negative (epochs -1: endless)")
        }
        var subset: [Int]?
        if let rows {
            guard rowCount >= 0 else { throw ArgumentError(description: "row count \(rowCount) is negative") }
            subset = (0..<Int(rowCount)).map { Int(rows[$0]) }
        }
        let shard = try Shard(rank: Int(rank), worldSize: Int(worldSize))
        let options = BatchOptions(batchSize: Int(batchSize), epochs: epochs < 0 ? nil : Int(epochs),
                                   truncate: dropLast != 0, order: order, seed: seed, startEpoch: Int(epoch),
                                   shard: shard, workers: Int(workers), prefetch: prefetch == 0 ? nil : Int(prefetch))
        let made = try IteratorHandle(cache: handle, subset: subset, options: options)
        iterator.pointee = OpaquePointer(Unmanaged.passRetained(made).toOpaque())
        return Status.ok
    }
}

/// `dg_iterator_batches_per_epoch`: batches in each epoch, or -1 for a NULL handle (datagen.h).
@_cdecl("dg_iterator_batches_per_epoch")
public func dg_iterator_batches_per_epoch(_ iterator: OpaquePointer?) -> Int64 {
    guard let handle = try? iteratorHandle(iterator) else { return -1 }
    return Int64(handle.plan.batchesPerEpoch)
}

/// `dg_iterator_peek`: waits for the next batch and reports its rows and padded lengths (datagen.h).
@_cdecl("dg_iterator_peek")
public func dg_iterator_peek(_ iterator: OpaquePointer?, _ rows: UnsafeMutablePointer<Int64>?,
                             _ longest: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let handle = try iteratorHandle(iterator)
        guard let batch = try handle.peek() else { return Status.end }
        let parts = IteratorHandle.columns(of: batch)
        rows?.pointee = Int64(batch.rows.count)
        for (index, part) in parts.enumerated() {
            let value = part.lengths != nil ? Int64(part.array.shape.count > 1 ? part.array.shape[1] : 0) : 0
            if let longest { longest[index] = value } else if part.lengths != nil {
                throw ArgumentError(description: "column '\(handle.columns[index].name)' is variable-length: pass a longest array")
            }
        }
        return Status.ok
    }
}

/// `dg_iterator_peek_shape`: the padded shape of one variable-shape column of the next batch (datagen.h).
@_cdecl("dg_iterator_peek_shape")
public func dg_iterator_peek_shape(_ iterator: OpaquePointer?, _ column: Int32, _ dimensions: UnsafeMutablePointer<Int64>?,
                                   _ capacity: Int32) -> Int32 {
    guarded {
        let handle = try iteratorHandle(iterator)
        guard let batch = try handle.peek() else { return Status.end }
        let parts = IteratorHandle.columns(of: batch)
        guard column >= 0, Int(column) < parts.count else {
            throw ArgumentError(description: "column \(column) does not exist (the cache has \(parts.count))")
        }
        let shape = parts[Int(column)].array.shape
        guard let dimensions, Int(capacity) >= shape.count else {
            throw ArgumentError(description: "dg_iterator_peek_shape needs room for \(shape.count) dimensions")
        }
        for (axis, dimension) in shape.enumerated() { dimensions[axis] = Int64(dimension) }
        return Status.ok
    }
}

/// `dg_iterator_fill`: copies the next batch into the caller's buffers and consumes it (datagen.h).
@_cdecl("dg_iterator_fill")
public func dg_iterator_fill(_ iterator: OpaquePointer?, _ buffers: UnsafePointer<UnsafeMutableRawPointer?>?,
                             _ capacities: UnsafePointer<Int64>?,
                             _ lengths: UnsafePointer<UnsafeMutablePointer<Int64>?>?) -> Int32 {
    guarded {
        let handle = try iteratorHandle(iterator)
        guard let buffers, let capacities else { throw ArgumentError(description: "dg_iterator_fill needs buffers and capacities") }
        return try handle.fill(buffers, capacities, lengths)
    }
}

/// `dg_iterator_attach`: ring mode, batches written straight into the caller's slots (datagen.h).
@_cdecl("dg_iterator_attach")
public func dg_iterator_attach(_ iterator: OpaquePointer?, _ slotCount: Int32,
                               _ buffers: UnsafePointer<UnsafeMutableRawPointer?>?,
                               _ capacities: UnsafePointer<Int64>?) -> Int32 {
    guarded {
        let handle = try iteratorHandle(iterator)
        guard let buffers, let capacities, slotCount > 0 else {
            throw ArgumentError(description: "dg_iterator_attach needs a positive slot count, buffers and capacities")
        }
        let columns = handle.columns.count
        let slots = (0..<Int(slotCount)).map { slot in
            slotBuffers(buffers + slot * columns, capacities + slot * columns, count: columns)
        }
        try handle.attach(slots: slots)
        return Status.ok
    }
}

/// `dg_iterator_next_slot`: the next batch's slot and row count, in ring mode (datagen.h).
@_cdecl("dg_iterator_next_slot")
public func dg_iterator_next_slot(_ iterator: OpaquePointer?, _ slot: UnsafeMutablePointer<Int32>?,
                                  _ rows: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        guard let delivery = try iteratorHandle(iterator).nextSlot() else { return Status.end }
        slot?.pointee = Int32(delivery.slot)
        rows?.pointee = Int64(delivery.count)
        return Status.ok
    }
}

/// `dg_iterator_replace_slot`: new buffers for a held slot (one of the last two delivered), in ring
/// mode (datagen.h).
@_cdecl("dg_iterator_replace_slot")
public func dg_iterator_replace_slot(_ iterator: OpaquePointer?, _ slot: Int32,
                                     _ buffers: UnsafePointer<UnsafeMutableRawPointer?>?,
                                     _ capacities: UnsafePointer<Int64>?) -> Int32 {
    guarded {
        let handle = try iteratorHandle(iterator)
        guard let buffers, let capacities else { throw ArgumentError(description: "dg_iterator_replace_slot needs buffers and capacities") }
        try handle.replace(slot: Int(slot), with: slotBuffers(buffers, capacities, count: handle.columns.count))
        return Status.ok
    }
}

/// One slot's buffers from C arrays of pointers and capacities.
private func slotBuffers(_ buffers: UnsafePointer<UnsafeMutableRawPointer?>, _ capacities: UnsafePointer<Int64>,
                         count: Int) -> [UnsafeMutableRawBufferPointer] {
    (0..<count).map { UnsafeMutableRawBufferPointer(start: buffers[$0], count: Int(max(0, capacities[$0]))) }
}

/// `dg_iterator_seek`: moves the iterator to a batch of an epoch (datagen.h).
@_cdecl("dg_iterator_seek")
public func dg_iterator_seek(_ iterator: OpaquePointer?, _ epoch: Int64, _ index: Int64) -> Int32 {
    guarded {
        try iteratorHandle(iterator).seek(epoch: Int(epoch), index: Int(index))
        return Status.ok
    }
}

/// `dg_iterator_position`: the epoch and index of the next batch (datagen.h).
@_cdecl("dg_iterator_position")
public func dg_iterator_position(_ iterator: OpaquePointer?, _ epoch: UnsafeMutablePointer<Int64>?,
                                 _ index: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let position = try iteratorHandle(iterator).position
        epoch?.pointee = Int64(position.epoch)
        index?.pointee = Int64(position.index)
        return Status.ok
    }
}

/// `dg_iterator_free`: stops the iterator's threads and releases it (datagen.h).
@_cdecl("dg_iterator_free")
public func dg_iterator_free(_ iterator: OpaquePointer?) {
    guard let iterator else { return }
    Unmanaged<IteratorHandle>.fromOpaque(UnsafeRawPointer(iterator)).release()
}

/// `dg_set_create`: verifies shards and writes a cache set manifest over them (datagen.h).
@_cdecl("dg_set_create")
public func dg_set_create(_ manifestPath: UnsafePointer<CChar>?, _ shardPaths: UnsafePointer<UnsafePointer<CChar>?>?,
                          _ shardCount: Int64) -> Int32 {
    guarded {
        guard let manifestPath else { throw ArgumentError(description: "dg_set_create needs a manifest path") }
        guard shardCount > 0, let shardPaths else {
            throw ArgumentError(description: "dg_set_create needs at least one shard (\(shardCount) given)")
        }
        var shards = [String]()
        for index in 0..<Int(shardCount) {
            guard let shard = shardPaths[index] else { throw ArgumentError(description: "shard path \(index) is NULL") }
            shards.append(String(cString: shard))
        }
        try CacheSet.create(at: String(cString: manifestPath), shards: shards)
        return Status.ok
    }
}
