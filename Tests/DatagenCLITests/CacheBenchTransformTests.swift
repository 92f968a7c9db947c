import Foundation
import Testing

/// `datagen cache bench --transform`: transformed image columns served through the lending path.
@Suite struct CacheBenchTransformTests {
    static let knownPNG = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DataGeneratorTests/Resources/images/known.png")

    @Test func aTransformedImageCacheGivesOneDigestForAnyWorkersAndABadSpecNamesItsPosition() throws {
        let png = try Data(contentsOf: Self.knownPNG)
        let fixture = try CacheCommandTests.Fixture(count: 24, suffix: ".png") { _ in png }
        defer { fixture.remove() }
        let build = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".png", "--data", "image", "--quiet"])
        #expect(build.status == 0, "\(build.standardError)")
        let common = ["cache", "bench", fixture.cache, "--batch-size", "5", "--epochs", "2", "--seed", "3", "--json",
                      "--transform", "random-resized-crop(6),flip,normalize(imagenet),chw"]
        var digests = Set<String>()
        for workers in ["1", "2"] {
            let run = try CLI.run(common + ["--workers", workers])
            #expect(run.status == 0, "\(run.standardError)")
            let object = try #require(try CacheCommandTests.json(run.standardOutput) as? [String: Any])
            #expect(object["path"] as? String == "lending")
            #expect(object["transform"] as? String == "random-resized-crop(6),flip,normalize(imagenet),chw")
            digests.insert(try #require(object["digest"] as? String))
        }
        #expect(digests.count == 1)
        let named = try CLI.run(common + ["--transform-column", "data"])
        #expect(named.status == 0, "\(named.standardError)")
        let bad = try CLI.run(["cache", "bench", fixture.cache, "--transform", "center-crop(6),blur"])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("unknown transform 'blur' at character 16"), "\(bad.standardError)")
        let missing = try CLI.run(["cache", "bench", fixture.cache, "--transform", "center-crop(6)", "--transform-column", "nope"])
        #expect(missing.status == 1 && missing.standardError.contains("nope"), "\(missing.standardError)")
    }

    @Test func aTransformOfTheTargetColumnSaysItIsNotAnImageColumnAndWhatItHolds() throws {
        let png = try Data(contentsOf: Self.knownPNG)
        let fixture = try CacheCommandTests.Fixture(count: 3, suffix: ".png") { _ in png }
        defer { fixture.remove() }
        let build = try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".png", "--data", "image",
                                 "--target", "onehot", "--quiet"])
        #expect(build.status == 0, "\(build.standardError)")
        let run = try CLI.run(["cache", "bench", fixture.cache, "--transform", "center-crop(2)", "--transform-column", "target"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("column 'target': not an image column, it holds the targets ("), "\(run.standardError)")
        #expect(!run.standardError.contains("has no column"), "\(run.standardError)")
    }

    @Test func showPrintsTheImageColumnAsServedThroughATransform() throws {
        let png = try Data(contentsOf: Self.knownPNG)
        let fixture = try CacheCommandTests.Fixture(count: 3, suffix: ".png") { _ in png }
        defer { fixture.remove() }
        #expect(try CLI.run(["cache", "build", fixture.inventory, "-o", fixture.cache, "--id-suffix", ".png", "--data", "image", "--quiet"]).status == 0)
        let shown = try CLI.run(["cache", "show", fixture.cache, "--rows", "0:2", "--json", "--transform", "center-crop(3),chw"])
        #expect(shown.status == 0, "\(shown.standardError)")
        let rows = try #require(try CacheCommandTests.json(shown.standardOutput) as? [[String: Any]])
        #expect(rows.count == 2)
        #expect((rows[0]["shapes"] as? [String: Any])?["data"] as? [Int] == [3, 3, 3])
        #expect(((rows[0]["values"] as? [String: Any])?["data"] as? [Int])?.count == 27)
        let bad = try CLI.run(["cache", "show", fixture.cache, "--transform", "center-crop(3),,chw"])
        #expect(bad.status == 2 && bad.standardError.contains("character 16"), "\(bad.standardError)")
    }
}
