"""Test support: the `datagen` CLI (built from this repository) and cache fixtures written here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _datagen_binary():
    override = os.environ.get("DATAGEN_CLI")
    if override:
        return override
    binary = REPO / ".build" / "debug" / "datagen"
    if binary.exists():
        return str(binary)
    if shutil.which("swift") is None:
        return None
    result = subprocess.run(["swift", "build", "--product", "datagen"], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0 or not binary.exists():
        pytest.fail(f"swift build --product datagen failed:\n{result.stderr[-4000:]}")
    return str(binary)


@pytest.fixture(scope="session")
def cli():
    """Runs the `datagen` CLI: ``cli("cache", "info", path, "--json")`` → CompletedProcess."""
    binary = _datagen_binary()
    if binary is None:
        pytest.skip("no Swift toolchain: install Swift (swift build) or set DATAGEN_CLI to a built datagen binary")

    def run(*args, check=True):
        result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"datagen {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}")
        return result

    run.binary = binary
    return run


def cli_json(cli, *args):
    """The one JSON line a `--json` command prints."""
    return json.loads(cli(*args, "--json").stdout)


class Fixture:
    """A directory with an inventory (pandas layout: index, id, target) and one file per record."""

    def __init__(self, directory: Path, count: int, suffix: str, body, labels=None):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        lines = [",id,target"]
        for index in range(count):
            label = labels(index) if labels else f"cat_{index % 3}"
            lines.append(f"{index},rec{index},{label}")
            target = directory / f"rec{index}{suffix}"
            content = body(index)
            if isinstance(content, np.ndarray):
                with open(target, "wb") as handle:
                    np.save(handle, content, allow_pickle=False)
            elif isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                target.write_bytes(content)
        self.inventory = directory / "inventory.csv"
        self.inventory.write_text("\n".join(lines) + "\n")
        self.suffix = suffix

    def build(self, cli, name="out.dgcache", *options):
        path = self.directory / name
        cli("cache", "build", self.inventory, "-o", path, "--id-suffix", self.suffix, "--quiet", *options)
        return path


def _text_body(i):
    rng = np.random.default_rng(i)
    values = rng.integers(0, 100, size=(3, 4))
    return "\n".join(" ".join(str(v) for v in row) for row in values) + "\n"


def _npy_body(i):
    return (np.arange(6, dtype=np.int16).reshape(2, 3) * (i + 1) - i).astype(np.int16)


def _raw_body(i):
    return bytes((i * 7 + k) % 256 for k in range(300 if i % 4 == 0 else i % 5))


# Kinds of cache the tests build: name → (count, suffix, body, labels, build options).
KINDS = {
    "text-label-lz4": (150, ".txt", _text_body, None, ("--codec", "lz4")),
    "npy-onehot-lz4hc": (70, ".npy", _npy_body, None, ("--data", "npy", "--target-encoding", "onehot", "--codec", "lz4hc")),
    "raw-int-none": (40, ".dat", _raw_body, lambda i: str(i * 10 - 3),
                     ("--data", "raw", "--target-encoding", "int", "--codec", "none")),
    "raw-int-lz4": (1100, ".dat", _raw_body, lambda i: str(i % 7), ("--data", "raw", "--target-encoding", "int")),
    "utf8-float-lz4": (30, ".dat", lambda i: "héllo " * (i % 4) + str(i), lambda i: str(i / 4),
                       ("--data", "utf8", "--target-encoding", "float")),
    "text-none-lz4": (25, ".txt", lambda i: f"{i} {i + 0.5} {-i}\n", None, ("--target-encoding", "none", "--dtype", "float64")),
    "big-float-lz4": (700, ".npy", lambda i: np.full((8, 10), i % 13, dtype=np.float32)
                      + np.arange(80, dtype=np.float32).reshape(8, 10) / 7, lambda i: str(i % 10),
                      ("--data", "npy")),
}


@pytest.fixture(scope="session")
def caches(cli, tmp_path_factory):
    """Every kind of :data:`KINDS` built once: ``{kind: path}``."""
    root = tmp_path_factory.mktemp("caches")
    built = {}
    for kind, (count, suffix, body, labels, options) in KINDS.items():
        fixture = Fixture(root / kind, count, suffix, body, labels)
        built[kind] = fixture.build(cli, "out.dgcache", *options)
    return built


@pytest.fixture(scope="session")
def digits(cli, tmp_path_factory):
    """scikit-learn's bundled handwritten digits (1,797 images of 8×8, values 0…16) written as
    text files and built into a cache with `datagen cache build` (pixels scaled to 0…1, one-hot
    targets): the cache's path."""
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")
    images, labels = datasets.load_digits(return_X_y=True)
    fixture = Fixture(tmp_path_factory.mktemp("digits"), len(images), ".txt",
                      lambda i: "\n".join(" ".join(str(int(v)) for v in row) for row in images[i].reshape(8, 8)) + "\n",
                      lambda i: str(int(labels[i])))
    return fixture.build(cli, "digits.dgcache", "--scale", "0.0625", "--shape", "64", "--target-encoding", "onehot")
