#!/usr/bin/env bash
# Creates python/.venv (if missing), installs the package with its test extras, runs mypy on src/datagen
# (strict; the run fails on a type error), then pytest.
# Usage: python/run_tests.sh [pytest arguments…]
# Environment: PYTHON (default python3), DATAGEN_CLI (a built datagen binary; default: the
# repository's .build/debug/datagen, built with swift build when missing), DATAGEN_TEST_TRAINING=0
# (skip installing torch and keras; scikit-learn and pandas come with the compat extra, which
# datagen.compat's tests need), DATAGEN_TEST_RAY=0 (skip installing Ray: datagen.distributed's
# tests are then skipped), DATAGEN_SKIP_ENGINE=1 (numpy backend only).
export KERAS_BACKEND="${KERAS_BACKEND:-torch}"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DATAGEN_VENV:-$here/.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
rm -rf "$here/build"  # setuptools' in-tree build folder: never install from a stale copy
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here[test,compat]"
# The adapters' training tests need torch (the CPU wheel: a plain `pip install torch` fetches a 3 GB
# CUDA build), keras and scikit-learn (its bundled digits); they are skipped when these are missing.
if [ "${DATAGEN_TEST_TRAINING:-1}" != "0" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "torch==2.13.0+cpu" keras scikit-learn \
        || echo "run_tests.sh: torch/keras/scikit-learn not installed: the training tests will be skipped" >&2
fi
# Ray (datagen.distributed's tests start a two-node cluster): from PyPI, about 15 s. A failed install
# fails the run (the tests would only be skipped without it), unless DATAGEN_TEST_RAY=0 says to skip them.
if [ "${DATAGEN_TEST_RAY:-1}" != "0" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ray>=2.9" \
        || { echo "run_tests.sh: ray did not install (DATAGEN_TEST_RAY=0 skips its tests)" >&2; exit 1; }
fi
cd "$here"
# The type check (strict, configured in pyproject.toml's [tool.mypy]): a type error fails the run.
"$venv/bin/python" -m mypy
exec "$venv/bin/python" -m pytest "$@"
