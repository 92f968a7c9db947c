/// Writes an MNIST-like data set the way the seed library's MNIST example does: one
/// `numpy.savetxt`-style text file per image (28 lines of 28 values, `%.18e`, space-separated)
/// and an inventory CSV in pandas' layout (an unnamed index column, then `id` and `target`).
///
/// ```swift
/// let inventory = try DemoDataWriter(records: 12_500).write(to: "/tmp/mnist")
/// // /tmp/mnist/inventory.csv, /tmp/mnist/mnist_0.txt, …
/// ```
public struct DemoDataWriter: Sendable {
    /// The number of images.
    public let records: Int
    /// The images' generator.
    public let digits: SyntheticDigits
    /// The id of record `i` is `prefix + i`; its file is the id plus ``fileSuffix``.
    public let prefix = "mnist_"
    /// The suffix that maps an id to its file name.
    public let fileSuffix = ".txt"

    /// A writer of `records` images from `digits`.
    public init(records: Int, digits: SyntheticDigits = SyntheticDigits()) {
        self.records = records
        self.digits = digits
    }

    /// `%.18e` text of each integer pixel value 0…255, as `numpy.savetxt` prints them.
    static let pixelText: [[UInt8]] = (0...255).map { value in
        if value == 0 { return Array("0.000000000000000000e+00".utf8) }
        var digits = String(value)
        let exponent = digits.count - 1
        digits += String(repeating: "0", count: 19 - digits.count)
        let mantissa = String(digits.first!) + "." + digits.dropFirst()
        return Array((mantissa + "e+0\(exponent)").utf8)
    }

    /// The savetxt text of image `index`.
    public func text(of index: Int) -> [UInt8] {
        let image = digits.image(index)
        var text = [UInt8]()
        text.reserveCapacity(SyntheticDigits.pixels * 25)
        for row in 0..<SyntheticDigits.side {
            for column in 0..<SyntheticDigits.side {
                if column > 0 { text.append(UInt8(ascii: " ")) }
                text.append(contentsOf: Self.pixelText[Int(image[row * SyntheticDigits.side + column])])
            }
            text.append(UInt8(ascii: "\n"))
        }
        return text
    }

    /// Writes the files and `inventory.csv` into `directory` (which must exist).
    /// - Parameter progress: called with the number of files written so far, now and then.
    /// - Returns: the inventory's path.
    /// - Throws: ``EncodingError/unreadable(row:id:path:reason:line:)`` naming the file that could not be written.
    @discardableResult
    public func write(to directory: String, progress: (Int) -> Void = { _ in }) throws(EncodingError) -> String {
        var inventory = Array(",id,target\n".utf8)
        for index in 0..<records {
            let id = prefix + String(index)
            let path = PathContainment.join(directory, id + fileSuffix)
            do { try FileIO.write(text(of: index), to: path) } catch {
                throw .unreadable(row: index, id: id, path: path, reason: "cannot write: \(error)")
            }
            inventory += Array("\(index),\(id),\(digits.label(of: index))\n".utf8)
            if index % 1000 == 999 { progress(index + 1) }
        }
        let path = PathContainment.join(directory, "inventory.csv")
        do { try FileIO.write(inventory, to: path) } catch {
            throw .unreadable(row: 0, id: "inventory", path: path, reason: "cannot write: \(error)")
        }
        progress(records)
        return path
    }
}
