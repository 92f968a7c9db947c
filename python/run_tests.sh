#!/usr/bin/env bash
# Creates python/.venv (if missing), installs the package with its test extras, and runs pytest.
# Usage: python/run_tests.sh [pytest arguments…]
# Environment: PYTHON (default python3), DATAGEN_CLI (a built datagen binary; default: the
# repository's .build/debug/datagen, built with swift build when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DATAGEN_VENV:-$here/.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here[test]"
cd "$here"
exec "$venv/bin/python" -m pytest "$@"
