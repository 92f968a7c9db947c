"""Cache sets (NAME.dgset, docs/FORMAT.md "Cache sets", written by ``datagen cache set create``): the
shards' rows as one cache, the same batches (digest) as one file built from the same inventory,
shards opened lazily and checked, errors naming the shard, in both backends."""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import datagen

from conftest import Fixture, _text_body

SHARDS = 3
COUNT = 50


def write_manifest(manifest: Path, shard_paths, **overrides):
    """A manifest of ``shards`` written as docs/FORMAT.md's "Cache sets" layout says, independently
    of the package: schema and classes copied from the first shard's metadata, each shard's
    relative path, rows, fingerprint and size, the set fingerprint over the shards' fingerprints."""
    entries = []
    first = None
    for shard in shard_paths:
        cache = datagen.open(shard, backend="numpy")
        first = first or cache.metadata
        entries.append({"path": os.path.relpath(shard, manifest.parent).replace(os.sep, "/"), "rows": cache.rows,
                        "fingerprint": cache.fingerprint, "bytes": os.path.getsize(shard)})
        cache.close()
    keys = ("name", "role", "encoder", "dtype", "shape", "variableLength", "rowShape")
    schema = [{key: column[key] for key in keys if key in column} for column in first["columns"]]
    for entry, change in overrides.pop("entries", {}).items():
        entries[entry].update(change)
    sha = hashlib.sha256(b"datagen-set-v1\n")
    for entry in entries:
        sha.update((entry["fingerprint"] + "\n").encode())
    document = {"format": "datagen-set", "version": 1, "fingerprint": sha.hexdigest(),
                "rows": sum(entry["rows"] for entry in entries), "schema": schema,
                "classes": first.get("classes"), "shards": entries}
    document.update(overrides)
    manifest.write_text(json.dumps(document), encoding="utf-8")
    return manifest


@pytest.fixture(scope="module")
def built(cli, tmp_path_factory):
    """One inventory built whole and as SHARDS shards (``--shard K/N``), and the set's manifest."""
    root = tmp_path_factory.mktemp("sets")
    fixture = Fixture(root / "records", COUNT, ".txt", _text_body, lambda i: f"c{i % 7}")
    whole = fixture.build(cli, "whole.dgcache")
    folder = root / "set"
    folder.mkdir()
    shards = []
    for k in range(SHARDS):
        path = folder / f"part-{k}.dgcache"
        cli("cache", "build", fixture.inventory, "-o", path, "--id-suffix", ".txt", "--quiet", "--shard", f"{k}/{SHARDS}")
        shards.append(path)
    manifest = folder / "set.dgset"
    cli("cache", "set", "create", manifest, *shards)
    return {"root": root, "fixture": fixture, "whole": whole, "shards": shards, "manifest": manifest}


def test_the_cli_writes_the_manifest_the_format_describes(built, tmp_path):
    written = json.loads(built["manifest"].read_text(encoding="utf-8"))
    described = json.loads(write_manifest(tmp_path / "set.dgset", built["shards"]).read_text(encoding="utf-8"))
    for shard in described["shards"]:
        shard["path"] = os.path.relpath(tmp_path / shard["path"], built["manifest"].parent).replace(os.sep, "/")
    assert written == described


def copy_set(built, tmp_path):
    """A copy of the set's folder (shards and manifest) to damage."""
    folder = tmp_path / "set"
    shutil.copytree(built["manifest"].parent, folder)
    return folder / "set.dgset", [folder / path.name for path in built["shards"]]


RUNS = [dict(shuffle="none"), dict(shuffle="full", seed=3, epochs=2), dict(shuffle="window", seed=1, batch_size=7),
        dict(shuffle="full", seed=2, batch_size=8, rank=1, world_size=3, drop_last=True),
        dict(shuffle="full", batch_size=5, rows=range(10, 45, 2))]


@pytest.mark.parametrize("run", RUNS, ids=lambda run: "-".join(f"{k}={v}" for k, v in run.items()))
def test_a_set_serves_the_batches_of_one_file_built_from_the_same_inventory(built, run):
    whole = datagen.open(built["whole"], backend="numpy")
    cache = datagen.open(built["manifest"], backend="numpy")
    assert isinstance(cache, datagen.NumpyCacheSet)
    assert cache.digest(**run) == whole.digest(**run)


