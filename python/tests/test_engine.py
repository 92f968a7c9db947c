"""The engine backend (the Swift engine through its C API) against the numpy backend."""

import os
import subprocess
import sys

import numpy as np
import pytest

import datagen
from conftest import KINDS

pytestmark = pytest.mark.skipif(not datagen.engine_available(),
                                reason="the engine library was not built (no Swift toolchain at install time)")


def _assert_same_batches(a, b):
    count = 0
    for left, right in zip(a, b, strict=True):
        assert left.keys() == right.keys()
        for name in left:
            assert left[name].dtype == right[name].dtype, name
            assert left[name].flags.c_contiguous
            np.testing.assert_array_equal(left[name], right[name], err_msg=name)
        count += 1
    return count


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_ids_and_whole_columns_equal_the_numpy_backends(caches, kind):
    engine = datagen.open(caches[kind], backend="engine")
    reference = datagen.open(caches[kind], backend="numpy")
    assert (engine.rows, engine.columns, engine.classes, engine.fingerprint, engine.ids) == \
        (reference.rows, reference.columns, reference.classes, reference.fingerprint, reference.ids)
    _assert_same_batches([engine.to_numpy()], [reference.to_numpy()])
    engine.verify()


@pytest.mark.parametrize("kind", ["big-float-lz4", "raw-int-lz4", "npy-onehot-lz4hc", "utf8-float-lz4", "raw-int-none"])
@pytest.mark.parametrize("shuffle,seed", [("none", 0), ("full", 0), ("full", 77), ("window", 3)])
@pytest.mark.parametrize("workers", [0, 2])
def test_batches_equal_the_numpy_backends(caches, kind, shuffle, seed, workers):
    engine = datagen.open(caches[kind], backend="engine")
    reference = datagen.open(caches[kind], backend="numpy")
    arguments = dict(batch_size=13, shuffle=shuffle, seed=seed, epoch=1, epochs=2)
    served = _assert_same_batches(engine.batches(workers=workers, **arguments), reference.batches(**arguments))
    assert served == len(reference.batches(**arguments))


@pytest.mark.parametrize("world_size", [2, 3])
def test_shards_subsets_and_drop_last_equal_the_numpy_backends(caches, world_size):
    engine = datagen.open(caches["raw-int-lz4"], backend="engine")
    reference = datagen.open(caches["raw-int-lz4"], backend="numpy")
    for rank in range(world_size):
        arguments = dict(batch_size=64, shuffle="window", seed=5, rank=rank, world_size=world_size, drop_last=True)
        _assert_same_batches(engine.batches(**arguments), reference.batches(**arguments))
    subset = np.arange(1000, 0, -3)
    arguments = dict(batch_size=10, shuffle="full", seed=2, rows=subset, epochs=2)
    _assert_same_batches(engine.batches(**arguments), reference.batches(**arguments))


def test_digests_agree_between_backends(caches):
    for kind in ("big-float-lz4", "raw-int-lz4"):
        engine = datagen.open(caches[kind], backend="engine")
        reference = datagen.open(caches[kind], backend="numpy")
        assert engine.digest(batch_size=50, epochs=3, seed=8) == reference.digest(batch_size=50, epochs=3, seed=8)


def test_seek_and_restore_continue_mid_epoch(caches):
    engine = datagen.open(caches["big-float-lz4"], backend="engine")
    reference = list(datagen.open(caches["big-float-lz4"], backend="numpy").batches(batch_size=32, seed=4, epochs=2))
    run = engine.batches(batch_size=32, seed=4, epochs=2)
    for _ in range(5):
        next(run)
    state = run.state()
    resumed = engine.batches(batch_size=32, seed=4, epochs=2).restore(state)
    _assert_same_batches(resumed, reference[5:])


def test_a_forked_child_reads_the_parents_handles(caches):
    engine = datagen.open(caches["big-float-lz4"], backend="engine")
    run = engine.batches(batch_size=50, seed=6, epochs=2, workers=2)
    first = [next(run) for _ in range(3)]  # the parent's workers are running now
    expected = datagen.open(caches["big-float-lz4"], backend="numpy")
    reference = list(expected.batches(batch_size=50, seed=6, epochs=2))
    _assert_same_batches(first, reference[:3])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: finish the parent's iterator and open a new one
        try:
            rest = list(run)
            again = list(engine.batches(batch_size=50, seed=6, epochs=2, workers=2))
            ok = _assert_same_batches(rest, reference[3:]) == len(reference) - 3 and \
                _assert_same_batches(again, reference) == len(reference)
            os.write(write, b"ok" if ok else b"bad")
        except BaseException as error:  # report anything to the parent
            os.write(write, repr(error).encode()[:500])
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read, 600)
    assert status == 0 and answer == b"ok", answer
    _assert_same_batches(list(run), reference[3:])


@pytest.mark.parametrize("content", [b"", b"DGCACHE\0" + bytes(100), b"not a cache at all" * 10])
def test_foreign_and_truncated_files_raise_cache_errors_naming_them(tmp_path, content):
    target = tmp_path / "bad.dgcache"
    target.write_bytes(content)
    with pytest.raises(datagen.CacheError, match=str(target)):
        datagen.open(target, backend="engine")


