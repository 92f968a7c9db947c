#if canImport(Glibc)
import Glibc
#endif

/// An inventory made from a folder of class folders, `DIR/<class>/<file>`, as torchvision's
/// `ImageFolder` and Hugging Face's `imagefolder` read one: each class is a folder one level
/// below `DIR`, named after it, and its records are the files directly inside.
///
/// Entries whose names start with a dot (`.DS_Store`, `.git`) are skipped, and so are files
/// directly in `DIR` and anything nested deeper than a class folder. Classes and the files of
/// each class are sorted by Unicode code point, so the order (and the rows) are the same on every
/// machine. Symlinks are followed: a class folder or file may be a link.
///
/// The record's id is `<class>/<file>`, relative to `DIR` (read with `DIR` as the data
/// directory); its target is `<class>`. ``classes`` lists every class folder, empty ones
/// included, in code-point order: the label codes to give a ``LabelEncoder``.
///
/// ```swift
/// let train = try ClassFolderInventory(directory: "photos/train")
/// train.classes                   // ["cat", "dog"]
/// train.inventory[0]["id"]        // "cat/001.jpg"
/// train.inventory[0]["target"]    // "cat"
/// ```
public struct ClassFolderInventory: Sendable {
    /// The folder scanned (`DIR`).
    public let directory: String
    /// The class folders' names, sorted by code point.
    public let classes: [String]
    /// One record per file: columns `idColumn` (`<class>/<file>`) and `targetColumn` (`<class>`).
    public let inventory: Inventory

    /// Scans `directory`.
    /// - Parameters:
    ///   - directory: the folder holding one folder per class.
    ///   - idColumn: the column of ids (default `"id"`).
    ///   - targetColumn: the column of classes (default `"target"`).
    /// - Throws: ``InventoryError/unreadableFolder(path:reason:)`` naming a folder that cannot be
    ///   listed; ``InventoryError/noRecords(source:)`` when no class folder holds a file.
    public init(directory: String, idColumn: String = "id", targetColumn: String = "target") throws(InventoryError) {
        let root = directory.isEmpty ? "." : directory
        var classes = [String]()
        for name in try Self.entries(of: root) where Self.kind(of: Self.join(root, name)) == .folder {
            classes.append(name)
        }
        classes.sort(by: Self.codePointOrder)
        var ids = [String](), targets = [String]()
        for name in classes {
            let folder = Self.join(root, name)
            let files = try Self.entries(of: folder).filter { Self.kind(of: Self.join(folder, $0)) == .file }
            for file in files.sorted(by: Self.codePointOrder) {
                ids.append(name + "/" + file)
                targets.append(name)
            }
        }
        guard !ids.isEmpty else { throw .noRecords(source: root) }
        self.directory = directory
        self.classes = classes
        self.inventory = try Inventory(columns: [(idColumn, ids), (targetColumn, targets)], idColumn: .named(idColumn))
    }

    /// Whether `a` sorts before `b` by Unicode code points.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The names in `folder`, without `.`, `..` and other names starting with a dot.
    static func entries(of folder: String) throws(InventoryError) -> [String] {
        guard let stream = opendir(folder) else {
            throw .unreadableFolder(path: folder, reason: String(cString: strerror(errno)))
        }
        defer { closedir(stream) }
        var names = [String]()
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names
    }

    /// What a path is, following symlinks.
    enum Kind { case folder, file, other }

    static func kind(of path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .other }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .folder
        case S_IFREG: return .file
        default: return .other
        }
    }
}
