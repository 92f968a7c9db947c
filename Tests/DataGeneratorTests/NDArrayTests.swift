import Testing
@testable import DataGenerator

@Suite struct NDArrayTests {
    @Test func stackingAddsAFirstAxis() throws {
        let a = NDArray([1, 2, 3] as [Int32])
        let b = NDArray([4, 5, 6] as [Int32])
        let batch = try NDArray.stack([a, b])
        #expect(batch.shape == [2, 3])
        #expect(batch.scalars(as: Int32.self) == [1, 2, 3, 4, 5, 6])
        #expect(batch.row(1) == b)
    }

    @Test func stackingArraysOfDifferentShapesNamesTheCulprit() {
        let a = NDArray([1, 2, 3] as [Int32])
        let b = NDArray([4, 5] as [Int32])
        #expect(throws: ArrayError.stackMismatch(index: 1, expected: ArraySpec(.int32, [3]), found: ArraySpec(.int32, [2]))) {
            try NDArray.stack([a, b])
        }
    }

    @Test func conversionClampsAndTruncatesIntegers() {
        let values = NDArray([-1.5, 0.9, 300.0, 255.0] as [Double])
        #expect(values.converted(to: .uint8).scalars(as: UInt8.self) == [0, 0, 255, 255])
        #expect(values.converted(to: .float32).scalars(as: Float.self) == [-1.5, 0.9, 300, 255])
    }

    @Test func everyDTypeRoundTripsThroughBytes() throws {
        for dtype in DType.allCases {
            let bytes = ScalarConversion.bytes(of: [0, 1, 2, 3, 4, 5], as: dtype)
            let array = try NDArray(dtype: dtype, shape: [2, 3], bytes: bytes)
            let expected: [Double] = dtype == .bool ? [0, 1, 1, 1, 1, 1] : [0, 1, 2, 3, 4, 5]
            #expect(array.doubles() == expected, "dtype \(dtype)")
            #expect(DType(code: dtype.code) == dtype)
        }
    }

    @Test func wrongByteCountIsRejected() {
        #expect(throws: ArrayError.self) { try NDArray(dtype: .float32, shape: [2], bytes: [0, 0, 0]) }
    }
}
