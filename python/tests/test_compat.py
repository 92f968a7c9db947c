"""datagen.compat, beyond the seed's own tests (tests/seed/): the seed's bugs fixed, seeds for
shuffle and split, the seed's defaults, URLs against a local server, and the same batches served
from a cache (a CLI-built one here; GeneratorDataSet.cached through datagen.build below)."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="datagen.compat needs pandas (pip install datagen[compat])")
pytest.importorskip("sklearn", reason="datagen.compat's LabelEncoder is scikit-learn's (pip install datagen[compat])")

import datagen  # noqa: E402
from datagen import compat  # noqa: E402
from datagen.compat import (CachedDataSet, FileDataEncoder, GeneratorDataSet, IntToOneHotEncoder,  # noqa: E402
                            LabelEncoder, OneHotRecordEncoder, RecordTargetEncoder, UrlDataEncoder,
                            generator_for_files, generator_for_urls, inventory_from_items)

PYTHON_DIR = Path(__file__).resolve().parents[1]
SEED_NAMES = ["GeneratorDataSet", "DataEncoder", "BatchDataEncoder", "ResourceDataEncoder", "FileDataEncoder",
              "UrlDataEncoder", "RecordTargetEncoder", "LabelRecordEncoder", "OneHotRecordEncoder", "IdentityEncoder",
              "IntToOneHotEncoder", "LabelEncoder", "generator_for_files", "generator_for_urls", "inventory_from_csv",
              "inventory_from_records", "inventory_from_dict", "inventory_from_items", "enrich_inventory"]


def numbered_data_set(size=10):
    inventory = pd.DataFrame.from_records([{"id": f"id_{i}", "target": f"cat_{i % 3}"} for i in range(size)])
    return GeneratorDataSet(inventory, lambda record: (int(record["id"].split("_")[1]),),
                            lambda records: [int(t.split("_")[1]) for t in records["target"]])


def ids_of(data_set):
    return list(data_set.inventory["id"])


def test_every_public_name_of_the_seed_is_offered_with_its_submodules():
    for name in SEED_NAMES:
        assert getattr(compat, name) is not None, name
    assert compat.LabelEncoder.__module__.startswith("sklearn.")
    assert compat.dataset.GeneratorDataSet is GeneratorDataSet
    assert compat.encoders.FileDataEncoder is FileDataEncoder
    assert compat.factories.generator_for_files is generator_for_files
    assert set(SEED_NAMES) <= set(compat.__all__)


def test_importing_the_compat_package_loads_neither_pandas_nor_scikit_learn():
    code = ("import sys; import datagen.compat; "
            "print(sorted({'pandas', 'sklearn'} & {name.split('.')[0] for name in sys.modules}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_split_with_the_default_test_ratio_gives_an_empty_test_set():
    training, validation, test = numbered_data_set().split()  # the seed raised here (test=0.0)
    assert (training.size, validation.size, test.size) == (8, 2, 0)
    assert sorted(ids_of(training) + ids_of(validation)) == sorted(f"id_{i}" for i in range(10))
    assert test.data().shape == (0,)


def test_split_sizes_round_half_to_even():
    training, validation, test = numbered_data_set(10).split(validation=0.25, test=0.05)  # 2.5 → 2, 0.5 → 0
    assert (training.size, validation.size, test.size) == (8, 2, 0)
    with pytest.raises(ValueError, match="exceed 1.0"):
        numbered_data_set().split(validation=0.7, test=0.5)
    with pytest.raises(ValueError, match="test ratio"):
        numbered_data_set().split(test=-0.1)


def test_split_with_a_seed_chooses_the_same_records_every_time():
    first = [ids_of(part) for part in numbered_data_set(40).split(validation=0.2, test=0.3, seed=5)]
    again = [ids_of(part) for part in numbered_data_set(40).split(validation=0.2, test=0.3, seed=5)]
    other = [ids_of(part) for part in numbered_data_set(40).split(validation=0.2, test=0.3, seed=6)]
    assert first == again and first != other
    assert [len(part) for part in first] == [20, 8, 12]
    assert sorted(sum(first, [])) == sorted(f"id_{i}" for i in range(40))


def test_shuffle_with_a_seed_is_reproducible_and_keeps_records_whole():
    one, two = numbered_data_set(30), numbered_data_set(30)
    one.shuffle(seed=3)
    two.shuffle(3)  # the seed's positional random_state
    assert ids_of(one) == ids_of(two) != [f"id_{i}" for i in range(30)]
    assert list(one.inventory.index) == list(range(30))
    for _, record in one.inventory.iterrows():
        assert int(record["id"][3:]) % 3 == int(record["target"][4:])
    with pytest.raises(ValueError, match="give one"):
        one.shuffle(1, seed=2)


def test_epochs_follow_inventory_order_and_drop_the_last_partial_batch_by_default():
    data_set = numbered_data_set(10)
    batches = list(data_set.data_batches(batch_size=4, epochs=2))
    assert [batch[:, 0].tolist() for batch in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]] * 2


def test_epochs_none_is_endless():
    batches = numbered_data_set(10).batches(batch_size=5)
    taken = list(itertools.islice(batches, 7))
    assert [data[:, 0].tolist() for data, _ in taken] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]] * 3 + [[0, 1, 2, 3, 4]]


def test_a_full_shuffle_visits_each_epoch_in_the_caches_order():
    data_set = numbered_data_set(10)
    batches = list(data_set.data_batches(batch_size=3, epochs=2, truncate=False, shuffle="full", seed=9))
    served = [np.concatenate([b[:, 0] for b in batches[:4]]), np.concatenate([b[:, 0] for b in batches[4:]])]
    for epoch in (0, 1):
        expected = datagen.epoch_permutation(datagen.EpochOrder("full"), 9, epoch, 10)
        assert served[epoch].tolist() == expected.tolist()
    assert served[0].tolist() != served[1].tolist()


def test_several_data_encoders_give_a_list_of_arrays_each_finalized_by_its_own_encoder():
    class Padded:
        def transform(self, record):
            return (1,) * (int(record["id"][3:]) % 3 + 1)

        def finalize_batch(self, items):
            return [item + (0,) * (3 - len(item)) for item in items]

    data_set = GeneratorDataSet(numbered_data_set().inventory, [Padded(), lambda record: 7], None)
    padded, sevens = next(data_set.data_batches(batch_size=3, epochs=1))
    assert padded.tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]] and sevens.tolist() == [7, 7, 7]
    data, targets = next(data_set.batches(batch_size=3))
    assert targets is None


def test_an_attribute_error_inside_transform_batch_is_not_swallowed():
    class Broken:
        def transform_batch(self, records):
            raise AttributeError("a bug in the encoder")

    data_set = GeneratorDataSet(numbered_data_set().inventory, Broken(), None)
    with pytest.raises(AttributeError, match="a bug in the encoder"):
        next(data_set.data_batches(batch_size=2))


@pytest.fixture
def text_files(tmp_path):
    for i in range(6):
        (tmp_path / f"r{i}.txt").write_text(f"data_{i}\n")
    (tmp_path / "inventory.csv").write_text(",id,target\n" + "".join(f"{i},r{i}.txt,{'ab'[i % 2]}\n" for i in range(6)))
    return tmp_path


def test_a_file_encoder_without_id_mapper_uses_the_id_as_the_file_name(text_files):
    data_set = generator_for_files(text_files / "inventory.csv", str(text_files),
                                   lambda handle: int(handle.read().split("_")[1]), LabelEncoder())
    assert data_set.data().tolist() == [0, 1, 2, 3, 4, 5]
    assert data_set.targets().tolist() == [0, 1, 0, 1, 0, 1]
    assert data_set.inventory["size"].tolist() == [7] * 6
    assert list(data_set.inventory.index) == [f"r{i}.txt" for i in range(6)]


def test_a_file_encoder_without_data_path_opens_the_id_as_a_path(text_files):
    encoder = FileDataEncoder(lambda handle: handle.read(), binary=True)
    assert encoder({"id": str(text_files / "r3.txt")}) == b"data_3\n"


def test_a_subclass_overriding_transform_data_needs_no_data_encoder(text_files):
    class Lengths(FileDataEncoder):
        def _transform_data(self, data):
            return len(data.read())

    assert Lengths(data_path=str(text_files))({"id": "r0.txt"}) == 7
    with pytest.raises(ValueError, match="data_encoder must be a callable"):
        FileDataEncoder(None, str(text_files))


def test_duplicate_ids_are_refused(text_files):
    (text_files / "inventory.csv").write_text(",id,target\n0,r0.txt,a\n1,r0.txt,b\n")
    with pytest.raises(ValueError, match="duplicate ids: r0.txt"):
        generator_for_files(text_files / "inventory.csv", str(text_files), len, None)


def test_inventory_from_items_replaces_the_removed_pandas_call():
    by_columns = inventory_from_items([("id", ["a", "b"]), ("target", [1, 2])])
    assert list(by_columns.columns) == ["id", "target"] and by_columns["target"].tolist() == [1, 2]
    by_rows = inventory_from_items([("r1", ["a", 1]), ("r2", ["b", 2])], columns=["id", "target"], orient="index")
    assert list(by_rows.index) == ["r1", "r2"] and by_rows["id"].tolist() == ["a", "b"]


def test_one_hot_targets_are_dense_and_invert_to_the_labels():
    records = pd.DataFrame({"target": ["b", "a", "c", "a"]})
    encoder = OneHotRecordEncoder().fit(records)
    assert encoder.transform(records).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    assert encoder.inverse_transform(encoder.transform(records)).tolist() == ["b", "a", "c", "a"]
    assert RecordTargetEncoder(None).transform(records).tolist() == ["b", "a", "c", "a"]
    unknown = IntToOneHotEncoder().fit(np.array([0, 1]))
    assert unknown.transform(np.array([2])).tolist() == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="unknown value 2"):
        IntToOneHotEncoder(handle_unknown="error").fit(np.array([0, 1])).transform(np.array([2]))


# URLs, served by a local http.server on 127.0.0.1.

class _Handler(http.server.BaseHTTPRequestHandler):
    bodies = {"/item?q=id1": (b"data_1", "text/plain; charset=utf-8"),
              "/item?q=id2": (b"data_2", "text/plain; charset=utf-8"),
              "/item?q=id3": ("d\u00e9j\u00e0_3".encode("latin-1"), "text/plain; charset=latin-1"),
              "/json/id1": (b'{"value": [1, 2]}', "application/json"),
              "/bin/id1": (bytes(range(5)), "application/octet-stream")}
    seen_headers: list = []

    def _answer(self, with_body):
        type(self).seen_headers.append(dict(self.headers))
        if self.path == "/slow":
            threading.Event().wait(2)
        found = self.bodies.get(self.path)
        if found is None:
            self.send_error(404)
            return
        body, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_generator_for_urls_fetches_each_record_with_urllib(server, tmp_path):
    (tmp_path / "inventory.csv").write_text("id,target\nid1,x\nid2,y\nid3,x\n")
    data_set = generator_for_urls(str(tmp_path / "inventory.csv"), server, lambda text: text, LabelEncoder(),
                                  id_mapper=lambda id: "item?q=" + id, headers={"X-Token": "t1"})
    assert data_set.data().tolist() == ["data_1", "data_2", "déjà_3"]
    assert data_set.targets().tolist() == [0, 1, 0]
    assert data_set.inventory["size"].tolist() == [6, 6, 6]
    assert all(headers.get("X-Token") == "t1" for headers in _Handler.seen_headers[-6:])


def test_a_url_encoder_reads_json_and_bytes(server):
    assert UrlDataEncoder(lambda data: data["value"], server + "/json/", type="json")({"id": "id1"}) == [1, 2]
    assert UrlDataEncoder(bytes, server + "/bin/", type="binary")({"id": "id1"}) == bytes(range(5))
    assert UrlDataEncoder(len, server + "/bin/").get_size({"id": "id1"}) == 5


def test_a_url_encoder_raises_on_an_http_error_and_on_a_timeout(server):
    with pytest.raises(urllib.error.HTTPError):
        UrlDataEncoder(len, server + "/")({"id": "missing"})
    with pytest.raises(OSError):  # socket.timeout / TimeoutError, possibly wrapped in a URLError
        UrlDataEncoder(len, server + "/", timeout=0.2)({"id": "slow"})


def test_a_url_leaving_the_base_host_is_refused(server):
    encoder = UrlDataEncoder(len, server + "/data/")
    assert encoder.get_path({"id": "a?b=1"}) == server + "/data/a?b=1"
    for elsewhere in ("http://example.org/x", "//example.org/x", "https://127.0.0.1/x"):
        with pytest.raises(ValueError, match="leaves the base URL"):
            encoder.get_path({"id": elsewhere})


# Served from a cache.

def _digits(cli, tmp_path, records=40):
    cli("demo", "--records", records, "--epochs", "1", "--dir", tmp_path / "digits")
    return tmp_path / "digits"


def _encode(handle):
    return (np.loadtxt(handle).reshape(784) * 0.00392156862745098).astype(np.float32)


def _digit_set(folder):
    return generator_for_files(folder / "inventory.csv", str(folder), _encode, [LabelEncoder(), IntToOneHotEncoder()],
                               id_mapper=lambda id: id + ".txt")


def test_a_cached_data_set_serves_the_batches_of_the_uncached_one(cli, tmp_path):
    folder = _digits(cli, tmp_path)
    path = tmp_path / "digits.dgcache"
    cli("cache", "build", folder / "inventory.csv", "--output", path, "--id-suffix", ".txt", "--shape", "784",
        "--scale", "0.00392156862745098", "--target-encoding", "onehot", "--quiet")
    uncached = _digit_set(folder)
    cached = CachedDataSet(str(path), inventory=uncached.inventory)
    assert cached.size == uncached.size == 40 and cached.data_columns == ["data"] and cached.target_column == "target"
    for arguments in (dict(batch_size=16, epochs=2), dict(batch_size=7, epochs=2, truncate=False, shuffle="full", seed=4)):
        pairs = list(zip(uncached.batches(**arguments), cached.batches(**arguments), strict=True))
        assert len(pairs) == (4 if arguments.get("truncate", True) else 12)
        for (data, targets), (cached_data, cached_targets) in pairs:
            np.testing.assert_allclose(cached_data, data, rtol=1e-6)
            np.testing.assert_array_equal(cached_targets, targets)
    np.testing.assert_allclose(cached.data(), uncached.data(), rtol=1e-6)
    np.testing.assert_array_equal(cached.targets(), uncached.targets())
    # split chooses the same records by rows, without touching the file
    before = os.stat(path).st_mtime_ns
    for part, cached_part in zip(uncached.split(validation=0.25, test=0.25, seed=1),
                                 cached.split(validation=0.25, test=0.25, seed=1), strict=True):
        assert list(cached_part.inventory["id"]) == list(part.inventory["id"])
        assert [cache_ids for cache_ids in np.array(cached.cache.ids)[cached_part.rows]] == list(part.inventory["id"])
        np.testing.assert_allclose(cached_part.data(), part.data(), rtol=1e-6)
    assert os.stat(path).st_mtime_ns == before
    with pytest.raises(ValueError, match="batch_size larger than data set size"):
        cached.batches(batch_size=41)
    # shuffle and sort reorder the cached rows as they reorder the uncached inventory
    uncached.shuffle(seed=4)
    cached.shuffle(seed=4)
    assert list(cached.inventory["id"]) == list(uncached.inventory["id"])
    np.testing.assert_allclose(cached.data(), uncached.data(), rtol=1e-6)
    uncached.sort(columns=["target", "id"])
    cached.sort(columns=["target", "id"])
    assert list(cached.inventory["id"]) == list(uncached.inventory["id"])
    np.testing.assert_array_equal(cached.targets(), uncached.targets())


def test_the_cached_data_sets_keras_and_torch_views_serve_its_rows(cli, tmp_path):
    pytest.importorskip("torch", reason="torch is not installed")
    folder = _digits(cli, tmp_path)
    path = tmp_path / "digits.dgcache"
    cli("cache", "build", folder / "inventory.csv", "--output", path, "--id-suffix", ".txt", "--shape", "784",
        "--target-encoding", "onehot", "--quiet")
    training, _, _ = CachedDataSet(str(path)).split(validation=0.25, test=0.25, seed=2)
    expected = list(training.batches(batch_size=8, epochs=1))
    items = list(training.torch(8))
    assert len(items) == len(expected) == 2
    for (x, y), (data, targets) in zip(items, expected):
        np.testing.assert_array_equal(x.numpy(), data)
        np.testing.assert_array_equal(y.numpy(), targets)
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "torch":
        pytest.importorskip("keras", reason="keras is not installed")
        view = training.keras(8)
        assert len(view) == 2
        x, y = view[1]
        np.testing.assert_array_equal(x, expected[1][0])
        np.testing.assert_array_equal(y, expected[1][1])


# GeneratorDataSet.cached, through datagen.build.

needs_build = pytest.mark.skipif(not datagen.engine_available(),
                                 reason="datagen.build, which GeneratorDataSet.cached writes with, needs the engine, "
                                        "which this installation lacks")


@needs_build
def test_cached_builds_once_then_opens_and_serves_the_same_batches(cli, tmp_path):
    uncached = _digit_set(_digits(cli, tmp_path))
    path = tmp_path / "built.dgcache"
    cached = uncached.cached(path, workers=2, progress=False)
    assert isinstance(cached, CachedDataSet) and cached.size == 40
    arguments = dict(batch_size=8, epochs=2, truncate=False, shuffle="full", seed=3)
    for (data, targets), (cached_data, cached_targets) in zip(uncached.batches(**arguments),
                                                              cached.batches(**arguments), strict=True):
        np.testing.assert_array_equal(cached_data, data)
        np.testing.assert_allclose(cached_targets, targets)
    before = os.stat(path).st_mtime_ns
    again = uncached.cached(path, workers=2, progress=False)  # fresh: opened, not rebuilt
    assert os.stat(path).st_mtime_ns == before
    training, validation, test = again.split(validation=0.25, test=0.25, seed=0)
    for part, cached_part in zip(uncached.split(validation=0.25, test=0.25, seed=0), (training, validation, test)):
        np.testing.assert_array_equal(cached_part.data(), part.data())
    assert os.stat(path).st_mtime_ns == before


@needs_build
def test_cached_takes_plain_function_encoders(tmp_path):
    data_set = numbered_data_set(12)
    cached = data_set.cached(tmp_path / "numbers.dgcache", workers=1, progress=False)
    np.testing.assert_array_equal(cached.data(), data_set.data())
    np.testing.assert_array_equal(cached.targets(), data_set.targets())


@needs_build
def test_cached_serves_an_inventory_without_ids_and_several_data_encoders(tmp_path):
    inventory = pd.DataFrame({"x": [3, 1, 4, 1, 5, 9, 2, 6], "target": list("abcabcab")})
    data_set = GeneratorDataSet(inventory, [lambda record: float(record["x"]) * 2,
                                            lambda record: np.full(3, record["x"], dtype=np.int32)],
                                compat.LabelRecordEncoder())
    data_set.fit_encoders()
    cached = data_set.cached(tmp_path / "no-ids.dgcache", workers=1, progress=False)
    assert cached.data_columns == ["data0", "data1"]
    for (data, targets), (cached_data, cached_targets) in zip(data_set.batches(batch_size=3, epochs=1),
                                                              cached.batches(batch_size=3, epochs=1), strict=True):
        assert len(cached_data) == 2
        np.testing.assert_array_equal(cached_data[0], data[0])
        np.testing.assert_array_equal(cached_data[1], data[1])
        np.testing.assert_array_equal(cached_targets, targets)
    with pytest.raises(ValueError, match="no data encoder"):
        GeneratorDataSet(inventory).cached(tmp_path / "nothing.dgcache")


# The seed's MNIST example, on Keras 3.

def test_the_mnist_example_trains_uncached_and_cached(tmp_path):
    for module in ("keras", "torch"):
        pytest.importorskip(module, reason=f"the example needs {module}")
    environment = dict(os.environ, KERAS_BACKEND="torch", PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, str(PYTHON_DIR / "examples" / "mnist_with_generator.py"),
                             "--records", "60", "--epochs", "1", "--batch-size", "8", "--workers", "1", "--quiet",
                             "--dir", str(tmp_path / "mnist"), "--cache", str(tmp_path / "mnist.dgcache")],
                            cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "uncached epoch times: " in result.stdout
    written = pd.read_csv(tmp_path / "mnist" / "inventory.csv")
    assert list(written.columns) == ["Unnamed: 0", "id", "target"] and len(written) == 60
    image = np.loadtxt(tmp_path / "mnist" / (written["id"][0] + ".txt"))
    assert image.shape == (28, 28) and image.max() <= 255 and image.max() > 100
    if datagen.engine_available():
        assert "cached epoch times: " in result.stdout, result.stdout[-3000:]
    else:
        assert "cached run skipped: " in result.stdout
