// What the kernel's sources need from the rest of the engine, for the instruction-count harness
// only: a stand-in for the augmentation stream (SplitMix64-like, so the crops vary per image; its
// digests are not the engine's) and the output dtype.
struct AugmentationRandom {
    var state: UInt64
    init(seed: UInt64, epoch: Int, key: UInt64) { state = seed ^ UInt64(epoch) &* 0x9E37 ^ key }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum DType { case uint8, float32 }
