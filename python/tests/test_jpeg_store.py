"""`datagen cache build --data image --image-store jpeg`: JPEGs that fit are kept as their own bytes
and serve exactly the pixels store's pixels; the rest are re-encoded; the version-3 column is read by
both backends (the numpy backend decodes with Pillow, or refuses naming the engine backend)."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import datagen

pytest.importorskip("PIL")

from image_kinds import make_kinds  # noqa: E402

#: Kinds whose files fit as they are (8-bit grey or colour JPEGs needing no rotation): kept.
KEPT = {"jpeg-baseline-420", "jpeg-baseline-444", "jpeg-422", "jpeg-progressive", "jpeg-grey", "jpeg-exif-1"}


@pytest.fixture(scope="module")
def kinds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_kinds()


def _build(cli, kinds, tmp_path, *options):
    lines = ["id,target"]
    for name, (data, _) in kinds.items():
        (tmp_path / f"{name}.img").write_bytes(data)
        lines.append(f"{name}.img,{name.split('-')[0]}")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("\n".join(lines) + "\n")
    paths = {}
    for store in ("pixels", "jpeg"):
        paths[store] = tmp_path / f"{store}.dgcache"
        cli("cache", "build", inventory, "-o", paths[store], "--data", "image", "--image-store", store, "--quiet",
            *options)
    return paths


def _rows(cache):
    batch = cache.to_numpy()
    return {row_id[:-len(".img")]: batch["data"][(i,) + tuple(slice(0, int(d)) for d in batch["data_shapes"][i])]
            for i, row_id in enumerate(cache.ids)}


def test_kept_jpegs_serve_the_pixels_stores_pixels_and_the_rest_stay_close(cli, kinds, tmp_path):
    paths = _build(cli, kinds, tmp_path)
    jpeg = datagen.open(paths["jpeg"], backend="numpy")
    pixels = datagen.open(paths["pixels"], backend="numpy")
    assert jpeg.metadata["formatVersion"] == 3 and pixels.metadata["formatVersion"] == 2
    column = jpeg.metadata["columns"][0]
    assert column["encoding"] == "jpeg" and column["codec"] == "none"
    assert jpeg.columns == pixels.columns
    served, reference = _rows(jpeg), _rows(pixels)
    for name in kinds:
        assert served[name].shape == reference[name].shape, name
        if name in KEPT:
            assert np.array_equal(served[name], reference[name]), name
        elif name.startswith("jpeg") or name in ("png-rgb", "png-grey"):
            difference = np.abs(served[name].astype(int) - reference[name].astype(int)).mean()
            assert difference < 12, f"{name}: {difference}"
    assert jpeg.verify()["units_checked"] >= len(kinds)


def test_both_backends_serve_the_same_jpeg_store_batches(cli, kinds, tmp_path):
    paths = _build(cli, kinds, tmp_path, "--max-side", "32")
    numpy_cache = datagen.open(paths["jpeg"], backend="numpy")
    bench = cli("cache", "bench", paths["jpeg"], "--batch-size", "5", "--epochs", "2", "--seed", "1", "--json")
    import json
    digest = json.loads(bench.stdout)["digest"]
    assert numpy_cache.digest(batch_size=5, epochs=2, seed=1) == digest
    try:
        engine = datagen.open(paths["jpeg"], backend="engine")
    except datagen.EngineUnavailableError:
        pytest.skip("no engine library")
    assert engine.digest(batch_size=5, epochs=2, seed=1) == digest


def test_without_pillow_the_numpy_backend_refuses_naming_the_engine(cli, kinds, tmp_path, monkeypatch):
    paths = _build(cli, {name: kinds[name] for name in ("jpeg-grey", "png-rgb")}, tmp_path)
    cache = datagen.open(paths["jpeg"], backend="numpy")  # opening reads no row
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(datagen.OptionError, match="backend='engine'"):
        cache.to_numpy()


def test_a_jpeg_store_is_smaller_on_disk_than_pixels(cli, kinds, tmp_path):
    photos = {name: kinds[name] for name in KEPT}
    paths = _build(cli, photos, tmp_path)
    assert paths["jpeg"].stat().st_size < paths["pixels"].stat().st_size


def test_the_engine_transforms_a_jpeg_store_as_the_pixels_store(cli, kinds, tmp_path):
    paths = _build(cli, {name: kinds[name] for name in sorted(KEPT)}, tmp_path)
    try:
        caches = {store: datagen.open(path, backend="engine") for store, path in paths.items()}
    except datagen.EngineUnavailableError:
        pytest.skip("no engine library")
    for spec, largest, mean in (("center-crop(16)", 1, 0.05), ("resize-shorter(16),center-crop(16),flip", 255, 12)):
        served = {store: next(iter(cache.batches(batch_size=len(KEPT), shuffle="none", transform=spec)))["data"]
                  for store, cache in caches.items()}
        assert served["jpeg"].shape == served["pixels"].shape == (len(KEPT), 16, 16, 3)
        difference = np.abs(served["jpeg"].astype(int) - served["pixels"].astype(int))
        assert difference.max() <= largest and difference.mean() < mean, (spec, difference.max(), difference.mean())
