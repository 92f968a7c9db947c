import Testing
@testable import DataGenerator
#if canImport(Glibc)
import Glibc
#endif

/// Inventories made from `DIR/<class>/<file>` (``ClassFolderInventory``), as torchvision's
/// ImageFolder, and label codes fixed by a class list (``LabelEncoder/init(fixedClasses:)``).
@Suite("Class folders")
struct ClassFolderTests {
    /// Creates `paths` (files, with `/`-separated folders made as needed) under `root`.
    static func make(_ paths: [String], under root: String) throws {
        for path in paths {
            let parts = path.split(separator: "/").map(String.init)
            var folder = root
            for part in parts.dropLast() {
                folder += "/" + part
                _ = mkdir(folder, 0o755)
            }
            try Fixtures.write("\(path)\n", to: root + "/" + path)
        }
    }

    @Test("classes are the folders one level below, files directly inside, dot-entries skipped, both sorted by code point")
    func layoutIsReadAsImageFolderReadsIt() throws {
        try CacheFixtures.withDirectory { root in
            try Self.make(["dog/b.png", "dog/a.png", "dog/.DS_Store", "dog/nested/deep.png", "Zebra/1.png",
                           "cat/10.png", "cat/2.png", "cat/é.png", "cat/z.png", ".git/HEAD", "top.png"], under: root)
            #expect(mkdir(root + "/empty", 0o755) == 0)
            let scan = try ClassFolderInventory(directory: root)
            #expect(scan.classes == ["Zebra", "cat", "dog", "empty"])
            #expect(try scan.inventory.column("id") == ["Zebra/1.png", "cat/10.png", "cat/2.png", "cat/z.png", "cat/é.png",
                                                        "dog/a.png", "dog/b.png"])
            #expect(try scan.inventory.column("target") == ["Zebra", "cat", "cat", "cat", "cat", "dog", "dog"])
            #expect(scan.inventory.idColumn == "id")
            #expect(scan.inventory[0].line == nil && scan.inventory[0].displayName == "row 0 (id 'Zebra/1.png')")
            #expect(try ClassFolderInventory(directory: root).inventory == scan.inventory, "the same scan twice")
        }
    }

    @Test("symlinked class folders and files are followed; column names can be chosen")
    func symlinksAreFollowed() throws {
        try CacheFixtures.withDirectory { root in
            try Self.make(["store/x.png", "data/cat/a.png"], under: root)
            #expect(symlink("../store", root + "/data/bird") == 0)
            #expect(symlink("a.png", root + "/data/cat/b.png") == 0)
            #expect(symlink("missing.png", root + "/data/cat/broken.png") == 0)
            let scan = try ClassFolderInventory(directory: root + "/data", idColumn: "path", targetColumn: "label")
            #expect(try scan.inventory.column("path") == ["bird/x.png", "cat/a.png", "cat/b.png"])
            #expect(try scan.inventory.column("label") == ["bird", "cat", "cat"])
        }
    }

    @Test("a folder without files says it holds no records; a missing folder names it")
    func emptyAndMissingFoldersAreErrors() throws {
        try CacheFixtures.withDirectory { root in
            #expect(mkdir(root + "/only-a-class", 0o755) == 0)
            #expect(throws: InventoryError.noRecords(source: root)) { try ClassFolderInventory(directory: root) }
            let missing = #expect(throws: InventoryError.self) { try ClassFolderInventory(directory: root + "/nope") }
            #expect(missing?.description.contains(root + "/nope") == true)
        }
    }

    @Test("files are read under the folder with a file encoder, and a build serves them in scan order")
    func aBuildReadsTheScannedFiles() throws {
        try CacheFixtures.withDirectory { root in
            let data = root + "/train"
            _ = mkdir(data, 0o755)
            for (path, values) in [("b/1.txt", "4 5 6"), ("a/2.txt", "1 2 3"), ("a/1.txt", "7 8 9")] {
                try Self.make([path], under: data)
                try Fixtures.write(values, to: data + "/" + path)
            }
            let scan = try ClassFolderInventory(directory: data)
            var dataSet = GeneratorDataSet(inventory: scan.inventory, dataEncoder: PathsAsGivenTests.encoder(scan.directory),
                                           targetEncoder: RecordTargetEncoder.label().fixingClasses(scan.classes))
            try dataSet.fitEncoders()
            let (cache, _) = try CacheFixtures.build(dataSet, in: root)
            #expect(try cache.ids() == ["a/1.txt", "a/2.txt", "b/1.txt"])
            #expect(try cache.gather(column: "data", rows: [0, 1, 2]).doubles() == [7, 8, 9, 1, 2, 3, 4, 5, 6])
            #expect(try cache.gather(column: "target", rows: [0, 1, 2]).doubles() == [0, 0, 1])
            #expect(cache.classes == ["a", "b"])
        }
    }

    @Test("fixed classes keep their order and codes whatever labels the inventory holds")
    func fixedClassesKeepTheirCodes() throws {
        let validation = try Inventory(csvText: "id,target\nv1,dog\nv2,dog\n")
        var labels = RecordTargetEncoder.label().fixingClasses(["cat", "dog", "eel"])
        try labels.fit(on: validation)
        #expect(labels.classes == ["cat", "dog", "eel"])
        #expect(try labels.encodeBatch(validation.records).doubles() == [1, 1])
        var fitted = LabelEncoder()
        try fitted.fit(.labels(["eel", "cat", "dog"]))
        #expect(LabelEncoder(fixedClasses: ["cat", "dog", "eel"]).identity == fitted.identity)
        var oneHot = RecordTargetEncoder.oneHot().fixingClasses(["cat", "dog", "eel"])
        try oneHot.fit(on: validation)
        #expect(oneHot.outputSpec == ArraySpec(.float32, [3]))
        #expect(try oneHot.encodeBatch(validation.records).doubles() == [0, 1, 0, 0, 1, 0])
    }

    @Test("a label outside fixed classes is an error naming the record, its line and the classes")
    func labelsOutsideFixedClassesAreErrors() throws {
        let inventory = try Inventory(csvText: "id,target\nv1,dog\nv2,bird\n", source: "val.csv")
        var labels = RecordTargetEncoder.label().fixingClasses(["cat", "dog"])
        let error = #expect(throws: EncodingError.self) { try labels.fit(on: inventory) }
        #expect(error == .labelNotInClasses(label: "bird", row: 1, id: "v2", column: "target", classes: ["cat", "dog"], line: 3))
        #expect(error?.description == "row 1 (line 3), id 'v2': label 'bird' in column 'target' is not one of the 2 classes given (cat, dog)")
        var fitted = RecordTargetEncoder.label().fixingClasses(["cat", "dog"])
        try fitted.fit(on: try inventory.selecting(rows: [0]))
        #expect(throws: EncodingError.labelNotInClasses(label: "bird", row: 1, id: "v2", column: "target", classes: ["cat", "dog"], line: 3)) {
            try fitted.encodeBatch(inventory.records)
        }
    }
}