def test_a_set_describes_itself_as_one_cache(built):
    whole = datagen.open(built["whole"], backend="numpy")
    cache = datagen.open(built["manifest"], backend="numpy")
    assert isinstance(cache, datagen.Cache)
    assert cache.rows == len(cache) == COUNT
    assert cache.columns == whole.columns and cache.roles == whole.roles and cache.classes == whole.classes
    assert cache.ids == whole.ids
    for name, array in whole.to_numpy().items():
        np.testing.assert_array_equal(cache.to_numpy()[name], array)
    assert cache.shards == [str(path) for path in built["shards"]]
    checked = cache.verify()
    assert checked["shards"] == SHARDS and checked["units_checked"] > 0


def test_the_set_fingerprint_is_the_sha256_of_its_shards_fingerprints_and_checkpoints_carry_it(built):
    cache = datagen.open(built["manifest"], backend="numpy")
    shards = [datagen.open(path, backend="numpy").fingerprint for path in built["shards"]]
    expected = hashlib.sha256(("datagen-set-v1\n" + "".join(f + "\n" for f in shards)).encode()).hexdigest()
    assert cache.fingerprint == expected
    run = cache.batches(batch_size=6, seed=4, epochs=2)
    for _ in range(5):
        next(run)
    state = run.state()
    assert state["fingerprint"] == expected
    rest = [batch["data"] for batch in cache.batches(batch_size=6, seed=4, epochs=2).restore(state)]
    for served, expected_batch in zip(rest, run):
        np.testing.assert_array_equal(served, expected_batch["data"])
    whole = datagen.open(built["whole"], backend="numpy")
    with pytest.raises(datagen.OptionError, match="fingerprint"):
        whole.batches(batch_size=6, seed=4, epochs=2).restore(state)


def test_a_checkpoint_of_a_set_restores_with_another_world_size(built):
    cache = datagen.open(built["manifest"], backend="numpy")
    run = cache.batches(batch_size=4, seed=9, rank=1, world_size=2)
    next(run)
    state = run.state()
    resumed = [row for batch in cache.batches(batch_size=8, seed=9).restore(state) for row in batch["data"].tolist()]
    assert resumed == [row for batch in list(cache.batches(batch_size=8, seed=9))[1:] for row in batch["data"].tolist()]


def test_shards_with_no_rows_are_part_of_a_set(cli, tmp_path):
    fixture = Fixture(tmp_path / "two", 2, ".txt", _text_body)
    shards = []
    for k in range(3):
        path = tmp_path / f"s{k}.dgcache"
        cli("cache", "build", fixture.inventory, "-o", path, "--id-suffix", ".txt", "--quiet", "--shard", f"{k}/3")
        shards.append(path)
    manifest = write_manifest(tmp_path / "two.dgset", shards)
    cache = datagen.open(manifest, backend="numpy")
    whole = datagen.open(fixture.build(cli, "whole.dgcache"), backend="numpy")
    assert [datagen.open(path, backend="numpy").rows for path in shards] == [0, 1, 1]
    assert cache.rows == 2
    assert cache.digest(batch_size=1, shuffle="full") == whole.digest(batch_size=1, shuffle="full")


def test_opening_reads_only_the_manifest_and_a_thousand_shards_open_in_under_a_second(built, tmp_path):
    shard = built["shards"][0]
    cache = datagen.open(shard, backend="numpy")
    entry = {"path": "missing/none.dgcache", "rows": cache.rows, "fingerprint": cache.fingerprint,
             "bytes": os.path.getsize(shard)}
    entries = [dict(entry, path=f"missing/shard-{k:04}.dgcache") for k in range(1000)]
    manifest = write_manifest(tmp_path / "big.dgset", [shard], entries={0: entries[0]})
    document = json.loads(manifest.read_text())
    document["shards"] = entries
    document["rows"] = 1000 * cache.rows
    document["fingerprint"] = hashlib.sha256(
        ("datagen-set-v1\n" + "".join(e["fingerprint"] + "\n" for e in entries)).encode()).hexdigest()
    manifest.write_text(json.dumps(document))
    start = time.perf_counter()
    big = datagen.open(manifest, backend="numpy")
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    # No shard file exists: nothing was opened until a row is read.
    assert big.rows == 1000 * cache.rows and big.classes == cache.classes
    with pytest.raises(datagen.CacheFileNotFoundError, match="shard 500 "):
        next(big.batches(shuffle="none", rows=range(500 * cache.rows, 501 * cache.rows)))


