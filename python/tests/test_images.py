"""`datagen cache build --data image`: every stored pixel equals Pillow's
``ImageOps.exif_transpose(Image.open(f)).convert("RGB")`` (16-bit samples as v >> 8), for every
kind of JPEG and PNG; `--channels 1`, `--max-side` (Pillow's bilinear resize), bad files, and the
variable-shape column read by both backends."""

from __future__ import annotations

import json
import warnings
import zlib

import numpy as np
import pytest

import datagen

pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from image_kinds import grey, make_kinds  # noqa: E402


@pytest.fixture(scope="module")
def kinds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's note on palette transparency given as bytes
        return make_kinds()


def _folder(tmp_path, kinds, extra=()):
    """An inventory of every kind (file names without a telling extension: recognised by bytes)."""
    lines = ["id,target"]
    for name, (data, _) in kinds.items():
        (tmp_path / f"{name}.img").write_bytes(data)
        lines.append(f"{name}.img,{name.split('-')[0]}")
    for name, data in extra:
        (tmp_path / name).write_bytes(data)
        lines.append(f"{name},bad")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("\n".join(lines) + "\n")
    return inventory


def _rows(cache):
    """{id: stored pixels} read back through the cache's variable-shape column."""
    batch = cache.to_numpy()
    out = {}
    for i, row_id in enumerate(cache.ids):
        shape = tuple(int(d) for d in batch["data_shapes"][i])
        out[row_id[:-len(".img")]] = batch["data"][(i,) + tuple(slice(0, d) for d in shape)]
    return out


def _expected(kinds, name):
    data, reference = kinds[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reference(data)


def test_every_stored_pixel_equals_pillows(cli, kinds, tmp_path):
    inventory = _folder(tmp_path, kinds)
    path = tmp_path / "images.dgcache"
    cli("cache", "build", inventory, "-o", path, "--data", "image", "--quiet")
    cache = datagen.open(path, backend="numpy")
    assert cache.columns["data"] == (np.dtype("uint8"), (None, None, 3))
    assert cache.metadata["formatVersion"] == 2
    rows = _rows(cache)
    assert set(rows) == set(kinds)
    for name in kinds:
        expected = _expected(kinds, name)
        assert rows[name].shape == expected.shape, name
        assert np.array_equal(rows[name], expected), f"{name}: {np.abs(rows[name].astype(int) - expected).max()}"
    # CMYK with a real K channel, progressive and EXIF-rotated JPEGs are among them.
    assert {"jpeg-cmyk", "jpeg-ycck", "jpeg-progressive", "jpeg-exif-6", "png-rgba-16-interlaced"} <= set(rows)
    assert rows["jpeg-exif-6"].shape[:2] == (34, 19)
    assert rows["png-exif-6"].shape[:2] == (29, 23)  # a PNG's eXIf chunk turns it too
    assert cache.verify()["units_checked"] > 0


def test_one_channel_is_pillows_grey(cli, kinds, tmp_path):
    inventory = _folder(tmp_path, kinds)
    path = tmp_path / "grey.dgcache"
    cli("cache", "build", inventory, "-o", path, "--data", "image", "--channels", "1", "--quiet")
    cache = datagen.open(path, backend="numpy")
    assert cache.columns["data"] == (np.dtype("uint8"), (None, None, 1))
    for name, pixels in _rows(cache).items():
        assert np.array_equal(pixels[..., 0], grey(_expected(kinds, name))), name


def test_max_side_resizes_as_pillows_bilinear(cli, kinds, tmp_path):
    inventory = _folder(tmp_path, kinds)
    path = tmp_path / "small.dgcache"
    cli("cache", "build", inventory, "-o", path, "--data", "image", "--max-side", "20", "--quiet")
    for name, pixels in _rows(datagen.open(path, backend="numpy")).items():
        expected = _expected(kinds, name)
        height, width = expected.shape[:2]
        longer = max(height, width)
        if longer > 20:
            def side(s):
                return 20 if s == longer else max(1, int(s * 20 / longer + 0.5))
            expected = np.asarray(Image.fromarray(expected).resize((side(width), side(height)), Image.BILINEAR))
        assert max(pixels.shape[:2]) <= 20
        assert np.array_equal(pixels, expected), name


def test_bad_files_stop_the_build_or_are_skipped_and_listed(cli, kinds, tmp_path):
    photo = kinds["jpeg-baseline-420"][0]
    png = bytearray(kinds["png-rgb"][0])
    png[-16] ^= 1  # inside IEND's neighbour: the last chunk's CRC or data
    header = bytearray(kinds["png-grey"][0])
    header[16:24] = (100000).to_bytes(4, "big") * 2  # IHDR's width and height, CRC rewritten
    header[29:33] = zlib.crc32(bytes(header[12:29])).to_bytes(4, "big")
    huge = bytes(header)
    bad = [("truncated.jpg", photo[:len(photo) // 2]), ("empty.png", b""), ("text.jpg", b"1 2 3\n"),
           ("badcrc.png", bytes(png)), ("huge.png", huge)]
    inventory = _folder(tmp_path, {"png-rgb": kinds["png-rgb"]}, extra=bad)
    failed = cli("cache", "build", inventory, "-o", tmp_path / "x.dgcache", "--data", "image", "--quiet", check=False)
    assert failed.returncode == 1
    assert "row 1" in failed.stderr and "truncated.jpg" in failed.stderr and "truncated" in failed.stderr
    path = tmp_path / "skip.dgcache"
    cli("cache", "build", inventory, "-o", path, "--data", "image", "--on-error", "skip", "--quiet")
    cache = datagen.open(path, backend="numpy")
    assert cache.rows == 1
    skipped = {entry["id"]: entry["reason"] for entry in cache.metadata["skipped"]}
    assert set(skipped) == {name for name, _ in bad}
    assert "truncated" in skipped["truncated.jpg"]
    assert "empty" in skipped["empty.png"]
    assert "not a JPEG or PNG" in skipped["text.jpg"]
    assert "100000×100000" in skipped["huge.png"] and "--max-pixels" in skipped["huge.png"]


def test_padded_batches_carry_each_rows_shape_on_both_backends(cli, kinds, tmp_path):
    inventory = _folder(tmp_path, kinds)
    path = tmp_path / "images.dgcache"
    cli("cache", "build", inventory, "-o", path, "--data", "image", "--quiet")
    numpy_cache = datagen.open(path, backend="numpy")
    batch = next(iter(numpy_cache.batches(batch_size=5, shuffle="full", seed=1)))
    shapes = batch["data_shapes"]
    assert shapes.dtype == np.int64 and shapes.shape == (5, 3)
    assert batch["data"].shape == (5, int(shapes[:, 0].max()), int(shapes[:, 1].max()), 3)
    for i, (h, w, _) in enumerate(shapes):
        assert not batch["data"][i, h:].any() and not batch["data"][i, :, w:].any()
    bench = cli("cache", "bench", path, "--batch-size", "5", "--epochs", "2", "--seed", "1", "--json")
    digest = json.loads(bench.stdout)["digest"]
    assert numpy_cache.digest(batch_size=5, epochs=2, seed=1) == digest
    try:
        engine = datagen.open(path, backend="engine")
    except datagen.EngineUnavailableError:
        pytest.skip("no engine library")
    assert engine.columns == numpy_cache.columns
    assert engine.digest(batch_size=5, epochs=2, seed=1) == digest
    served = engine.to_numpy()
    expected = numpy_cache.to_numpy()
    assert set(served) == set(expected)
    for key in expected:
        assert np.array_equal(served[key], expected[key]), key
