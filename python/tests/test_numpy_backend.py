"""The numpy backend against the Swift CLI: schema, values, batches, shards and digests."""

import json
import subprocess

import numpy as np
import pytest

import datagen
from conftest import KINDS, cli_json


def _show(cli, path):
    info = cli_json(cli, "cache", "info", path)
    return info, json.loads(cli("cache", "show", path, "--rows", f"0..<{info['rows']}", "--json").stdout)


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_classes_and_fingerprint_equal_cache_info(cli, caches, kind):
    info = cli_json(cli, "cache", "info", caches[kind])
    cache = datagen.open(caches[kind], backend="numpy")
    assert cache.rows == info["rows"]
    assert cache.fingerprint == info["fingerprint"]
    assert cache.classes == info["classes"]
    assert list(cache.columns) == [c["name"] for c in info["columns"]]
    for column in info["columns"]:
        dtype, shape = cache.columns[column["name"]]
        assert dtype == np.dtype(column["dtype"])
        assert list(shape) == column["shape"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_to_numpy_and_ids_equal_cache_show(cli, caches, kind):
    info, shown = _show(cli, caches[kind])
    cache = datagen.open(caches[kind], backend="numpy")
    arrays = cache.to_numpy()
    assert cache.ids == [row["id"] for row in shown]
    for column in info["columns"]:
        name = column["name"]
        for row in shown:
            value = arrays[name][row["row"]]
            if column["variable_length"]:
                value = value[:arrays[name + "_lengths"][row["row"]]]
            expected = np.array(row["values"][name], dtype=np.float64)
            np.testing.assert_array_equal(value.reshape(-1).astype(np.float64), expected, err_msg=f"{name} {row}")
        assert arrays[name].flags.c_contiguous


@pytest.mark.parametrize("kind", list(KINDS))
def test_verify_accepts_a_sound_cache_and_counts_as_the_cli(cli, caches, kind):
    expected = cli_json(cli, "cache", "verify", caches[kind])
    result = datagen.open(caches[kind], backend="numpy").verify()
    assert result == {k: expected[k] for k in ("units_checked", "stored_bytes", "raw_bytes")}


@pytest.mark.parametrize("shuffle", ["none", "full", "window"])
@pytest.mark.parametrize("seed", [0, 1, 2**64 - 1])
def test_batches_hold_the_planned_rows_of_every_column(caches, shuffle, seed):
    cache = datagen.open(caches["big-float-lz4"], backend="numpy")
    whole = cache.to_numpy()
    plan_rows = datagen.epoch_permutation(datagen.EpochOrder.parse(shuffle), seed, 3, cache.rows)
    served = []
    for batch in cache.batches(batch_size=64, shuffle=shuffle, seed=seed, epoch=3):
        assert set(batch) == {"data", "target"}
        assert batch["data"].flags.c_contiguous and batch["target"].flags.c_contiguous
        rows = plan_rows[len(served):len(served) + len(batch["data"])]
        np.testing.assert_array_equal(batch["data"], whole["data"][rows])
        np.testing.assert_array_equal(batch["target"], whole["target"][rows])
        served.extend(rows.tolist())
    assert sorted(served) == list(range(cache.rows))
    if shuffle == "none":
        assert served == list(range(cache.rows))


def test_seeds_and_epochs_change_the_order_and_the_same_arguments_repeat_it(caches):
    cache = datagen.open(caches["big-float-lz4"], backend="numpy")

    def first(**kwargs):
        return next(iter(cache.batches(batch_size=32, **kwargs)))["data"]

    np.testing.assert_array_equal(first(seed=4), first(seed=4))
    assert not np.array_equal(first(seed=4), first(seed=5))
    assert not np.array_equal(first(seed=4), first(seed=4, epoch=1))


@pytest.mark.parametrize("world_size", [2, 3, 4])
@pytest.mark.parametrize("shuffle", ["full", "window"])
def test_shards_serve_disjoint_equal_shares(caches, world_size, shuffle):
    cache = datagen.open(caches["big-float-lz4"], backend="numpy")
    whole = cache.to_numpy()["data"].reshape(cache.rows, -1)
    shares = []
    for rank in range(world_size):
        batches = list(cache.batches(batch_size=50, shuffle=shuffle, seed=9, rank=rank, world_size=world_size))
        data = np.concatenate([b["data"] for b in batches]).reshape(-1, whole.shape[1])
        shares.append(data)
    assert {len(s) for s in shares} == {cache.rows // world_size}
    # Rank r serves positions r, r + world_size, … of the epoch's order (as DistributedSampler).
    planned = datagen.epoch_permutation(datagen.EpochOrder.parse(shuffle), 9, 0, cache.rows)
    for rank, share in enumerate(shares):
        rows = planned[rank::world_size][:cache.rows // world_size]
        np.testing.assert_array_equal(share, whole[rows])
    every = np.concatenate([planned[r::world_size][:cache.rows // world_size] for r in range(world_size)])
    assert len(set(every.tolist())) == len(every)


def test_a_variable_length_column_is_padded_with_its_lengths(caches):
    cache = datagen.open(caches["raw-int-lz4"], backend="numpy")
    assert cache.columns["data"] == (np.dtype("uint8"), (None,))
    for batch in cache.batches(batch_size=9, shuffle="full", seed=3):
        lengths = batch["data_lengths"]
        assert lengths.dtype == np.int64
        assert batch["data"].shape == (len(lengths), int(lengths.max()))
        for row, length in zip(batch["data"], lengths):
            assert not row[length:].any()
    rows = list(range(0, 12))
    batch = next(iter(cache.batches(batch_size=12, shuffle="none", rows=rows)))
    assert batch["data_lengths"].tolist() == [300 if i % 4 == 0 else i % 5 for i in rows]
    assert batch["data"][1, :1].tolist() == [7]


def test_rows_serve_a_subset_in_the_given_order(caches):
    cache = datagen.open(caches["text-label-lz4"], backend="numpy")
    whole = cache.to_numpy()
    subset = np.array([5, 3, 140, 7, 0])
    batches = list(cache.batches(batch_size=2, shuffle="none", rows=subset))
    np.testing.assert_array_equal(np.concatenate([b["data"] for b in batches]), whole["data"][subset])
    shuffled = list(cache.batches(batch_size=5, shuffle="full", seed=1, rows=range(10, 20)))
    assert sorted(np.concatenate([b["target"] for b in shuffled]).tolist()) == sorted(whole["target"][10:20].tolist())
    with pytest.raises(datagen.CacheError, match="row 150 is outside the cache's rows 0..<150"):
        cache.batches(rows=[1, 150])


def test_drop_last_drops_the_partial_batch_and_epochs_repeat(caches):
    cache = datagen.open(caches["text-label-lz4"], backend="numpy")
    kept = cache.batches(batch_size=40, shuffle="none")
    assert [len(b["data"]) for b in kept] == [40, 40, 40, 30]
    dropped = cache.batches(batch_size=40, shuffle="none", drop_last=True, epochs=3)
    assert len(dropped) == 9
    assert [len(b["data"]) for b in dropped] == [40] * 9


def test_an_iterator_position_can_be_saved_and_restored(caches):
    cache = datagen.open(caches["text-label-lz4"], backend="numpy")
    run = cache.batches(batch_size=16, seed=2, epochs=2)
    for _ in range(13):
        next(run)
    state = json.loads(json.dumps(run.state()))
    assert state["epoch"] == 1 and state["batch"] == 3
    rest = [b["data"] for b in run]
    assert state["fingerprint"] == cache.fingerprint and state["end_epoch"] == 2 and state["order"] == "full"
    resumed = cache.batches(batch_size=16, seed=2, epochs=2).restore(state)
    for expected, batch in zip(rest, resumed, strict=True):
        np.testing.assert_array_equal(batch["data"], expected)
    with pytest.raises(datagen.OptionError, match="seed 2 \\(this run: 3\\)"):
        cache.batches(batch_size=16, seed=3, epochs=2).restore(state)


def test_digest_hashes_the_batches_in_schema_order(caches):
    import hashlib
    cache = datagen.open(caches["raw-int-lz4"], backend="numpy")
    sha = hashlib.sha256()
    for batch in cache.batches(batch_size=100, shuffle="window", seed=1, epochs=2):
        sha.update(batch["data"].tobytes())
        sha.update(batch["data_lengths"].astype("<i8").tobytes())
        sha.update(batch["target"].astype("<i8").tobytes())
    assert cache.digest(batch_size=100, shuffle="window", seed=1, epochs=2) == sha.hexdigest()


def _has_bench(cli):
    return cli("cache", "bench", "--help", check=False).returncode == 0


@pytest.mark.parametrize("kind,batch,epochs,seed,shuffle", [
    ("big-float-lz4", 64, 2, 0, "full"), ("big-float-lz4", 100, 1, 7, "window"), ("big-float-lz4", 128, 1, 3, "none"),
    ("raw-int-lz4", 50, 2, 11, "full"), ("text-label-lz4", 32, 3, 5, "window"), ("npy-onehot-lz4hc", 8, 1, 2, "full"),
    ("utf8-float-lz4", 7, 2, 1, "full"), ("text-none-lz4", 4, 1, 0, "full"), ("raw-int-none", 6, 2, 4, "drop-last")])
@pytest.mark.parametrize("backend", ["numpy", "engine"])
def test_digest_equals_the_cli_bench_digest(cli, caches, kind, batch, epochs, seed, shuffle, backend):
    if not _has_bench(cli):
        pytest.skip("this datagen has no `cache bench` yet")
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    drop_last = shuffle == "drop-last"
    shuffle = "full" if drop_last else shuffle
    result = cli("cache", "bench", caches[kind], "--json", "--batch-size", batch, "--epochs", epochs, "--seed", seed,
                 "--shuffle", shuffle, *(["--drop-last"] if drop_last else []))
    expected = json.loads(result.stdout)["digest"]
    cache = datagen.open(caches[kind], backend=backend)
    assert cache.digest(batch_size=batch, epochs=epochs, shuffle=shuffle, seed=seed, drop_last=drop_last) == expected


@pytest.mark.parametrize("backend", ["numpy", "engine"])
def test_a_closed_cache_keeps_the_arrays_it_returned(caches, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    with datagen.open(caches["text-label-lz4"], backend=backend) as cache:
        whole = cache.to_numpy()
        batch = next(iter(cache.batches(batch_size=10, seed=1)))
    assert whole["data"].shape == (150, 3, 4) and batch["data"].shape == (10, 3, 4)
    np.testing.assert_array_equal(batch["data"][0], whole["data"][datagen.epoch_permutation(
        datagen.EpochOrder("full"), 1, 0, 150)[0]])
