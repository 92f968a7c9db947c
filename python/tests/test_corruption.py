"""Bad files: every corrupted byte, truncation or foreign file raises CacheError, never a crash."""

import errno
import json
import os
import struct
import zlib

import lz4.block

import numpy as np
import pytest

import datagen
from datagen._errors import ChecksumError, CorruptError, NotACacheError, TruncatedError


def _exercise(path):
    """Opens the file and reads everything; returns the error raised, if any (only CacheError is allowed)."""
    try:
        cache = datagen.open(path, backend="numpy")
        cache.to_numpy()
        cache.ids
        for _ in cache.batches(batch_size=7, shuffle="full", seed=1):
            pass
        cache.verify()
    except datagen.CacheError as error:
        assert str(error), "an error without a message"
        return error
    return None


def _region_offsets(data: bytes):
    """A few offsets in each region of a cache: header, data units, index tables, metadata, trailer."""
    index_offset, index_length, meta_length = struct.unpack_from("<QQQ", data, len(data) - 64)
    meta_start = index_offset + index_length - meta_length
    return {
        "header": [0, 8, 12, 20],
        "data": [64, (64 + index_offset) // 2, index_offset - 1],
        "tables": [index_offset, (index_offset + meta_start) // 2, meta_start - 1],
        "metadata": [meta_start, (meta_start + len(data) - 64) // 2],
        "trailer": [len(data) - 64, len(data) - 40, len(data) - 36, len(data) - 30, len(data) - 1],
    }


def test_every_single_flipped_byte_is_reported_by_verify(caches, tmp_path):
    original = caches["text-none-lz4"].read_bytes()
    target = tmp_path / "flipped.dgcache"
    for offset in range(len(original)):
        data = bytearray(original)
        data[offset] ^= 0x5A
        target.write_bytes(bytes(data))
        error = _exercise(target)
        assert error is not None, f"a flipped byte at offset {offset} went unnoticed"
        assert str(target) in str(error)


@pytest.mark.parametrize("kind", ["big-float-lz4", "raw-int-lz4", "npy-onehot-lz4hc", "raw-int-none"])
def test_flipped_bytes_in_each_region_give_the_cli_message(cli, caches, kind, tmp_path):
    original = caches[kind].read_bytes()
    target = tmp_path / "bad.dgcache"
    for region, offsets in _region_offsets(original).items():
        for offset in offsets:
            data = bytearray(original)
            data[offset] ^= 0xFF
            target.write_bytes(bytes(data))
            error = _exercise(target)
            assert error is not None, f"{region} byte {offset}"
            swift = cli("cache", "verify", target, check=False)
            assert swift.returncode == 1
            assert swift.stderr.strip() == f"datagen: error: {error}", f"{region} byte {offset}"


def test_a_damaged_unit_names_the_unit_rows_column_and_offset(caches, tmp_path):
    original = bytearray(caches["big-float-lz4"].read_bytes())
    cache = datagen.open(caches["big-float-lz4"], backend="numpy")
    column = cache._reader.column("data")
    units = cache._reader.table_array(column.units, datagen._format.UNIT_DTYPE)
    offset = int(units["offset"][5])
    original[offset + 1] ^= 1
    target = tmp_path / "unit.dgcache"
    target.write_bytes(bytes(original))
    with pytest.raises(ChecksumError) as raised:
        datagen.open(target, backend="numpy").to_numpy()
    assert str(raised.value) == f"{target}: checksum mismatch in unit 5 (rows 5..<6) of column 'data' at offset {offset}"


@pytest.mark.parametrize("length", [0, 1, 8, 63, 64, 100, 127, 128, 1000, -1, -64, -65])
def test_truncated_files_are_reported_as_such(caches, tmp_path, length):
    original = caches["text-label-lz4"].read_bytes()
    data = original[:length] if length >= 0 else original[:len(original) + length]
    target = tmp_path / "cut.dgcache"
    target.write_bytes(data)
    error = _exercise(target)
    assert error is not None
    if length == 0:
        assert isinstance(error, NotACacheError)
    else:
        assert isinstance(error, (TruncatedError, CorruptError))
        assert str(target) in str(error)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + bytes(200), b"id,target\n1,2\n", b"DGCACHX\0" + bytes(120),
                                     b"DGCACHE\0" + bytes(56) + os.urandom(300)])
def test_foreign_files_raise_cache_errors(tmp_path, content):
    target = tmp_path / "foreign.bin"
    target.write_bytes(content)
    error = _exercise(target)
    assert error is not None
    assert str(target) in str(error)


def test_missing_files_and_directories_raise_cache_errors_naming_them(tmp_path):
    with pytest.raises(datagen.CacheError, match="nope.dgcache"):
        datagen.open(tmp_path / "nope.dgcache", backend="numpy")
    with pytest.raises(datagen.CacheError, match=str(tmp_path)):
        datagen.open(tmp_path, backend="numpy")


def test_random_damage_never_escapes_as_another_exception(caches, tmp_path):
    rng = np.random.default_rng(12)
    original = caches["raw-int-lz4"].read_bytes()
    target = tmp_path / "random.dgcache"
    for _ in range(60):
        data = bytearray(original)
        for offset in rng.integers(0, len(data), size=int(rng.integers(1, 20))):
            data[offset] = int(rng.integers(0, 256))
        target.write_bytes(bytes(data))
        _exercise(target)


def test_a_newer_format_version_is_refused_naming_the_version(caches, tmp_path):
    data = bytearray(caches["text-label-lz4"].read_bytes())
    data[8:12] = struct.pack("<I", 4)
    target = tmp_path / "v4.dgcache"
    target.write_bytes(bytes(data))
    with pytest.raises(datagen.UnsupportedVersionError, match="version 4; this reader supports version 3"):
        datagen.open(target, backend="numpy")


def _rewrite_metadata(data: bytearray, change):
    """The cache bytes with the metadata document changed by ``change(meta)`` (lengths and CRC fixed)."""
    index_offset, index_length, meta_length = struct.unpack_from("<QQQ", data, len(data) - 64)
    meta_start = index_offset + index_length - meta_length
    meta = json.loads(bytes(data[meta_start:index_offset + index_length]))
    change(meta)
    document = json.dumps(meta, separators=(",", ":")).encode()
    trailer = bytearray(data[-64:])
    struct.pack_into("<QQI", trailer, 8, meta_start - index_offset + len(document), len(document), zlib.crc32(document))
    return bytearray(data[:meta_start]) + document + trailer


def test_a_unit_that_decodes_short_is_corrupt_never_stretched_into_the_rows(caches, tmp_path):
    # A unit whose LZ4 block is sound but one byte short of the unit's raw length, with every
    # CRC fixed: only the decoded length gives it away.
    data = bytearray(caches["raw-int-lz4"].read_bytes())
    index_offset, index_length, meta_length = struct.unpack_from("<QQQ", data, len(data) - 64)
    meta = json.loads(bytes(data[index_offset + index_length - meta_length:index_offset + index_length]))
    column = next(c for c in meta["columns"] if c["name"] == "data")
    units = index_offset + column["units"]["offset"]
    stream = np.frombuffer(data, "<u8", column["rowOffsets"]["count"], index_offset + column["rowOffsets"]["offset"])
    first_rows = np.frombuffer(data, "<u8", column["unitCount"], index_offset + column["unitFirstRows"]["offset"])
    for u in range(column["unitCount"]):
        offset, length, crc, flags = struct.unpack_from("<QQII", data, units + 24 * u)
        end = int(first_rows[u + 1]) if u + 1 < column["unitCount"] else len(stream) - 1
        raw_length = int(stream[end] - stream[int(first_rows[u])])
        if flags or raw_length < 2:
            continue
        raw = lz4.block.decompress(bytes(data[offset:offset + length]), uncompressed_size=raw_length)
        short = lz4.block.compress(raw[:-1], store_size=False)
        if len(short) <= length and raw_length <= 255 * len(short):
            break
    else:
        pytest.skip("no unit of this cache can be rewritten in place")
    data[offset:offset + length] = short + bytes(length - len(short))
    struct.pack_into("<QI", data, units + 24 * u + 8, len(short), zlib.crc32(short))
    table = bytes(data[units:units + 24 * column["unitCount"]])

    def fix_units_crc(meta):
        next(c for c in meta["columns"] if c["name"] == "data")["units"]["crc32"] = zlib.crc32(table)

    target = tmp_path / "short.dgcache"
    target.write_bytes(bytes(_rewrite_metadata(data, fix_units_crc)))
    cache = datagen.open(target, backend="numpy")
    with pytest.raises(CorruptError, match=f"unit {u} does not decode to its {raw_length} bytes") as caught:
        cache.to_numpy()
    assert caught.value.column == "data"


def _refused_at_open(caches, tmp_path, kind, change, match):
    """The CorruptError that opening ``kind``'s cache raises once ``change`` edited its metadata."""
    target = tmp_path / "edited.dgcache"
    target.write_bytes(bytes(_rewrite_metadata(bytearray(caches[kind].read_bytes()), change)))
    with pytest.raises(CorruptError, match=match) as caught:
        datagen.open(target, backend="numpy")
    return caught.value


def test_rows_beyond_what_the_units_can_hold_are_refused_naming_the_column(caches, tmp_path):
    def claim_a_trillion_rows(meta):
        meta["rowCount"] = meta["statistics"]["recordsWritten"] = 10 ** 12
    error = _refused_at_open(caches, tmp_path, "text-none-lz4", claim_a_trillion_rows, "units cannot hold 1000000000000 rows")
    assert error.column == "data"


def test_a_shape_beyond_int64_is_refused_naming_the_column(caches, tmp_path):
    def enormous_shape(meta):
        meta["columns"][0]["shape"] = [2 ** 64]
    assert _refused_at_open(caches, tmp_path, "text-none-lz4", enormous_shape, "too large").column == "data"


def test_a_metadata_type_error_in_a_column_names_the_column(caches, tmp_path):
    def text_unit_count(meta):
        meta["columns"][-1]["unitCount"] = "many"
    error = _refused_at_open(caches, tmp_path, "raw-int-lz4", text_unit_count, "'unitCount' is not an integer")
    assert error.column == "target"


# -- the same class from both backends -----------------------------------------------------------

BACKENDS = ["numpy", "engine"]


def _damaged(caches, tmp_path, case):
    """The file of a fault case: (path, whether the fault shows at open or only when reading)."""
    original = bytearray(caches["big-float-lz4"].read_bytes())
    target = tmp_path / f"{case}.dgcache"
    if case == "missing":
        return target, "open"
    if case == "empty":
        target.write_bytes(b"")
    elif case == "foreign":
        target.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    elif case == "cut-off":
        target.write_bytes(bytes(original[:-1]))
    elif case == "newer-version":
        original[8:12] = struct.pack("<I", 4)
        target.write_bytes(bytes(original))
    elif case == "metadata-checksum":
        index_offset, index_length, meta_length = struct.unpack_from("<QQQ", original, len(original) - 64)
        original[index_offset + index_length - meta_length + 3] ^= 0x20
        target.write_bytes(bytes(original))
    elif case == "trailer-reserved":
        original[-20] ^= 1
        target.write_bytes(bytes(original))
    elif case == "unit-checksum":
        reference = datagen.open(caches["big-float-lz4"], backend="numpy")
        units = reference._reader.table_array(reference._reader.column("data").units, datagen._format.UNIT_DTYPE)
        original[int(units["offset"][5]) + 1] ^= 1
        target.write_bytes(bytes(original))
        return target, "read"
    elif case == "directory":
        return tmp_path, "open"
    return target, "open"


FAULTS = {
    "missing": datagen.CacheFileNotFoundError,
    "empty": NotACacheError,
    "foreign": NotACacheError,
    "cut-off": TruncatedError,
    "newer-version": datagen.UnsupportedVersionError,
    "metadata-checksum": ChecksumError,
    "trailer-reserved": CorruptError,
    "unit-checksum": ChecksumError,
    "directory": datagen.CacheError,
}


def _fault(backend, path, when):
    """The error that opening (or reading all of) ``path`` raises."""
    with pytest.raises(datagen.CacheError) as raised:
        cache = datagen.open(path, backend=backend)
        assert when == "read", "the fault went unnoticed at open"
        cache.to_numpy()
    return raised.value


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(FAULTS))
def test_each_fault_raises_its_own_class_from_either_backend(caches, tmp_path, case, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    path, when = _damaged(caches, tmp_path, case)
    error = _fault(backend, path, when)
    assert type(error) is FAULTS[case], f"{backend}: {type(error).__name__}: {error}"
    assert str(path) in str(error) and error.path == str(path)


@pytest.mark.parametrize("case", list(FAULTS))
def test_both_backends_give_the_same_class_and_message(caches, tmp_path, case):
    if not datagen.engine_available():
        pytest.skip("the engine library was not built")
    path, when = _damaged(caches, tmp_path, case)
    numpy_error, engine_error = _fault("numpy", path, when), _fault("engine", path, when)
    assert type(numpy_error) is type(engine_error)
    assert str(numpy_error) == str(engine_error)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_missing_file_is_also_a_file_not_found_error(tmp_path, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    path = tmp_path / "nope.dgcache"
    with pytest.raises(FileNotFoundError) as raised:
        datagen.open(path, backend=backend)
    error = raised.value
    assert isinstance(error, datagen.CacheError) and isinstance(error, OSError)
    assert (error.errno, error.filename) == (errno.ENOENT, str(path))
    assert str(error) == f"open {path}: No such file or directory"


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_arguments_raise_option_errors_that_are_value_errors(caches, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    cache = datagen.open(caches["raw-int-lz4"], backend=backend)
    for arguments in ({"shuffle": "sideways"}, {"rank": 2, "world_size": 2}, {"rows": [0, 5000]},
                      {"batch_size": 5000, "drop_last": True}, {"epochs": -1}):
        with pytest.raises(ValueError) as raised:
            cache.batches(**arguments)
        assert type(raised.value) is datagen.OptionError, arguments


def test_errors_survive_pickling_with_their_class_message_and_details(caches, tmp_path):
    import pickle

    path, _ = _damaged(caches, tmp_path, "unit-checksum")
    for backend in ["numpy"] + (["engine"] if datagen.engine_available() else []):
        error = _fault(backend, path, "read")
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is ChecksumError and str(copy) == str(error) and copy.path == error.path
        assert copy.column == error.column
    missing = pickle.loads(pickle.dumps(datagen.CacheFileNotFoundError(str(tmp_path / "x"))))
    assert isinstance(missing, FileNotFoundError) and missing.errno == errno.ENOENT