def test_a_missing_shard_raises_file_not_found_naming_it_when_its_rows_are_read(built, tmp_path):
    manifest, shards = copy_set(built, tmp_path)
    os.remove(shards[2])
    cache = datagen.open(manifest, backend="numpy")
    first = datagen.open(shards[0], backend="numpy").rows
    # Rows of the shards still there are served.
    assert len(next(cache.batches(batch_size=first, shuffle="none"))["data"]) == first
    with pytest.raises(datagen.CacheFileNotFoundError) as caught:
        cache.to_numpy()
    assert str(shards[2]) in str(caught.value) and caught.value.path == str(shards[2])
    assert isinstance(caught.value, FileNotFoundError)


def test_a_replaced_shard_raises_a_cache_error_naming_it(built, tmp_path):
    manifest, shards = copy_set(built, tmp_path)
    shutil.copyfile(shards[0], shards[1])
    with pytest.raises(datagen.CacheError, match="replaced since the set was written") as caught:
        datagen.open(manifest, backend="numpy").to_numpy()
    assert type(caught.value) is datagen.CacheError
    said = str(caught.value)
    assert said.startswith(f"{manifest}: shard 1 ({shards[1]}): it was replaced since the set was written (its size")
    assert said.count("replaced since") == 1
    assert said.endswith("); restore it, or rebuild it with --shard K/N and rerun `datagen cache set create`")
    # The same size, another fingerprint (as a shard rebuilt from other records of the same sizes).
    shutil.copyfile(built["shards"][1], shards[1])
    write_manifest(manifest, shards, entries={1: {"fingerprint": "0" * 64}})
    with pytest.raises(datagen.CacheError, match="fingerprint") as caught:
        datagen.open(manifest, backend="numpy").to_numpy()
    assert type(caught.value) is datagen.CacheError and str(shards[1]) in str(caught.value)


def test_a_corrupt_shard_raises_its_own_error_class_naming_it(built, tmp_path):
    manifest, shards = copy_set(built, tmp_path)
    reader = datagen.open(shards[1], backend="numpy")._reader
    offsets = reader.unit_plan(reader.columns[0])[0]
    reader.close()
    data = bytearray(shards[1].read_bytes())
    data[int(offsets[0])] ^= 0xFF
    shards[1].write_bytes(bytes(data))
    with pytest.raises(datagen.ChecksumError) as caught:
        datagen.open(manifest, backend="numpy").to_numpy()
    message = str(caught.value)
    assert message.startswith(f"{manifest}: shard 1 ({shards[1]}): ") and "checksum mismatch" in message
    assert caught.value.column == "data"
    # A shard cut short is the shard's own truncated-file error.
    shards[2].write_bytes(shards[2].read_bytes()[:100])
    last = datagen.open(manifest, backend="numpy")
    with pytest.raises(datagen.TruncatedError, match=r"shard 2 \(.*part-2\.dgcache\): .* is truncated"):
        next(last.batches(shuffle="none", rows=range(COUNT - 2, COUNT)))


@pytest.mark.parametrize("change,error,words", [
    (dict(version=2), datagen.UnsupportedVersionError, r"has set manifest version 2 \(this reader reads 1\)"),
    (dict(format="other"), datagen.CorruptError, '"format"'),
    (dict(rows=7), datagen.CorruptError, "rows"),
    (dict(fingerprint="0" * 64), datagen.CorruptError, "fingerprint"),
    (dict(shards=[]), datagen.CorruptError, "no shards"),
    (dict(entries={0: {"path": "../part-0.dgcache"}}), datagen.CorruptError, "climbs out"),
    (dict(entries={0: {"path": "/abs.dgcache"}}), datagen.CorruptError, "absolute"),
    (dict(entries={0: {"rows": -1}}), datagen.CorruptError, "-1 rows"),
    (dict(schema=[]), datagen.CorruptError, "schema"),
])
def test_a_manifest_that_cannot_be_read_is_refused_naming_the_field(built, tmp_path, change, error, words):
    manifest, shards = copy_set(built, tmp_path)
    write_manifest(manifest, shards, **change)
    with pytest.raises(error, match=words) as caught:
        datagen.open(manifest, backend="numpy")
    assert str(manifest) in str(caught.value)


