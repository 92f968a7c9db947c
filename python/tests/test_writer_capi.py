"""The C API's writer (dg_writer_* of datagen.h) called through ctypes, as `datagen.build` will call it:
groups put, aborted after two and resumed give the bytes of an uninterrupted write, and the cache
reads back with the values put."""

from __future__ import annotations

import ctypes
import hashlib
import json

import numpy as np
import pytest

import datagen
from datagen import _engine

ROWS, GROUP = 50, 8
SCHEMA = json.dumps({
    "columns": [
        {"name": "data", "dtype": "float32", "shape": [4], "encoder": "test.pixels@1"},
        {"name": "tokens", "dtype": "int32", "shape": [], "variable_length": True, "encoder": "test.tokens@1"},
        {"name": "target", "role": "target", "dtype": "int64", "shape": [], "encoder": "test.int@1"},
    ],
    "records": ROWS, "rows_per_group": GROUP, "codec": "lz4",
})
DIGEST = hashlib.sha256(b"fifty rows").hexdigest()


def _library():
    path = _engine.library_path()
    if not path.exists():
        pytest.skip(f"no engine library at {path} (set DATAGEN_ENGINE_LIB)")
    lib = ctypes.CDLL(str(path))
    if not hasattr(lib, "dg_writer_open"):
        pytest.skip(f"{path} has no writer (an older build)")
    p, i32, i64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64
    lib.dg_last_error.restype, lib.dg_last_error.argtypes = i64, [ctypes.c_char_p, i64]
    lib.dg_writer_open.restype = i32
    lib.dg_writer_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(p),
                                   ctypes.POINTER(i64)]
    lib.dg_writer_put_group.restype = i32
    lib.dg_writer_put_group.argtypes = [p, i64, ctypes.POINTER(p), ctypes.POINTER(i64), ctypes.POINTER(p),
                                        ctypes.c_char_p]
    lib.dg_writer_finish.restype, lib.dg_writer_finish.argtypes = i32, [p, ctypes.c_char_p, ctypes.POINTER(i64),
                                                                        ctypes.c_char_p]
    lib.dg_writer_abort.restype, lib.dg_writer_abort.argtypes = None, [p]
    return lib


def _error(lib):
    buffer = ctypes.create_string_buffer(1024)
    lib.dg_last_error(buffer, 1024)
    return buffer.value.decode()


def _row(index):
    return (np.arange(4, dtype=np.float32) + index * 4,
            np.arange(index % 5, dtype=np.int32) * (index + 1),
            np.int64(index % 3))


def _open(lib, path):
    writer, done = ctypes.c_void_p(), ctypes.c_int64(-1)
    status = lib.dg_writer_open(str(path).encode(), SCHEMA.encode(), DIGEST.encode(), ctypes.byref(writer),
                                ctypes.byref(done))
    assert status == 0, _error(lib)
    return writer, done.value


def _put(lib, writer, group):
    rows = [_row(index) for index in range(group * GROUP, min(ROWS, (group + 1) * GROUP))]
    columns = [np.stack([row[0] for row in rows]), np.concatenate([row[1] for row in rows]),
               np.array([row[2] for row in rows], dtype=np.int64)]
    lengths = np.array([len(row[1]) for row in rows], dtype=np.int64)
    buffers = (ctypes.c_void_p * 3)(*[column.ctypes.data for column in columns])
    sizes = (ctypes.c_int64 * 3)(*[column.nbytes for column in columns])
    length_pointers = (ctypes.c_void_p * 3)(None, lengths.ctypes.data, None)
    assert lib.dg_writer_put_group(writer, group, buffers, sizes, length_pointers, None) == 0, _error(lib)


def _finish(lib, writer):
    ids = [f"row{index}".encode() for index in range(ROWS)]
    lengths = (ctypes.c_int64 * ROWS)(*[len(one) for one in ids])
    assert lib.dg_writer_finish(writer, b"".join(ids), lengths, None) == 0, _error(lib)


def test_an_aborted_write_resumes_to_the_bytes_of_an_uninterrupted_one(tmp_path):
    lib = _library()
    whole = tmp_path / "whole.dgcache"
    writer, done = _open(lib, whole)
    assert done == 0
    for group in range(7):
        _put(lib, writer, group)
    _finish(lib, writer)

    resumed = tmp_path / "resumed.dgcache"
    writer, done = _open(lib, resumed)
    for group in range(2):
        _put(lib, writer, group)
    lib.dg_writer_abort(writer)
    assert not resumed.exists() and (tmp_path / "resumed.dgcache.partial.journal").exists()
    writer, done = _open(lib, resumed)
    assert done == 2
    for group in range(done, 7):
        _put(lib, writer, group)
    _finish(lib, writer)
    assert resumed.read_bytes() == whole.read_bytes()

    cache = datagen.open(resumed, backend="numpy")
    assert len(cache) == ROWS
    assert list(cache.ids) == [f"row{index}" for index in range(ROWS)]
    batch = cache.to_numpy()
    np.testing.assert_array_equal(batch["data"], np.stack([_row(index)[0] for index in range(ROWS)]))
    np.testing.assert_array_equal(batch["target"], np.array([_row(index)[2] for index in range(ROWS)]))
    assert batch["tokens_lengths"].tolist() == [index % 5 for index in range(ROWS)]


def test_a_group_out_of_order_is_an_argument_error_naming_the_next_group(tmp_path):
    lib = _library()
    writer, _ = _open(lib, tmp_path / "out.dgcache")
    try:
        buffers = (ctypes.c_void_p * 3)(None, None, None)
        sizes = (ctypes.c_int64 * 3)(0, 0, 0)
        assert lib.dg_writer_put_group(writer, 3, buffers, sizes, None, None) == -2
        assert "group 3 given where group 0" in _error(lib)
    finally:
        lib.dg_writer_abort(writer)