def test_corrupted_units_raise_the_same_message_in_both_backends(caches, tmp_path):
    data = bytearray(caches["big-float-lz4"].read_bytes())
    data[len(data) // 3] ^= 0xFF
    target = tmp_path / "flipped.dgcache"
    target.write_bytes(bytes(data))
    messages = []
    for backend in ("engine", "numpy"):
        with pytest.raises(datagen.CacheError) as raised:
            datagen.open(target, backend=backend).verify()
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert str(target) in messages[0]


def test_a_missing_engine_library_gives_a_clear_error(caches):
    code = ("import datagen, sys\n"
            "try:\n    datagen.open(sys.argv[1], backend='engine')\n"
            "except datagen.EngineUnavailableError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code, str(caches["text-label-lz4"])], capture_output=True, text=True,
                            env={**os.environ, "DATAGEN_ENGINE_LIB": "/nonexistent/libCDataGenerator.so"})
    assert "/nonexistent/libCDataGenerator.so does not exist" in result.stdout
    assert "backend='numpy'" in result.stdout


def test_reused_output_arrays_hold_the_same_batches(caches):
    engine = datagen.open(caches["raw-int-lz4"], backend="engine")
    reference = datagen.open(caches["raw-int-lz4"], backend="numpy")
    arguments = dict(batch_size=100, shuffle="full", seed=1, epochs=2)
    copies = [{name: array.copy() for name, array in batch.items()}
              for batch in engine.batches(reuse=3, **arguments)]
    _assert_same_batches(copies, reference.batches(**arguments))


def test_the_ring_recycles_the_arrays_of_batches_nobody_holds(caches):
    engine = datagen.open(caches["big-float-lz4"], backend="engine")
    reference = datagen.open(caches["big-float-lz4"], backend="numpy")
    arguments = dict(batch_size=50, shuffle="full", seed=4, epochs=2)
    addresses = set()
    for batch, expected in zip(engine.batches(workers=2, prefetch=2, **arguments), reference.batches(**arguments),
                               strict=True):
        np.testing.assert_array_equal(batch["data"], expected["data"])
        np.testing.assert_array_equal(batch["target"], expected["target"])
        addresses.add(batch["data"].__array_interface__["data"][0])
        del batch
    # 28 batches written into the ring's 6 slots (a batch ahead for each of the 2 workers and
    # the consuming thread: prefetch 2 raised to 3; the 2 held; and the spare, which delivers
    # batches only when a worker lost its core): no new arrays.
    assert 5 <= len(addresses) <= 6


def test_batches_kept_while_iterating_keep_their_values(caches):
    engine = datagen.open(caches["big-float-lz4"], backend="engine")
    reference = list(datagen.open(caches["big-float-lz4"], backend="numpy").batches(batch_size=50, seed=2, epochs=2))
    iterator = engine.batches(batch_size=50, seed=2, epochs=2, workers=2)
    assert iterator._slots is not None  # served through the ring
    kept_dict = next(iterator)
    kept_array = next(iterator)["data"]
    kept_view = next(iterator)["target"][3:9]
    rest = list(iterator)
    np.testing.assert_array_equal(kept_dict["data"], reference[0]["data"])
    np.testing.assert_array_equal(kept_array, reference[1]["data"])
    np.testing.assert_array_equal(kept_view, reference[2]["target"][3:9])
    _assert_same_batches(rest, reference[3:])


def test_seeking_a_ring_iterator_keeps_the_batches_handed_out(caches):
    engine = datagen.open(caches["big-float-lz4"], backend="engine")
    reference = list(datagen.open(caches["big-float-lz4"], backend="numpy").batches(batch_size=64, seed=5, epochs=2))
    iterator = engine.batches(batch_size=64, seed=5, epochs=2, workers=2)
    first, second = next(iterator), next(iterator)
    iterator.seek(1, 3)
    after = list(iterator)
    _assert_same_batches([first, second], reference[:2])
    _assert_same_batches(after, reference[len(reference) // 2 + 3:])
    # Seeking to every other batch (as a DataLoader worker does) reuses the sets nobody holds.
    iterator = engine.batches(batch_size=64, seed=5, epochs=1, workers=0)
    addresses = set()
    for index in range(0, iterator.batches_per_epoch, 2):
        batch = iterator.seek(0, index).__next__()
        np.testing.assert_array_equal(batch["data"], reference[index]["data"])
        addresses.add(batch["data"].__array_interface__["data"][0])
        del batch
    assert len(addresses) <= 3


def test_a_damaged_unit_met_while_serving_batches_raises_a_cache_error(caches, tmp_path):
    reference = datagen.open(caches["big-float-lz4"], backend="numpy")
    column = reference._reader.column("data")
    offset = int(reference._reader.table_array(column.units, datagen._format.UNIT_DTYPE)["offset"][400])
    data = bytearray(caches["big-float-lz4"].read_bytes())
    data[offset + 2] ^= 0x10
    target = tmp_path / "unit400.dgcache"
    target.write_bytes(bytes(data))
    for workers in (0, 2):
        engine = datagen.open(target, backend="engine")
        with pytest.raises(datagen.CacheError) as raised:
            for _ in engine.batches(batch_size=32, shuffle="none", workers=workers):
                pass
        assert str(raised.value) == (f"{target}: checksum mismatch in unit 400 (rows 400..<401) of column 'data' "
                                     f"at offset {offset}")


def test_invalid_arguments_raise_option_errors_naming_them(caches):
    engine = datagen.open(caches["text-label-lz4"], backend="engine")
    with pytest.raises(datagen.OptionError, match="'sideways'"):
        engine.batches(shuffle="sideways")
    with pytest.raises(datagen.OptionError, match="rank 3 does not exist in a world of size 2"):
        engine.batches(rank=3, world_size=2)
    with pytest.raises(datagen.OptionError, match="batch size 200 is larger than the data set"):
        engine.batches(batch_size=200, drop_last=True)