def test_a_missing_or_foreign_manifest_is_refused(tmp_path):
    with pytest.raises(datagen.CacheFileNotFoundError):
        datagen.open(tmp_path / "none.dgset", backend="numpy")
    (tmp_path / "bad.dgset").write_text("{not json")
    with pytest.raises(datagen.CorruptError, match="not valid JSON"):
        datagen.open(tmp_path / "bad.dgset", backend="numpy")


# -- both backends ---------------------------------------------------------------------------

ENGINE = pytest.mark.skipif(not datagen.engine_available(),
                            reason="the engine library was not built (no Swift toolchain at install time)")


@ENGINE
@pytest.mark.parametrize("run", RUNS, ids=lambda run: "-".join(f"{k}={v}" for k, v in run.items()))
def test_both_backends_serve_a_set_with_the_digest_of_the_whole_file(built, run):
    whole = datagen.open(built["whole"], backend="engine").digest(**run)
    assert datagen.open(built["whole"], backend="numpy").digest(**run) == whole
    for backend in ("engine", "numpy"):
        cache = datagen.open(built["manifest"], backend=backend)
        assert cache.rows == COUNT and cache.digest(**run) == whole, backend


@ENGINE
def test_both_backends_describe_a_set_alike(built):
    engine, numpy_set = (datagen.open(built["manifest"], backend=b) for b in ("engine", "numpy"))
    assert engine.fingerprint == numpy_set.fingerprint
    assert engine.columns == numpy_set.columns and engine.roles == numpy_set.roles
    assert engine.classes == numpy_set.classes and engine.ids == numpy_set.ids
    states = []
    for cache in (engine, numpy_set):
        run = cache.batches(batch_size=4, seed=2, rank=1, world_size=2)
        next(run)
        states.append(run.state())
    assert states[0] == states[1] and states[0]["fingerprint"] == numpy_set.fingerprint


def _damaged_errors(manifest, read):
    """The error each backend raises reading the damaged set with ``read``."""
    errors = {}
    for backend in ("engine", "numpy"):
        with pytest.raises(datagen.CacheError) as caught:
            read(datagen.open(manifest, backend=backend))
        errors[backend] = caught.value
    return errors


@ENGINE
def test_a_missing_replaced_or_corrupt_shard_raises_the_same_class_naming_it_in_both_backends(built, tmp_path):
    manifest, shards = copy_set(built, tmp_path)
    whole = datagen.open(shards[1], backend="numpy")
    offsets = whole._reader.unit_plan(whole._reader.columns[0])[0]
    whole.close()
    cases = {
        "missing": (lambda: os.remove(shards[2]), datagen.CacheFileNotFoundError, 2),
        "replaced": (lambda: shutil.copyfile(shards[0], shards[2]), datagen.CacheError, 2),
        "corrupt": (lambda: _flip(shards[1], int(offsets[0])), datagen.ChecksumError, 1),
    }
    for name, (damage, expected, index) in cases.items():
        for path, original in zip(shards, built["shards"]):
            shutil.copyfile(original, path)
        damage()
        errors = _damaged_errors(manifest, lambda cache: cache.to_numpy())
        for backend, error in errors.items():
            assert type(error) is expected, (name, backend, error)
            assert str(shards[index]) in str(error), (name, backend, error)
        # Every backend names the set and the shard, whose path is the error's (a corrupt unit is
        # found while serving batches; the others when the shard is opened).
        for backend, error in errors.items():
            assert str(error).startswith(f"{manifest}: shard {index} ({shards[index]}): "), (name, backend, error)
            assert error.path == str(shards[index]), (name, backend, error)
        if name != "corrupt":
            # Found when the shard is opened: the same message, with the remedy.
            assert str(errors["engine"]) == str(errors["numpy"]), name
            assert str(errors["numpy"]).endswith("rerun `datagen cache set create`"), name


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
