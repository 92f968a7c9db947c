"""Packaging as Python users expect: the wheel's tag and contents, a loud failure when the engine
does not build, and an import that needs only numpy and lz4."""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import datagen

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
SWIFT = shutil.which("swift")


def _package_copy(tmp_path):
    """python/ without its venv, build folder and tests: pip builds the copy, so a test never
    touches the build/ folder that run_tests.sh's install uses."""
    copy = tmp_path / "python"
    copy.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(PYTHON_DIR / name, copy / name)
    shutil.copytree(PYTHON_DIR / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return copy


def _pip_wheel(tmp_path, **environment):
    """``pip wheel --no-deps`` of the package (engine built in the repository, or as the environment
    says): the CompletedProcess and the wheels it wrote."""
    out = tmp_path / "wheels"
    env = {key: value for key, value in os.environ.items() if key != "DATAGEN_SKIP_ENGINE"}
    env.update({"DATAGEN_SWIFT_PACKAGE": str(REPO), **environment})
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                             "-v", "-w", str(out), str(_package_copy(tmp_path))],
                            capture_output=True, text=True, env=env)
    return result, sorted(out.glob("*.whl")) if out.exists() else []


def _wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name for name in names if name.endswith(".dist-info/WHEEL"))
        return names, archive.read(info).decode()


@pytest.mark.skipif(SWIFT is None or not (REPO / "Package.swift").exists(),
                    reason="no Swift toolchain: the engine cannot be built here")
def test_a_wheel_holding_the_engine_is_tagged_for_its_platform(tmp_path):
    # Reuses the repository's release build (run_tests.sh's install made it): swift build only
    # checks that it is up to date.
    result, wheels = _pip_wheel(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert [wheel.name for wheel in wheels] == [f"datagen-{datagen.__version__}-py3-none-{platform}.whl"]
    names, info = _wheel_metadata(wheels[0])
    assert "datagen/_lib/libCDataGenerator.so" in names
    assert "datagen/py.typed" in names
    assert "Root-Is-Purelib: false" in info
    assert "Tag: py3-none-" + platform in info
    # The Swift build's progress is streamed (pip -v shows it).
    assert "building the engine in" in result.stderr + result.stdout
    assert "swift build -c release" in result.stderr + result.stdout


def test_a_wheel_without_the_engine_stays_pure(tmp_path):
    result, wheels = _pip_wheel(tmp_path, DATAGEN_SKIP_ENGINE="1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [wheel.name for wheel in wheels] == [f"datagen-{datagen.__version__}-py3-none-any.whl"]
    names, info = _wheel_metadata(wheels[0])
    assert not any("_lib/" in name for name in names)
    assert "datagen/py.typed" in names and "datagen/_protocol.py" in names
    assert "Root-Is-Purelib: true" in info


def _path_without_swift():
    return os.pathsep.join(entry for entry in os.environ.get("PATH", "").split(os.pathsep)
                           if entry and not (Path(entry) / "swift").exists())


def test_the_install_fails_loudly_without_a_swift_toolchain(tmp_path):
    result, wheels = _pip_wheel(tmp_path, PATH=_path_without_swift())
    output = result.stdout + result.stderr
    assert result.returncode != 0 and wheels == []
    assert "no Swift toolchain: `swift` is not on PATH" in output
    assert "set DATAGEN_SKIP_ENGINE=1 to install the numpy backend only" in output


@pytest.mark.skipif(SWIFT is None, reason="no Swift toolchain: a failing swift build cannot be run")
def test_the_install_fails_loudly_when_the_engine_does_not_build(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Package.swift").write_text("// swift-tools-version: 6.1\nthis is not a manifest\n")
    result, wheels = _pip_wheel(tmp_path, DATAGEN_SWIFT_PACKAGE=str(broken))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and wheels == []
    assert "the engine did not build: `" in output and "--product CDataGenerator` exited" in output
    assert "set DATAGEN_SKIP_ENGINE=1 to install the numpy backend only" in output


# A sys.meta_path finder refusing the extras' modules: importing datagen and reading a cache must
# not even try them.
_BLOCKER = """
import sys
BLOCKED = {"pandas", "torch", "keras", "tqdm", "cloudpickle", "sklearn", "tensorflow", "jax"}
tried = []

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            tried.append(name)
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Blocker())
before = set(sys.modules)
import datagen
cache = datagen.open(sys.argv[1], backend=sys.argv[2], memory_budget="64MiB")
batch = next(iter(cache.batches(batch_size=4, shuffle="full", seed=1)))
cache.to_numpy()
new = {name.split(".")[0] for name in set(sys.modules) - before}
stdlib = getattr(sys, "stdlib_module_names", None)  # Python 3.10+; before, only the extras are checked
third_party = sorted(name for name in new if stdlib is not None and name not in stdlib and not name.startswith("_"))
print(repr((tried, third_party, sorted(batch))))
"""


@pytest.mark.parametrize("backend", ["numpy", "engine"])
def test_import_and_open_need_only_numpy_and_lz4(caches, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    result = subprocess.run([sys.executable, "-c", _BLOCKER, str(caches["text-label-lz4"]), backend],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    tried, third_party, columns = eval(result.stdout)  # the repr of plain lists
    assert tried == []
    assert set(third_party) <= {"datagen", "numpy", "lz4"}, third_party
    assert columns == ["data", "target"]


def test_the_extras_are_declared():
    metadata = importlib.metadata.metadata("datagen")
    assert {"torch", "keras", "build", "compat", "test"} <= set(metadata.get_all("Provides-Extra"))
    requirements = metadata.get_all("Requires-Dist")
    assert [r for r in requirements if "extra" not in r] == ["numpy>=1.22", "lz4>=4.0"]
    for package in ("pandas", "cloudpickle", "tqdm"):
        assert any(r.startswith(package) and 'extra == "build"' in r for r in requirements), package
    for package in ("pandas", "scikit-learn"):  # datagen.compat, the seed's API
        assert any(r.startswith(package) and 'extra == "compat"' in r for r in requirements), package
    assert any(r.startswith("mypy") and 'extra == "test"' in r for r in requirements)
