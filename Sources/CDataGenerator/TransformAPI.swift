import DataGenerator

// The image-transform functions of include/datagen.h.

/// `dg_iterator_set_transform`: serves a data column through a transform spec (datagen.h).
@_cdecl("dg_iterator_set_transform")
public func dg_iterator_set_transform(_ iterator: OpaquePointer?, _ column: Int32, _ spec: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        guard let iterator else { throw ArgumentError(description: "the iterator handle is NULL") }
        guard let spec else { throw ArgumentError(description: "dg_iterator_set_transform needs a spec") }
        let handle = Unmanaged<IteratorHandle>.fromOpaque(UnsafeRawPointer(iterator)).takeUnretainedValue()
        try handle.setTransform(column: Int(column), pipeline: ImagePipeline(parsing: String(cString: spec)))
        return Status.ok
    }
}

/// `dg_iterator_columns_json`: the columns as the iterator serves them (datagen.h).
@_cdecl("dg_iterator_columns_json")
public func dg_iterator_columns_json(_ iterator: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64,
                                     _ length: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        guard let iterator else { throw ArgumentError(description: "the iterator handle is NULL") }
        let handle = Unmanaged<IteratorHandle>.fromOpaque(UnsafeRawPointer(iterator)).takeUnretainedValue()
        return copyOut(handle.servedColumnsJSON(), buffer, capacity, length)
    }
}
