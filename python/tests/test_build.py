"""datagen.build: Python encoders in worker processes, one writer, the CLI's bytes and digests."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import datagen
from datagen._format import CacheFileReader

pandas = pytest.importorskip("pandas")
pytest.importorskip("cloudpickle")
pytestmark = pytest.mark.skipif(not datagen.engine_available(), reason="datagen.build needs the engine library")

ROWS = 200
LABELS = ["3", "1", "2", "10", "1", "0"]


def _digits(directory: Path, count: int = ROWS, labels=LABELS) -> Path:
    """`count` text files of a 4×4 array (numpy.savetxt) and an inventory in the pandas layout."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [",id,target"]
    for row in range(count):
        np.savetxt(directory / f"r{row}.txt", (np.arange(16, dtype=np.float64).reshape(4, 4) + row) % 251)
        lines.append(f"{row},r{row},{labels[row % len(labels)]}")
    (directory / "inventory.csv").write_text("\n".join(lines) + "\n")
    return directory / "inventory.csv"


class TextEncoder:
    """A seed-style encoder: reads the record's text file."""

    def __init__(self, directory):
        self.directory = str(directory)

    def transform(self, record):
        return np.loadtxt(os.path.join(self.directory, record["id"] + ".txt"), dtype=np.float32)


def _logged(record):
    """Appends the record's id to $BUILD_LOG, then returns its row as data."""
    with open(os.environ["BUILD_LOG"], "a") as log:
        log.write(record["id"] + "\n")
    return np.full(3, int(record["id"][1:]), dtype=np.int32)


def _calls(path: Path):
    return path.read_text().split() if path.exists() else []


@pytest.fixture
def inventory(tmp_path):
    return _digits(tmp_path / "digits")


@pytest.fixture
def start_method():
    previous = multiprocessing.get_start_method(allow_none=True)

    def use(method):
        multiprocessing.set_start_method(method, force=True)

    yield use
    multiprocessing.set_start_method(previous, force=True)


def test_the_file_is_byte_identical_for_one_two_and_four_workers(tmp_path, inventory):
    files = []
    for workers in (1, 2, 4):
        out = tmp_path / f"w{workers}.dgcache"
        cache = datagen.build(inventory, out, TextEncoder(inventory.parent), target="label", workers=workers,
                              progress=False)
        assert len(cache) == ROWS and cache.columns["data"] == (np.dtype("float32"), (4, 4))
        files.append(out.read_bytes())
    assert files[0] == files[1] == files[2]
    batch = datagen.open(tmp_path / "w2.dgcache").to_numpy()
    np.testing.assert_array_equal(batch["data"][7], (np.arange(16).reshape(4, 4) + 7) % 251)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_lambdas_and_closures_build_under_every_start_method(tmp_path, inventory, start_method, method):
    start_method(method)
    scale = 0.5
    directory = str(inventory.parent)

    def closure(record):
        return np.loadtxt(os.path.join(directory, record["id"] + ".txt"), dtype=np.float32) * scale

    reference = datagen.build(inventory, tmp_path / "one.dgcache", [closure, lambda record: len(record["id"])],
                              target="int", workers=1, progress=False)
    cache = datagen.build(inventory, tmp_path / f"{method}.dgcache", [closure, lambda record: len(record["id"])],
                          target="int", workers=2, progress=False)
    assert (tmp_path / f"{method}.dgcache").read_bytes() == (tmp_path / "one.dgcache").read_bytes()
    assert set(cache.columns) == {"data0", "data1", "target"}
    batch = cache.to_numpy()
    np.testing.assert_array_equal(batch["data0"][3], ((np.arange(16).reshape(4, 4) + 3) % 251) * 0.5)
    assert batch["data1"][150] == len("r150") and reference.digest() == cache.digest()


