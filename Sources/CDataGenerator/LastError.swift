import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The message and fault kind of the last failed call, one per thread (`pthread` keys: the message
/// a `malloc`ed C string, freed when replaced or when the thread ends; the kind stored as the
/// key's pointer value).
enum LastError {
    /// The message's key, created once (global `let`s are initialised lazily and thread-safely).
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// The kind's key: its value is the `Fault` code as a pointer bit pattern (nil: none).
    private static let kindKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Records `message`, a fault of `kind`, as the calling thread's last error.
    static func set(_ message: String, kind: Int32) {
        free(pthread_getspecific(key))
        pthread_setspecific(key, strdup(message))
        pthread_setspecific(kindKey, UnsafeRawPointer(bitPattern: Int(kind)))
    }

    /// The calling thread's last error, or `nil`.
    static var message: UnsafePointer<CChar>? {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
    }

    /// The calling thread's last fault kind (`Fault.none` when no call failed).
    static var kind: Int32 {
        Int32(truncatingIfNeeded: Int(bitPattern: pthread_getspecific(kindKey)))
    }
}

/// The status codes of `datagen.h`.
enum Status {
    static let ok: Int32 = 0
    static let end: Int32 = 1
    static let cache: Int32 = -1
    static let argument: Int32 = -2
    static let buffer: Int32 = -3
}

/// The fault kinds of `datagen.h` (`DG_FAULT_*`), refining a status.
enum Fault {
    static let none: Int32 = 0
    static let other: Int32 = 1
    static let argument: Int32 = 2
    static let buffer: Int32 = 3
    static let notFound: Int32 = 4
    static let io: Int32 = 5
    static let notACache: Int32 = 6
    static let truncated: Int32 = 7
    static let unsupportedVersion: Int32 = 8
    static let corrupt: Int32 = 9
    static let checksum: Int32 = 10

    /// The kind of a cache error: the file's faults each have their own; the caller's mistakes
    /// (a column, a row, an option) are argument faults.
    static func of(_ error: CacheError) -> Int32 {
        switch error {
        case .notACache: notACache
        case .truncated: truncated
        case .unsupportedVersion: unsupportedVersion
        case .corrupt: corrupt
        case .checksumMismatch: checksum
        case let .io(_, _, code): code == ENOENT ? notFound : io
        case .noSuchColumn, .rowOutOfRange, .wrongColumnKind, .invalidOption, .invalidOutput: argument
        case .bufferTooSmall: buffer
        case .stale, .locked, .recordFailed: other
        case .invalidSet: corrupt
        case let .shard(_, _, _, error): of(error)
        }
    }
}

/// An invalid argument from the caller.
struct ArgumentError: Error, CustomStringConvertible {
    let description: String
}

/// A caller buffer too small for a batch.
struct BufferError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body`, turning a thrown error into its status code and the thread's last error.
func guarded(_ body: () throws -> Int32) -> Int32 {
    do {
        return try body()
    } catch let error as BufferError {
        LastError.set(error.description, kind: Fault.buffer)
        return Status.buffer
    } catch let error as ArgumentError {
        LastError.set(error.description, kind: Fault.argument)
        return Status.argument
    } catch let error as DataSetError {
        LastError.set(error.description, kind: Fault.argument)
        return Status.argument
    } catch let error as TransformSpecError {
        LastError.set(error.description, kind: Fault.argument)
        return Status.argument
    } catch let error as CacheError {
        LastError.set(error.description.split(separator: "\n").joined(separator: " "), kind: Fault.of(error))
        return Status.cache
    } catch {
        LastError.set(String(describing: error).split(separator: "\n").joined(separator: " "), kind: Fault.other)
        return Status.cache
    }
}

/// Copies `text` NUL-terminated into `buffer` when it fits and stores its length.
func copyOut(_ text: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64,
             _ length: UnsafeMutablePointer<Int64>?) -> Int32 {
    var text = text
    return text.withUTF8 { bytes in
        length?.pointee = Int64(bytes.count)
        if let buffer, capacity > Int64(bytes.count) {
            if let base = bytes.baseAddress { memcpy(buffer, base, bytes.count) }
            buffer[bytes.count] = 0
        }
        return Status.ok
    }
}
