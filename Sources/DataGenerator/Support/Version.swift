/// The version of DataGenerator: the library, the `datagen` command line (`datagen --version`)
/// and the Python package (`python/pyproject.toml`, which a test keeps equal to it).
public let dataGeneratorVersion = "0.1.0"
