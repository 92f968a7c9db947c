"""The image-folder examples (python/examples/image_folder_keras.py and image_folder_torch.py):
each builds a cache from a small generated folder of JPEG files (tools/bench/make_image_set.py:
crops of two photographs that the installed wheels bundle, one class each) with `datagen cache build --from-folders`, then
trains its CNN through the engine's transforms and tells the two classes apart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import datagen
import datagen._engine

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "python" / "examples"


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    pytest.importorskip("PIL")
    pytest.importorskip("sklearn", reason="the generated set crops the photographs scikit-learn bundles")
    if not datagen.engine_available():
        pytest.skip("the examples' transforms run in the engine")
    folder = tmp_path_factory.mktemp("photos")
    result = subprocess.run([sys.executable, str(REPO / "tools" / "bench" / "make_image_set.py"), str(folder),
                             "--images", "240", "--classes", "2", "--long-side", "96", "128", "--seed", "3",
                             "--processes", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    classes = sorted(path.name for path in folder.iterdir() if path.is_dir())
    assert classes == ["n00000000", "n00000001"]
    assert sum(1 for _ in folder.glob("*/*")) == 240
    return folder


def _run_example(script: str, folder: Path, tmp_path: Path, cli) -> str:
    environment = dict(os.environ, KERAS_BACKEND="torch", PYTHONUNBUFFERED="1", DATAGEN_CLI=cli.binary)
    result = subprocess.run([sys.executable, str(EXAMPLES / script), str(tmp_path / "photos.dgcache"),
                             "--images", str(folder), "--max-side", "72", "--size", "48", "--epochs", "3",
                             "--batch-size", "16"],
                            cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _accuracy(output: str) -> tuple[float, float]:
    found = re.search(r"validation accuracy ([0-9.]+) \(chance ([0-9.]+)\)", output)
    assert found, output[-3000:]
    return float(found.group(1)), float(found.group(2))


def test_the_keras_example_builds_the_cache_and_learns_the_classes(image_folder, tmp_path, cli):
    pytest.importorskip("keras")
    pytest.importorskip("torch")
    output = _run_example("image_folder_keras.py", image_folder, tmp_path, cli)
    cache = datagen.open(tmp_path / "photos.dgcache")
    assert cache.rows == 240 and cache.columns["data"][0].name == "uint8"
    accuracy, chance = _accuracy(output)
    assert accuracy > chance + 0.2, output[-3000:]


def test_the_torch_example_builds_the_cache_and_learns_the_classes(image_folder, tmp_path, cli):
    pytest.importorskip("torch")
    output = _run_example("image_folder_torch.py", image_folder, tmp_path, cli)
    assert len(re.findall(r"^epoch \d+: loss", output, re.MULTILINE)) == 3
    accuracy, chance = _accuracy(output)
    assert accuracy > chance + 0.2, output[-3000:]
