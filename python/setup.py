"""Builds the Swift engine (the CDataGenerator product) into the package when a toolchain exists.

`pip install ./python` runs `swift build -c release -Xswiftc -static-stdlib --product
CDataGenerator` in the repository (the parent of this directory) and copies the library to
`datagen/_lib/`. Without a Swift toolchain, or with DATAGEN_SKIP_ENGINE=1, the package installs
with the numpy backend alone.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _log(message):
    print(f"datagen setup: {message}", file=sys.stderr)


class BuildWithEngine(build_py):
    """build_py that also builds and ships libCDataGenerator.so."""

    def run(self):
        self.force = True  # copy every module even when build/ holds a copy with a newer time stamp
        super().run()
        library = self._build_engine()
        target = Path(self.build_lib) / "datagen" / "_lib"
        shutil.rmtree(target, ignore_errors=True)  # never ship a library left by an earlier build
        if library is not None:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library, target / "libCDataGenerator.so")
            _log(f"engine library installed from {library}")

    def _build_engine(self):
        if os.environ.get("DATAGEN_SKIP_ENGINE") == "1":
            _log("DATAGEN_SKIP_ENGINE=1: installing the numpy backend only")
            return None
        swift = shutil.which("swift")
        if swift is None or not (REPO / "Package.swift").exists():
            _log("no Swift toolchain (or no Package.swift next to python/): installing the numpy backend only")
            return None
        command = [swift, "build", "-c", "release", "-Xswiftc", "-static-stdlib", "--product", "CDataGenerator"]
        _log("building the engine: " + " ".join(command))
        result = subprocess.run(command, cwd=REPO)
        if result.returncode != 0:
            _log("the engine did not build: installing the numpy backend only")
            return None
        path = subprocess.run(command[:4] + ["--show-bin-path"], cwd=REPO, capture_output=True, text=True)
        library = Path(path.stdout.strip()) / "libCDataGenerator.so"
        if path.returncode != 0 or not library.exists():
            _log(f"{library} not found after the build: installing the numpy backend only")
            return None
        return library


setup(cmdclass={"build_py": BuildWithEngine})
