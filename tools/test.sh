#!/usr/bin/env bash
# Runs the whole test suite: builds everything (failing on any compiler warning in the project's
# own sources), then runs the Swift tests. Installs liblz4-dev first when it is missing.
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

echo "== swift test" >&2
swift test --skip-build
