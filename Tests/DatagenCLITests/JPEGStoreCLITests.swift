import Foundation
import Testing

/// `datagen cache build --data image --image-store jpeg --quality Q`: the options, their help
/// and refusals, and a cache that `info` describes and `verify` decodes.
@Suite struct JPEGStoreCLITests {
    /// The image fixtures of the library's tests.
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DataGeneratorTests/Resources/images").standardized.path

    /// A folder holding a JPEG, an EXIF-rotated JPEG and a PNG, and its inventory.
    static func folder() throws -> (directory: String, inventory: String) {
        let directory = try CLI.temporaryDirectory()
        for name in ["photo.jpg", "rotated-6.jpg", "known.png"] {
            try FileManager.default.copyItem(atPath: images + "/" + name, toPath: directory + "/" + name)
        }
        let inventory = directory + "/inventory.csv"
        try "id,target\nphoto.jpg,a\nrotated-6.jpg,b\nknown.png,a\n".write(toFile: inventory, atomically: true, encoding: .utf8)
        return (directory, inventory)
    }

    @Test func theHelpDescribesTheJPEGStoreAndItsQuality() throws {
        let help = try CLI.run(["cache", "build", "--help"]).standardOutput
        #expect(help.contains("--image-store <image-store>") && help.contains("values: pixels, jpeg"))
        #expect(help.contains("--quality <quality>") && help.contains("default: 90"))
    }

    @Test func aJPEGStoreBuildIsVersion3AndVerifies() throws {
        let (directory, inventory) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/images.dgcache"
        let build = try CLI.run(["cache", "build", inventory, "-o", cache, "--data", "image", "--image-store", "jpeg",
                                 "--quality", "80", "--quiet"])
        #expect(build.status == 0, "\(build.standardError)")
        let info = try CLI.run(["cache", "info", cache, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.standardOutput.utf8)) as? [String: Any])
        #expect(object["format_version"] as? Int == 3)
        let column = try #require((object["columns"] as? [[String: Any]])?.first)
        #expect(column["encoding"] as? String == "jpeg" && column["codec"] as? String == "none")
        #expect((column["encoder"] as? String)?.hasSuffix("|jpeg(quality=80)@1") == true)
        let verify = try CLI.run(["cache", "verify", cache])
        #expect(verify.status == 0, "\(verify.standardError)")
        let show = try CLI.run(["cache", "show", cache, "--rows", "1", "--json"])
        #expect(show.status == 0 && show.standardOutput.contains("16"), "\(show.standardError)")  // rotated: 16 × 12
    }

    @Test func badJPEGStoreOptionsAreUsageErrors() throws {
        let (directory, inventory) = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [([String], String)] = [
            (["--data", "image", "--image-store", "jpeg", "--quality", "0"], "--quality takes 1 to 100"),
            (["--data", "text", "--image-store", "jpeg"], "it needs --data image"),
            (["--data", "image", "--image-store", "jpeg", "--base-url", "http://localhost:1/"], "--base-url"),
        ]
        for (options, message) in cases {
            let run = try CLI.run(["cache", "build", inventory, "-o", directory + "/x.dgcache"] + options)
            #expect(run.status == 2, "\(options)")
            #expect(run.standardError.contains(message), "\(run.standardError)")
        }
    }
}