@pytest.mark.parametrize("target", ["label", "onehot", "categorical", "int", "float"])
@pytest.mark.parametrize("labels", [LABELS, ["cat", "dog", "Émile", "ant", "Zebra"]], ids=["numbers", "words"])
def test_a_python_build_serves_the_digest_of_a_cli_build_of_the_same_values(tmp_path, cli, target, labels):
    if target in ("int", "float") and not labels[0].isdigit():
        pytest.skip("words are no numbers")
    inventory = _digits(tmp_path / "digits", 90, labels)
    cli("cache", "build", inventory, "--output", tmp_path / "cli.dgcache", "--id-suffix", ".txt",
        "--target-encoding", target)
    built = datagen.build(inventory, tmp_path / "py.dgcache", TextEncoder(inventory.parent), target=target,
                          workers=2, progress=False)
    reference = datagen.open(tmp_path / "cli.dgcache")
    assert built.columns == reference.columns and built.classes == reference.classes
    assert built.digest(batch_size=16, epochs=2) == reference.digest(batch_size=16, epochs=2)


def test_a_rerun_after_kill_9_encodes_only_the_unfinished_groups_and_gives_the_same_bytes(tmp_path, inventory):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        import numpy as np
        import datagen

        def encode(record):
            with open(os.environ["BUILD_LOG"], "a") as log:
                log.write(record["id"] + "\\n")
            time.sleep(float(os.environ.get("BUILD_SLEEP", "0")))
            return np.full(3, int(record["id"][1:]), dtype=np.int32)

        datagen.build({str(inventory)!r}, sys.argv[1], encode, target="label", workers=2, progress=False)
    """))
    env = dict(os.environ, BUILD_SLEEP="0.01", PYTHONPATH=os.pathsep.join(sys.path))
    whole = tmp_path / "whole.dgcache"
    subprocess.run([sys.executable, script, whole], env=dict(env, BUILD_LOG=str(tmp_path / "whole.log"),
                                                             BUILD_SLEEP="0"), check=True, timeout=120)
    out = tmp_path / "out.dgcache"
    first = tmp_path / "first.log"
    process = subprocess.Popen([sys.executable, script, out], env=dict(env, BUILD_LOG=str(first)),
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_calls(first)) < ROWS // 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists() and Path(f"{out}.partial.journal").exists()

    second = tmp_path / "second.log"
    subprocess.run([sys.executable, script, out], env=dict(env, BUILD_LOG=str(second)), check=True, timeout=120)
    again = [int(one[1:]) for one in _calls(second)]
    assert out.read_bytes() == whole.read_bytes()
    resumed_from = min(again)
    assert 0 < resumed_from and sorted(again) == list(range(resumed_from, ROWS)), "only a tail of groups again"
    assert resumed_from % 16 == 0  # 200 rows: groups of 16 (at least 16 rows, up to 64 groups)
    assert {int(one[1:]) for one in _calls(first)} >= set(range(resumed_from))


def test_ctrl_c_stops_the_workers_and_leaves_the_journal_for_a_resume(tmp_path, inventory):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        import numpy as np
        import datagen

        def encode(record):
            with open(os.environ["BUILD_LOG"], "a") as log:
                log.write(record["id"] + "\\n")
            time.sleep(0.02)
            return np.zeros(2, dtype=np.uint8)

        try:
            datagen.build({str(inventory)!r}, sys.argv[1], encode, workers=2, progress=False)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """))
    log = tmp_path / "calls.log"
    env = dict(os.environ, BUILD_LOG=str(log), PYTHONPATH=os.pathsep.join(sys.path))
    out = tmp_path / "out.dgcache"
    process = subprocess.Popen([sys.executable, script, out], env=env, stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    while len(_calls(log)) < 60:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in stdout
    assert Path(f"{out}.partial.journal").exists() and not out.exists()
    calls = len(_calls(log))
    time.sleep(0.3)
    assert len(_calls(log)) == calls, "no worker goes on encoding after Ctrl-C"


def _dies(record):
    if record["id"] == "r37":
        os._exit(3)
    return np.zeros(2, dtype=np.float32)


def _killed(record):
    if record["id"] == "r90":
        os.kill(os.getpid(), signal.SIGKILL)
    return np.zeros(2, dtype=np.float32)


def _segfaults(record):
    if record["id"] == "r150":
        import ctypes
        import faulthandler
        faulthandler.disable()  # pytest's handler, inherited through fork, would print the worker's stack
        ctypes.string_at(0)
    return np.zeros(2, dtype=np.float32)


@pytest.mark.parametrize("encoder, rows, how", [(_dies, range(32, 48), "exit status 3"),
                                                 (_killed, range(80, 96), "SIGKILL"),
                                                 (_segfaults, range(144, 160), "SIGSEGV")])
def test_a_worker_that_dies_fails_the_build_naming_the_group_rows(tmp_path, inventory, encoder, rows, how):
    started = time.monotonic()
    with pytest.raises(datagen.WorkerDiedError) as caught:
        datagen.build(inventory, tmp_path / "out.dgcache", encoder, workers=2, progress=False)
    assert time.monotonic() - started < 60
    assert caught.value.rows == rows and f"rows {rows.start}..{rows.stop - 1}" in str(caught.value)
    assert how in str(caught.value) and isinstance(caught.value, datagen.CacheError)


def _raises(record):
    if record["id"] == "r5":
        raise ValueError("no pixels here")
    return np.zeros(2, dtype=np.float32)


def test_an_encoder_that_raises_is_a_record_error_naming_row_id_and_encoder_with_the_cause(tmp_path, inventory):
    with pytest.raises(datagen.RecordError) as caught:
        datagen.build(inventory, tmp_path / "out.dgcache", _raises, workers=2, progress=False)
    error = caught.value
    assert isinstance(error, datagen.CacheError)
    assert (error.row, error.id) == (5, "r5") and error.encoder.endswith("_raises")
    assert "row 5" in str(error) and "'r5'" in str(error) and "_raises" in str(error)
    assert isinstance(error.__cause__, ValueError) and "no pixels here" in str(error.__cause__)


def _raises_at_100(record):
    if record["id"] == "r100":
        raise ValueError("no pixels here")
    return np.zeros(2, dtype=np.float32)


def test_a_record_error_of_a_shard_names_the_inventory_row_for_any_worker_count(tmp_path, inventory):
    for workers in (1, 2):  # shard 1 of 3 holds the inventory's rows 66..132
        with pytest.raises(datagen.RecordError) as caught:
            datagen.build(inventory, tmp_path / f"out{workers}.dgcache", _raises_at_100, workers=workers,
                          progress=False, shard=(1, 3))
        error = caught.value
        assert (error.row, error.id) == (100, "r100") and "row 100" in str(error)
        assert error.rows is not None and 100 in error.rows


def _uneven(record):
    return np.zeros(3 if record["id"] == "r7" else 4, dtype=np.float32)


def test_a_record_that_disagrees_with_the_first_names_row_id_encoder_and_both_specs(tmp_path, inventory):
    with pytest.raises(datagen.RecordError) as caught:
        datagen.build(inventory, tmp_path / "out.dgcache", _uneven, workers=1, progress=False)
    message = str(caught.value)
    assert caught.value.row == 7 and "'r7'" in message and "_uneven" in message
    assert "float32[3]" in message and "float32[4]" in message


def test_skipped_records_are_left_out_and_listed_in_the_metadata(tmp_path, inventory):
    cache = datagen.build(inventory, tmp_path / "out.dgcache", [_raises, _uneven], target="label",
                          on_error="skip", workers=2, progress=False)
    assert len(cache) == ROWS - 2 and "r5" not in cache.ids and "r7" not in cache.ids
    skipped = CacheFileReader(tmp_path / "out.dgcache").skipped
    assert [(entry["row"], entry["id"]) for entry in skipped] == [(5, "r5"), (7, "r7")]
    assert "no pixels here" in skipped[0]["reason"] and "float32[3]" in skipped[1]["reason"]


def test_an_unchanged_build_is_a_no_op_a_changed_encoder_rebuilds_and_force_always_does(tmp_path, inventory,
                                                                                          monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv("BUILD_LOG", str(log))
    out = tmp_path / "out.dgcache"
    datagen.build(inventory, out, _logged, workers=2, progress=False)
    assert len(_calls(log)) == ROWS + 1  # and row 0 once more in the parent: the columns' specs
    stamp = out.stat().st_mtime_ns
    started = time.monotonic()
    cache = datagen.build(inventory, out, _logged, workers=2, progress=False)
    assert len(_calls(log)) == ROWS + 1 and out.stat().st_mtime_ns == stamp and len(cache) == ROWS
    assert time.monotonic() - started < 2

    class Scaled:
        spec = datagen.ColumnSpec("int32", (3,))  # declared: no probe

        def __init__(self, factor):
            self.factor = factor

        def transform(self, record):
            return _logged(record) * self.factor

    calls = len(_calls(log))
    datagen.build(inventory, out, Scaled(2), workers=2, progress=False)
    assert len(_calls(log)) == calls + ROWS
    assert datagen.open(out).to_numpy()["data"][9].tolist() == [18, 18, 18]
    datagen.build(inventory, out, Scaled(3), workers=2, progress=False)  # a parameter changed: stale too
    assert len(_calls(log)) == calls + 2 * ROWS
    assert datagen.open(out).to_numpy()["data"][9].tolist() == [27, 27, 27]
    datagen.build(inventory, out, Scaled(3), workers=2, progress=False, force=True)
    assert len(_calls(log)) == calls + 3 * ROWS


class Centred:
    """fit sees the whole inventory once, in the parent, before any worker starts."""

    def __init__(self):
        self.fits = []
        self.mean = None

    def fit(self, inventory):
        self.fits.append((os.getpid(), len(inventory)))
        self.mean = float(inventory["id"].str[1:].astype(int).mean())

    def transform(self, record):
        return np.array([int(record["id"][1:]) - self.mean], dtype=np.float64)


def test_fit_runs_once_in_the_parent_over_the_whole_inventory(tmp_path, inventory):
    encoder = Centred()
    cache = datagen.build(inventory, tmp_path / "out.dgcache", encoder, workers=2, progress=False)
    assert encoder.fits == [(os.getpid(), ROWS)]
    np.testing.assert_allclose(cache.to_numpy()["data"][:, 0], np.arange(ROWS) - (ROWS - 1) / 2)


class Tokens:
    """Variable-length rows, declared."""

    spec = datagen.ColumnSpec("int32", (), variable_length=True)

    def transform_batch(self, records):
        return [np.arange(int(record["id"][1:]) % 5) for record in records]


class Padded:
    """finalize_batch sees each group's records."""

    def transform(self, record):
        return [int(record["id"][1:])]

    def finalize_batch(self, records):
        return np.asarray(records, dtype=np.int16) * 2


class Codes:
    """A seed-style target encoder: fit on the inventory, transform(frame) of a batch."""

    def fit(self, frame):
        self.classes_ = sorted(set(frame["target"].astype(str)))

    def transform(self, frame):
        return np.array([self.classes_.index(str(one)) for one in frame["target"]], dtype=np.int64)


def test_batch_encoders_variable_rows_a_declared_spec_and_a_target_encoder(tmp_path, inventory):
    frame = pandas.read_csv(inventory, index_col=0)
    records = frame.to_dict("records")
    for source in (frame, records):
        cache = datagen.build(source, tmp_path / "out.dgcache", [Tokens(), Padded(), "r{}".format], target=Codes(),
                              workers=2, progress=False, force=True)
        assert cache.columns["data0"] == (np.dtype("int32"), (None,))
        assert cache.columns["data1"] == (np.dtype("int16"), (1,))
        assert cache.columns["data2"] == (np.dtype("uint8"), (None,))
        batch = cache.to_numpy()
        assert batch["data0_lengths"].tolist()[:6] == [0, 1, 2, 3, 4, 0]
        assert batch["data1"][:, 0].tolist() == [2 * row for row in range(ROWS)]
        assert cache.classes == ["0", "1", "10", "2", "3"]
        assert batch["target"][:4].tolist() == [4, 1, 3, 2]


def test_without_the_engine_it_raises_engine_unavailable_saying_how_to_get_it(tmp_path, inventory):
    code = ("import datagen\ntry:\n    datagen.build(%r, %r, len)\nexcept datagen.EngineUnavailableError as e:\n"
            "    print('unavailable:', e)\n") % (str(inventory), str(tmp_path / "out.dgcache"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, DATAGEN_ENGINE_LIB=str(tmp_path / "missing.so")))
    assert "unavailable:" in result.stdout and "Swift toolchain" in result.stdout, result.stderr


def _a_dict(record):
    return {"pixels": 1}


def test_every_error_is_a_cache_error_bad_outputs_unpicklable_encoders_and_missing_folders(tmp_path, inventory):
    with pytest.raises(datagen.RecordError, match="no storable array for row 0"):
        datagen.build(inventory, tmp_path / "out.dgcache", _a_dict, workers=1, progress=False)
    with pytest.raises(datagen.CacheError, match="no directory"):
        datagen.build(inventory, tmp_path / "missing" / "out.dgcache", len, progress=False)

    import threading

    class Locked:
        spec = datagen.ColumnSpec("int64", ())

        def __init__(self):
            self.lock = threading.Lock()

        def transform(self, record):
            return 1

    with pytest.raises(datagen.CacheError, match="cloudpickle"):
        datagen.build(inventory, tmp_path / "out.dgcache", Locked(), workers=1, progress=False)
    with pytest.raises(datagen.OptionError):
        datagen.build(inventory, tmp_path / "out.dgcache", len, target="ordinal", progress=False)
    with pytest.raises(datagen.OptionError):
        datagen.build(inventory, tmp_path / "out.dgcache", len, on_error="ignore", progress=False)


def test_progress_is_a_bar_on_a_terminal_and_silent_otherwise(tmp_path, inventory, capfd, monkeypatch):
    datagen.build(inventory, tmp_path / "quiet.dgcache", len, workers=1)  # standard error is no terminal here
    assert capfd.readouterr().err == ""
    pytest.importorskip("tqdm")
    from datagen import _build
    monkeypatch.setattr(_build, "_show_progress", lambda: True)
    datagen.build(inventory, tmp_path / "bar.dgcache", len, workers=1)
    err = capfd.readouterr().err
    assert "rec/s" in err and f"{ROWS}/{ROWS}" in err


def test_the_parent_holds_at_most_two_groups_per_worker_in_flight(tmp_path, inventory, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    from datagen import _build
    counts = {"out": 0, "peak": 0, "submitted": 0}

    class Counting(ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            future = super().submit(fn, *args, **kwargs)
            counts["submitted"] += 1
            counts["out"] += 1
            counts["peak"] = max(counts["peak"], counts["out"])
            result = future.result

            def taken(timeout=None):
                counts["out"] -= 1
                return result(timeout)

            future.result = taken
            return future

    monkeypatch.setattr(_build.concurrent.futures, "ProcessPoolExecutor", Counting)
    datagen.build(inventory, tmp_path / "out.dgcache", _uneven_free, workers=2, progress=False)
    assert counts["submitted"] == 1 + 13  # the warm-up, then 200 rows in groups of 16
    assert counts["peak"] == 4


def _uneven_free(record):
    time.sleep(0.001)
    return np.zeros(2, dtype=np.float32)


def test_ids_of_a_csv_stay_text_as_the_cli_reads_them(tmp_path):
    (tmp_path / "inventory.csv").write_text(",id,target\n0,007,a\n1,010,b\n")
    cache = datagen.build(tmp_path / "inventory.csv", tmp_path / "out.dgcache", lambda record: len(record["id"]),
                          target="label", workers=1, progress=False)
    assert cache.ids == ["007", "010"] and cache.to_numpy()["data"].tolist() == [3, 3]


# --- shards -------------------------------------------------------------------------------------

SHARD_LABELS = ["a"] * 10 + ["b"] * 10 + ["c"] * 6 + ["d"] * 4  # shards of 3 see other classes


@pytest.mark.parametrize("target", ["label", "onehot"])
def test_shards_fit_the_whole_inventorys_classes_and_concatenate_to_the_single_file_build(tmp_path, target):
    inventory = _digits(tmp_path / "digits", 30, SHARD_LABELS)
    whole = datagen.build(inventory, tmp_path / "whole.dgcache", TextEncoder(inventory.parent), target=target,
                          workers=2, progress=False)
    shards = [datagen.build(inventory, tmp_path / f"shard{index}.dgcache", TextEncoder(inventory.parent),
                            target=target, workers=2, progress=False, shard=(index, 3)) for index in range(3)]
    assert [len(one) for one in shards] == [10, 10, 10]
    for one in shards:
        assert one.classes == whole.classes == ["a", "b", "c", "d"] and one.columns == whole.columns
    expected = whole.to_numpy()
    for name in ("data", "target"):
        np.testing.assert_array_equal(np.concatenate([one.to_numpy()[name] for one in shards]), expected[name])
    assert [row for one in shards for row in one.ids] == list(whole.ids)


def test_a_shard_agrees_with_the_cli_shard_and_reruns_as_a_no_op(tmp_path, cli):
    inventory = _digits(tmp_path / "digits", 10, SHARD_LABELS[::3])
    cli("cache", "build", inventory, "--output", tmp_path / "cli.dgcache", "--id-suffix", ".txt", "--shard", "2/3")
    built = datagen.build(inventory, tmp_path / "py.dgcache", TextEncoder(inventory.parent), target="label",
                          workers=1, progress=False, shard=(2, 3))
    reference = datagen.open(tmp_path / "cli.dgcache")
    assert len(built) == 4 and list(built.ids) == list(reference.ids) == ["r6", "r7", "r8", "r9"]
    assert built.classes == reference.classes == ["a", "b", "c", "d"]
    assert built.digest(batch_size=3) == reference.digest(batch_size=3)
    before = (tmp_path / "py.dgcache").stat().st_mtime_ns
    datagen.build(inventory, tmp_path / "py.dgcache", TextEncoder(inventory.parent), target="label",
                  workers=1, progress=False, shard=(2, 3))
    assert (tmp_path / "py.dgcache").stat().st_mtime_ns == before  # the same shard: nothing to do
    other = datagen.build(inventory, tmp_path / "py.dgcache", TextEncoder(inventory.parent), target="label",
                          workers=1, progress=False, shard=(1, 3))
    assert list(other.ids) == ["r3", "r4", "r5"]


def test_more_shards_than_rows_give_empty_caches_that_both_readers_open(tmp_path, cli):
    inventory = _digits(tmp_path / "digits", 3)
    sizes = []
    for index in range(8):
        out = tmp_path / f"py{index}.dgcache"
        built = datagen.build(inventory, out, TextEncoder(inventory.parent), target="label", workers=1,
                              progress=False, shard=(index, 8))
        cli("cache", "build", inventory, "--output", tmp_path / f"cli{index}.dgcache", "--id-suffix", ".txt",
            "--shard", f"{index}/8")
        sizes.append(len(built))
        for path in (out, tmp_path / f"cli{index}.dgcache"):
            for backend in ("engine", "numpy"):
                cache = datagen.open(path, backend=backend)
                assert len(cache) == sizes[-1] and cache.classes == ["1", "2", "3"]
                assert cache.columns["data"] == (np.dtype("float32"), (4, 4))
                assert cache.to_numpy()["data"].shape == (sizes[-1], 4, 4)
    assert sizes == [0, 0, 1, 0, 0, 1, 0, 1]


def _fails_below_r5(record):
    if int(record["id"][1:]) < 5:
        raise ValueError("unreadable")
    return np.full(2, int(record["id"][1:]), dtype=np.float32)


def test_a_shard_whose_records_are_all_skipped_is_an_empty_cache_with_the_whole_inventorys_classes(tmp_path, inventory):
    frame = pandas.read_csv(inventory, index_col=0).head(10)
    empty = datagen.build(frame, tmp_path / "empty.dgcache", _fails_below_r5, target="label", on_error="skip",
                          workers=1, progress=False, shard=(0, 2))
    assert len(empty) == 0 and empty.classes == ["0", "1", "2", "3", "10"]
    assert [entry["id"] for entry in CacheFileReader(tmp_path / "empty.dgcache").skipped] == ["r0", "r1", "r2", "r3", "r4"]
    full = datagen.build(frame, tmp_path / "full.dgcache", _fails_below_r5, target="label", on_error="skip",
                         workers=1, progress=False, shard=(1, 2))
    assert list(full.ids) == ["r5", "r6", "r7", "r8", "r9"] and full.classes == empty.classes
    for backend in ("engine", "numpy"):
        assert datagen.open(tmp_path / "empty.dgcache", backend=backend).to_numpy()["data"].shape == (0, 2)


@pytest.mark.parametrize("shard", [(3, 3), (-1, 3), (0, 0), (1,), [0, 2], "0/2", (0.0, 2)])
def test_a_bad_shard_is_an_option_error(tmp_path, inventory, shard):
    with pytest.raises(datagen.CacheError, match="shard"):
        datagen.build(inventory, tmp_path / "out.dgcache", TextEncoder(inventory.parent), progress=False, shard=shard)
    assert not (tmp_path / "out.dgcache").exists()
