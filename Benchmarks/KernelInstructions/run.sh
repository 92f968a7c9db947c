#!/bin/bash
# Instructions per image of ImageTransformKernel.render, counted by callgrind (immune to the
# machine's load): compiles the kernel's sources (whole-module, -O, as a release build) and its C
# loops (Sources/CImageKernels, clang -O2 as SwiftPM's release build) with a driver that renders
# N random crops of one 250 x 256 x 3 image, then runs it under valgrind.
#   Benchmarks/KernelInstructions/run.sh [N] [SPEC]
# `... d` as a third argument to the binary prints a digest of every output instead (compare two
# kernels' outputs bit for bit: build each, run both with the same N, SPEC and `d`).
# DATAGEN_KERNEL_ISA=baseline runs the C loops' baseline variant instead of AVX2; callgrind
# itself runs AVX2 code. KERNEL_CFLAGS adds flags to the C compile (experiments).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../Sources/DataGenerator/ImageTransforms
kernels=$here/../../Sources/CImageKernels
out=${TMPDIR:-/tmp}/datagen-kernel-instructions
mkdir -p "$out"
clang -O2 -c ${KERNEL_CFLAGS:-} -I "$kernels/include" "$kernels/image_kernels.c" -o "$out/image_kernels.o"
swiftc -O -wmo -parse-as-library -module-name K -I "$kernels/include" \
    "$src"/{ImageTransformKernel,CropSampler,ImageTransform,TransformSpecParser}.swift \
    "$here"/Stubs.swift "$here"/main.swift "$out/image_kernels.o" -o "$out/kernel-bench"
n=${1:-100}
spec=${2:-"random-resized-crop(224),flip,normalize(imagenet),chw"}
"$out/kernel-bench" 0 "$spec" >/dev/null
base=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/kernel-bench" 0 "$spec" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,)
total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/kernel-bench" "$n" "$spec" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,)
echo "$spec: $(( (total - base) / n )) instructions per image ($n images)"
