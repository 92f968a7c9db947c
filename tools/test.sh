#!/usr/bin/env bash
# Runs the whole test suite: builds everything (failing on any compiler warning in the project's
# own sources), runs the Swift tests, then the Python package's tests in a virtual environment
# it creates (python/.venv). Installs liblz4-dev first when it is missing.
#   bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== swift build --build-tests" >&2
swift build --build-tests 2>&1 | tee "$log" | grep -E "error|warning: |Compiling|Build" | grep -v "^\[" >&2 || true
if grep -E "error:" "$log" >/dev/null; then
  echo "build failed" >&2
  exit 1
fi
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$log" >&2; then
  echo "the project's sources must build without warnings" >&2
  exit 1
fi

# The suites that measure this process's resident memory run alone, each in a process of its own,
# so that no other test's allocations count against their bounds.
alone="CachedEpochMemoryTests ReliabilityResourceBoundsTests HostileInventoryMemoryTests"
echo "== swift test" >&2
swift test --skip-build --skip "$(echo $alone | tr ' ' '|')"
for suite in $alone; do
  echo "== swift test ($suite, alone)" >&2
  swift test --skip-build --filter "$suite"
done

echo "== fuzz smoke (tools/fuzz --smoke: each libFuzzer target for 30 s)" >&2
bash tools/fuzz --smoke

echo "== python tests (python/run_tests.sh)" >&2
DATAGEN_CLI="$(swift build --show-bin-path)/datagen" bash python/run_tests.sh -q
