// The URL data encoder lives here, apart from the core library, so that the engine and its
// C API never link an HTTP stack (or Foundation).
import DataGenerator
