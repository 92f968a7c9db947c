"""The golden files of Tests/Golden (written by tools/golden/regenerate, read by the Swift suite
too): committed caches, their corrupt variants and epoch-order vectors. They pin the contract the
Swift and Python sides share, so these tests need no Swift toolchain (the numpy backend alone);
the engine backend runs them too when it was built, and the CLI rebuilds each cache when it is
there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import datagen
from datagen._order import BatchPlan, EpochOrder, Shard

GOLDEN = Path(__file__).resolve().parents[2] / "Tests" / "Golden"
MANIFEST = json.loads((GOLDEN / "golden.json").read_text(encoding="utf-8"))
ORDERS = json.loads((GOLDEN / "orders.json").read_text(encoding="utf-8"))["vectors"]
CACHES = {cache["name"]: cache for cache in MANIFEST["caches"]}

BACKENDS = ["numpy", pytest.param("engine", marks=pytest.mark.skipif(
    not datagen.engine_available(), reason="the engine library was not built (no Swift toolchain at install time)"))]


def _order(vector) -> EpochOrder:
    if vector["order"] == "window":
        return EpochOrder("window", vector["rowsPerBlock"], vector["blocksPerWindow"])
    return EpochOrder(vector["order"])


def _vector_id(vector) -> str:
    order = vector["order"] + (f"({vector['rowsPerBlock']},{vector['blocksPerWindow']})"
                               if vector["order"] == "window" else "")
    shard = f"-rank{vector['rank']}of{vector['worldSize']}{vector['remainder']}" if "worldSize" in vector else ""
    return f"{order}-seed{vector['seed']}-epoch{vector['epoch']}-count{vector['count']}{shard}"


# -- epoch orders ---------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", ORDERS, ids=_vector_id)
def test_epoch_orders_visit_the_golden_rows(vector):
    shard = Shard(vector.get("rank", 0), vector.get("worldSize", 1), vector.get("remainder", "drop"))
    rows = BatchPlan(vector["count"], 0, _order(vector), vector["seed"], shard, False).epoch_rows(vector["epoch"])
    assert len(rows) == vector["rows"]
    assert rows[:len(vector["first"])].tolist() == vector["first"]
    assert hashlib.sha256(np.ascontiguousarray(rows, dtype="<i8").tobytes()).hexdigest() == vector["sha256"]


def test_order_vectors_cover_the_orders_seeds_counts_and_shards_they_pin():
    assert {v["order"] for v in ORDERS} == {"full", "window"}
    assert {v["count"] for v in ORDERS} >= {1, 2, 7, 128, 1000, 60000}
    assert {v["seed"] for v in ORDERS} >= {0, 1, 42, 2**32 + 7, 2**64 - 1}
    assert {v["epoch"] for v in ORDERS} == {0, 1}
    assert {(v.get("worldSize", 1), v.get("remainder", "drop")) for v in ORDERS} == {(1, "drop"), (3, "drop"), (3, "pad")}
    # Every whole epoch is a permutation: as many rows as the count, none twice.
    assert all(v["rows"] == v["count"] and len(set(v["first"])) == len(v["first"]) for v in ORDERS if "rank" not in v)


# -- golden caches --------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(CACHES))
def test_golden_caches_describe_their_rows_as_recorded(name, backend):
    expected = CACHES[name]
    data = (GOLDEN / expected["file"]).read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (expected["bytes"], expected["sha256"])
    cache = datagen.open(GOLDEN / expected["file"], backend=backend)
    assert (cache.rows, cache.fingerprint, cache.ids, cache.classes) == \
        (expected["rows"], expected["fingerprint"], expected["ids"], expected["classes"])
    assert [(name, str(dtype)) for name, (dtype, _) in cache.columns.items()] == \
        [(c["name"], c["dtype"]) for c in expected["columns"]]
    if backend == "numpy":
        assert [{key: c[key] for key in expected["columns"][0]} for c in cache.metadata["columns"]] == \
            expected["columns"]
    cache.verify()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(CACHES))
def test_golden_caches_serve_the_golden_digests(name, backend):
    expected = CACHES[name]
    cache = datagen.open(GOLDEN / expected["file"], backend=backend)
    for run in expected["digests"]:
        assert cache.digest(batch_size=run["batchSize"], epochs=run["epochs"], shuffle=run["order"],
                            seed=run["seed"], drop_last=run["dropLast"]) == run["sha256"], run


def test_golden_caches_cover_each_codec_layout_and_column_kind():
    columns = [c for cache in CACHES.values() for c in cache["columns"]]
    assert {c["codec"] for c in columns} == {"lz4", "lz4hc", "none"}
    assert {c["layout"] for c in columns} == {"row", "packed"}
    assert any(c["variableLength"] for c in columns)
    assert {c["dtype"] for c in columns} >= {"float32", "uint8", "int16", "int64"}


@pytest.mark.parametrize("name", list(CACHES))
def test_the_cli_rebuilds_each_golden_cache_byte_for_byte(cli, name, tmp_path):
    expected = CACHES[name]
    sources = tmp_path / "sources"
    shutil.copytree(GOLDEN / expected["sources"], sources)
    stamp = MANIFEST["sourceModificationTime"] * 10**9
    for path in sources.iterdir():
        os.utime(path, ns=(stamp, stamp))
    output = tmp_path / "rebuilt.dgcache"
    cli(*[a.replace("{dir}", str(sources)).replace("{output}", str(output)) for a in expected["build"]])
    assert output.read_bytes() == (GOLDEN / expected["file"]).read_bytes()


# -- corrupt variants -----------------------------------------------------------------------------

def _first_refusal(path, backend):
    """The stage ("open", "read" or "verify") at which the file is refused, and the error."""
    try:
        cache = datagen.open(path, backend=backend)
    except datagen.CacheError as error:
        return "open", error
    try:
        for _ in cache.batches(batch_size=4, shuffle="none", epochs=1):
            pass
    except datagen.CacheError as error:
        return "read", error
    try:
        cache.verify()
    except datagen.CacheError as error:
        return "verify", error
    return None, None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variant", MANIFEST["corrupt"], ids=lambda v: v["name"])
def test_corrupt_variants_are_refused_with_the_golden_class_and_message(variant, backend):
    path = GOLDEN / variant["file"]
    stage, error = _first_refusal(path, backend)
    assert error is not None, f"{variant['damage']} went unnoticed"
    # "read" faults may be found at open by a reader that checks more eagerly, never later.
    allowed = {"open"} if variant["stage"] == "open" else {"open", "read"} if variant["stage"] == "read" else {"verify"}
    assert stage in allowed, (stage, str(error))
    assert type(error).__name__ == variant["python"]
    assert str(error) == variant["message"].replace("{path}", str(path))


def test_corrupt_variants_cover_each_kind_of_fault():
    assert {v["python"] for v in MANIFEST["corrupt"]} == \
        {"ChecksumError", "CorruptError", "NotACacheError", "TruncatedError", "UnsupportedVersionError"}
    assert {v["stage"] for v in MANIFEST["corrupt"]} == {"open", "read", "verify"}


# -- checkpoints ----------------------------------------------------------------------------------

def _run(cache, checkpoint):
    return cache.batches(batch_size=checkpoint["batchSize"], shuffle=checkpoint["order"], seed=checkpoint["seed"],
                         epochs=checkpoint["epochs"], drop_last=checkpoint["dropLast"], rank=checkpoint["rank"],
                         world_size=checkpoint["worldSize"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("checkpoint", MANIFEST["checkpoints"], ids=lambda c: f"{c['cache']}-{c['order']}-rank{c['rank']}of{c['worldSize']}")
def test_a_run_saves_the_golden_checkpoint(checkpoint, backend):
    cache = datagen.open(GOLDEN / CACHES[checkpoint["cache"]]["file"], backend=backend)
    run = _run(cache, checkpoint)
    for _ in range(checkpoint["batchesConsumed"]):
        next(run)
    assert run.state() == checkpoint["python"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("checkpoint", MANIFEST["checkpoints"], ids=lambda c: f"{c['cache']}-{c['order']}-rank{c['rank']}of{c['worldSize']}")
def test_restoring_the_golden_checkpoint_serves_the_golden_rows(checkpoint, backend):
    cache = datagen.open(GOLDEN / CACHES[checkpoint["cache"]]["file"], backend=backend)
    whole = datagen.open(GOLDEN / CACHES[checkpoint["cache"]]["file"], backend="numpy").to_numpy()
    run = _run(cache, checkpoint).restore(checkpoint["python"])
    for rows in checkpoint["nextRows"]:
        batch = next(run)
        for name, array in batch.items():
            if name.endswith("_lengths") or name + "_lengths" in batch:
                continue  # variable-length columns: compared through their lengths and rows below
            np.testing.assert_array_equal(array, whole[name][rows], err_msg=name)
        for name in [n for n in batch if n.endswith("_lengths")]:
            np.testing.assert_array_equal(batch[name], whole[name][rows], err_msg=name)
            column = name[:-len("_lengths")]
            for position, row in enumerate(rows):
                length = int(whole[name][row])
                np.testing.assert_array_equal(batch[column][position, :length], whole[column][row, :length])


@pytest.mark.parametrize("checkpoint", MANIFEST["checkpoints"], ids=lambda c: f"{c['cache']}-{c['order']}-rank{c['rank']}of{c['worldSize']}")
def test_the_swift_checkpoint_holds_the_same_fields_as_pythons(checkpoint):
    swift, python = checkpoint["swift"], checkpoint["python"]
    order = swift["order"]
    (name, parameters), = order.items()
    assert python["order"] == (name if name != "window" else {"window": parameters})
    renamed = {"batchSize": "batch_size", "truncate": "drop_last", "worldSize": "world_size", "endEpoch": "end_epoch"}
    assert {renamed.get(key, key): value for key, value in swift.items() if key != "order"} == \
        {key: value for key, value in python.items() if key != "order" and value is not None}
