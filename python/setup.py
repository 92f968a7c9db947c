"""Builds the Swift engine (the CDataGenerator product) into the package.

`pip install ./python` runs `swift build -c release -Xswiftc -static-stdlib --product
CDataGenerator` in the repository (the parent of this directory, or $DATAGEN_SWIFT_PACKAGE),
streaming its progress to standard error (`pip install -v` shows it), and copies the library to
`datagen/_lib/`. The wheel is then platform-tagged (`py3-none-linux_x86_64`: the library is
native code, loaded through ctypes, so any Python 3 will do). When the engine cannot be built (no
Swift toolchain, no Package.swift, a failed build) the install FAILS, saying why and how to skip
it: with DATAGEN_SKIP_ENGINE=1 the package installs with the numpy backend alone, as a pure
`py3-none-any` wheel.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:  # setuptools >= 70.1 has its own; before, the wheel package's.
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover (older setuptools)
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
LIBRARY = "libCDataGenerator.so"
SKIP_HINT = "set DATAGEN_SKIP_ENGINE=1 to install the numpy backend only (pure Python, no engine)"


def _log(message):
    print(f"datagen setup: {message}", file=sys.stderr, flush=True)


def _engine_wanted():
    return os.environ.get("DATAGEN_SKIP_ENGINE") != "1"


def _swift_package():
    return Path(os.environ.get("DATAGEN_SWIFT_PACKAGE") or HERE.parent).resolve()


class EngineBuildError(SystemExit):
    """The engine did not build: the install stops with this message (exit status 1)."""

    def __init__(self, reason):
        super().__init__(f"datagen setup: error: {reason}\n"
                         "datagen setup: the Swift engine (libCDataGenerator.so) is part of this package; "
                         f"{SKIP_HINT}.")


class BuildWithEngine(build_py):
    """build_py that also builds and ships libCDataGenerator.so."""

    def run(self):
        self.force = True  # copy every module even when build/ holds a copy with a newer time stamp
        super().run()
        target = Path(self.build_lib) / "datagen" / "_lib"
        shutil.rmtree(target, ignore_errors=True)  # never ship a library left by an earlier build
        if not _engine_wanted():
            _log("DATAGEN_SKIP_ENGINE=1: installing the numpy backend only (no engine)")
            return
        library = self._build_engine()
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library, target / LIBRARY)
        _log(f"engine library installed from {library}")

    def _build_engine(self):
        package = _swift_package()
        swift = shutil.which("swift")
        if swift is None:
            raise EngineBuildError("no Swift toolchain: `swift` is not on PATH (install Swift 6.1 or later, "
                                   "see tools/install-deps.sh)")
        if not (package / "Package.swift").exists():
            raise EngineBuildError(f"no Package.swift in {package}: install from a checkout of the repository "
                                   "(pip install ./python), or set DATAGEN_SWIFT_PACKAGE to one")
        command = [swift, "build", "-c", "release", "-Xswiftc", "-static-stdlib", "--product", "CDataGenerator"]
        _log(f"building the engine in {package} (a few minutes the first time; pip install -v shows the "
             "progress): " + " ".join(command))
        # The build's output goes to standard error as it comes: pip shows it with -v, and keeps
        # it for the error report when the build fails.
        result = subprocess.run(command, cwd=package, stdout=sys.stderr, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise EngineBuildError(f"the engine did not build: `{' '.join(command)}` exited {result.returncode} "
                                   "(its output is above)")
        path = subprocess.run(command[:4] + ["--show-bin-path"], cwd=package, capture_output=True, text=True)
        library = Path(path.stdout.strip()) / LIBRARY
        if path.returncode != 0 or not library.exists():
            raise EngineBuildError(f"{library} is missing after the build")
        return library


class EngineDistribution(Distribution):
    """A distribution holding native code when the engine is built: its files go to the platform's
    library folder and its wheel is not pure."""

    def has_ext_modules(self):
        return _engine_wanted()


class PlatformWheel(bdist_wheel):
    """A wheel holding the engine is tagged for its platform (py3-none-<platform>: the library is
    loaded through ctypes, by any Python 3); without the engine it stays pure (py3-none-any)."""

    def get_tag(self):
        python, abi, platform = super().get_tag()
        if self.root_is_pure:
            return python, abi, platform
        return "py3", "none", platform


setup(distclass=EngineDistribution, cmdclass={"build_py": BuildWithEngine, "bdist_wheel": PlatformWheel})
