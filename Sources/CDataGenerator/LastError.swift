import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// The message of the last failed call, one per thread (a `pthread` key whose value is a
/// `malloc`ed C string, freed when replaced or when the thread ends).
enum LastError {
    /// The key, created once (global `let`s are initialised lazily and thread-safely).
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Records `message` as the calling thread's last error.
    static func set(_ message: String) {
        free(pthread_getspecific(key))
        pthread_setspecific(key, strdup(message))
    }

    /// The calling thread's last error, or `nil`.
    static var message: UnsafePointer<CChar>? {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
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
        LastError.set(error.description)
        return Status.buffer
    } catch let error as ArgumentError {
        LastError.set(error.description)
        return Status.argument
    } catch let error as DataSetError {
        LastError.set(error.description)
        return Status.argument
    } catch {
        LastError.set(String(describing: error).split(separator: "\n").joined(separator: " "))
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
