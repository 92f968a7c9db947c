import Testing
@testable import DataGenerator

@Suite("Version")
struct VersionTests {
    @Test("the library's version is the Python package's (python/pyproject.toml)")
    func versionMatchesThePythonPackage() throws {
        // Fixtures.resources is Tests/DataGeneratorTests/Resources: the package root is three up.
        let root = Fixtures.resources.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let pyproject = String(decoding: try FileIO.readAll(root + "/python/pyproject.toml"), as: UTF8.self)
        let versions = pyproject.split(separator: "\n").filter { $0.hasPrefix("version = ") }
        #expect(versions == ["version = \"\(dataGeneratorVersion)\""])
        #expect(dataGeneratorVersion.split(separator: ".").count == 3)
    }
}
