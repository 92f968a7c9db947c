#!/usr/bin/env bash
# Instructions per image of the --max-side resize (ImageResampler) alone, the way the build runs
# it: a 460 × 450 RGB image (the image set's mean size) shrunk to 256 × 250. Compiles
# Sources/DataGenerator/Decoders/ImageResampler.swift with a small driver (swiftc -O, no package
# build; its C loops, Sources/CImageKernels, with clang -O2, the variant chosen at run time as in
# the build: DATAGEN_KERNEL_ISA=baseline counts the baseline's), counts instructions under callgrind for 1 and for 11 resizes, and prints the difference
# over 10, so that process start and the driver's set-up cancel out. Needs swiftc and valgrind.
# Usage: tools/bench/resample-instructions.sh [RESAMPLER_SWIFT_FILE]
set -euo pipefail
source_file=${1:-"$(dirname "$0")/../../Sources/DataGenerator/Decoders/ImageResampler.swift"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$source_file" "$work/ImageResampler.swift"
cat > "$work/main.swift" <<'SWIFT'
@main struct Driver {
    static func main() {
        let resizes = Int(CommandLine.arguments[1])!
        let (height, width) = (450, 460)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var pixels = [UInt8](repeating: 0, count: height * width * 3)
        for i in pixels.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            pixels[i] = UInt8(truncatingIfNeeded: state)
        }
        var checksum = 0
        for _ in 0..<resizes {
            let out = ImageResampler.resize(pixels, height: height, width: width, channels: 3, toHeight: 250, width: 256)
            checksum &+= Int(out[out.count / 2])
        }
        print("checksum \(checksum)")
    }
}
SWIFT
kernels="$(dirname "$0")/../../Sources/CImageKernels"
extra=()
if grep -q CImageKernels "$work/ImageResampler.swift"; then
    clang -O2 -fPIC -I "$kernels/include" -c "$kernels/image_kernels.c" -o "$work/image_kernels.o"
    extra=(-I "$kernels/include" "$work/image_kernels.o")
fi
swiftc -O -wmo -parse-as-library "$work/main.swift" "$work/ImageResampler.swift" "${extra[@]}" -lm -o "$work/driver"
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$work/driver" "$1" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
one=$(count 1)
eleven=$(count 11)
echo "instructions per resize (460x450x3 -> 256x250): $(( (eleven - one) / 10 ))"
