#!/usr/bin/env bash
# Runs the main job on built-in demo data: `datagen demo` in a release build, which writes an
# MNIST-like data set of savetxt text files and an inventory CSV, then serves epochs from it.
# Installs liblz4-dev first when it is missing. Extra arguments go to `datagen demo`.
#   bash tools/demo.sh [--records N] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
swift build -c release --product datagen >&2
exec .build/release/datagen demo "$@"
