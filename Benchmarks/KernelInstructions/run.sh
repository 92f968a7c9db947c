#!/bin/bash
# Instructions per image of ImageTransformKernel.render, counted by callgrind (immune to the
# machine's load): compiles the kernel's sources (whole-module, -O, as a release build) with a
# driver that renders N random crops of one 250 x 256 x 3 image, then runs it under valgrind.
#   Benchmarks/KernelInstructions/run.sh [N] [SPEC]
# `... d` as a third argument to the binary prints a digest of every output instead (compare two
# kernels' outputs bit for bit: build each, run both with the same N, SPEC and `d`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../Sources/DataGenerator/ImageTransforms
out=${TMPDIR:-/tmp}/datagen-kernel-instructions
mkdir -p "$out"
swiftc -O -wmo -parse-as-library -module-name K \
    "$src"/{ImageTransformKernel,CropSampler,ImageTransform,TransformSpecParser}.swift \
    "$here"/Stubs.swift "$here"/main.swift -o "$out/kernel-bench"
n=${1:-100}
spec=${2:-"random-resized-crop(224),flip,normalize(imagenet),chw"}
"$out/kernel-bench" 0 "$spec" >/dev/null
base=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/kernel-bench" 0 "$spec" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,)
total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/kernel-bench" "$n" "$spec" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,)
echo "$spec: $(( (total - base) / n )) instructions per image ($n images)"
