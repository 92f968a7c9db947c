"""The engine backend: the Swift engine's C API (include/datagen.h) through ctypes.

Calls release the GIL (``ctypes.CDLL``); the engine gathers and decompresses the next batches on
its own threads while Python trains, and copies each batch into numpy arrays Python owns.
"""

from __future__ import annotations

import ctypes
import json
import os
from pathlib import Path

import numpy as np

from ._batches import check_state, digest_batches, make_plan, run_state, subset_rows
from ._errors import CacheError, EngineUnavailableError, OptionError

__all__ = ["EngineCache", "available", "library_path"]

_OK, _END, _ERR_CACHE, _ERR_ARGUMENT, _ERR_BUFFER = 0, 1, -1, -2, -3
_SHUFFLE = {"none": 0, "full": 1, "window": 2}
_lib = None
_load_error = None


def library_path() -> Path:
    """Where the engine library is looked for: ``$DATAGEN_ENGINE_LIB``, else inside the package."""
    override = os.environ.get("DATAGEN_ENGINE_LIB")
    return Path(override) if override else Path(__file__).with_name("_lib") / "libCDataGenerator.so"


def _load():
    global _lib, _load_error
    if _lib is not None or _load_error is not None:
        return _lib
    path = library_path()
    if not path.exists():
        _load_error = f"{path} does not exist: this installation was built without a Swift toolchain"
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as error:
        _load_error = f"cannot load {path}: {error}"
        return None
    p, i32, i64, u64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64
    pp = ctypes.POINTER(ctypes.c_void_p)
    i64p = ctypes.POINTER(ctypes.c_int64)
    signatures = {
        "dg_last_error": (i64, [ctypes.c_char_p, i64]),
        "dg_open": (i32, [ctypes.c_char_p, i64, pp]),
        "dg_close": (None, [p]),
        "dg_info_json": (i32, [p, ctypes.c_char_p, i64, i64p]),
        "dg_row_id": (i32, [p, i64, ctypes.c_char_p, i64, i64p]),
        "dg_verify": (i32, [p]),
        "dg_iterator_create": (i32, [p, p, i64, i64, i32, u64, i64, i64, i64, i64, i32, i32, i32, pp]),
        "dg_iterator_batches_per_epoch": (i64, [p]),
        "dg_iterator_peek": (i32, [p, i64p, p]),
        "dg_iterator_fill": (i32, [p, p, p, p]),
        "dg_iterator_seek": (i32, [p, i64, i64]),
        "dg_iterator_position": (i32, [p, i64p, i64p]),
        "dg_iterator_free": (None, [p]),
    }
    for name, (result, arguments) in signatures.items():
        function = getattr(lib, name)
        function.restype = result
        function.argtypes = arguments
    _lib = lib
    return lib


def available() -> bool:
    """Whether the engine library exists and loads."""
    return _load() is not None


def _require():
    lib = _load()
    if lib is None:
        raise EngineUnavailableError(
            f"the engine backend is not available: {_load_error}. Install with a Swift toolchain on PATH "
            "(pip install ./python runs swift build -c release for the CDataGenerator product), set "
            "DATAGEN_ENGINE_LIB to a built libCDataGenerator.so, or use backend='numpy'")
    return lib


def _message(lib) -> str:
    buffer = ctypes.create_string_buffer(4096)
    length = lib.dg_last_error(buffer, len(buffer))
    if length >= len(buffer):
        buffer = ctypes.create_string_buffer(length + 1)
        lib.dg_last_error(buffer, len(buffer))
    return buffer.value.decode("utf-8", "replace")


def _check(lib, status, path=None):
    if status in (_OK, _END):
        return status
    message = _message(lib)
    if status == _ERR_CACHE:
        raise CacheError(message, path)
    raise OptionError(message, path)


def _text(lib, call, path):
    length = ctypes.c_int64()
    _check(lib, call(None, 0, ctypes.byref(length)), path)
    buffer = ctypes.create_string_buffer(length.value + 1)
    _check(lib, call(buffer, len(buffer), ctypes.byref(length)), path)
    return buffer.raw[:length.value].decode("utf-8")


class EngineCache:
    """A cache file served by the Swift engine (``datagen.open(path, backend="engine")``); the
    same API and the same batches as :class:`datagen.NumpyCache`."""

    backend = "engine"

    def __init__(self, path, memory_budget: int | None = None):
        self._lib = _require()
        self.path = os.fspath(path)
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.dg_open(self.path.encode("utf-8"), int(memory_budget or 0),
                                            ctypes.byref(handle)), self.path)
        self._handle = handle
        info = json.loads(_text(self._lib, lambda b, c, n: self._lib.dg_info_json(self._handle, b, c, n), self.path))
        self._info = info
        self._columns = [(c["name"], np.dtype(c["dtype"]), tuple(c["shape"]), c["variable_length"], c["role"])
                         for c in info["columns"]]

    # -- description ------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """The number of rows."""
        return self._info["rows"]

    def __len__(self):
        return self.rows

    @property
    def columns(self) -> dict:
        """``{name: (numpy dtype, shape of one row)}``; a variable first axis is ``None``."""
        return {name: (dtype, shape) for name, dtype, shape, _, _ in self._columns}

    @property
    def roles(self) -> dict:
        """``{name: "data" or "target"}``."""
        return {name: role for name, _, _, _, role in self._columns}

    @property
    def classes(self):
        """The target encoder's label classes, or ``None``."""
        return self._info["classes"]

    @property
    def fingerprint(self) -> str:
        """The cache's fingerprint."""
        return self._info["fingerprint"]

    @property
    def ids(self):
        """Every row's id, or ``None`` when the rows have none."""
        if not self._info["has_ids"]:
            return None
        lib, handle = self._lib, self._handle
        return [_text(lib, lambda b, c, n, r=row: lib.dg_row_id(handle, r, b, c, n), self.path)
                for row in range(self.rows)]

    def verify(self) -> None:
        """Checks every checksum (``datagen cache verify``); raises :class:`CacheError`."""
        _check(self._lib, self._lib.dg_verify(self._handle), self.path)

    def close(self):
        """Releases the handle (iterators keep what they need)."""
        if getattr(self, "_handle", None):
            self._lib.dg_close(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<datagen.Cache {self.path!r} backend=engine rows={self.rows} columns={list(self.columns)}>"

    # -- batches ----------------------------------------------------------------------------

    def batches(self, batch_size=128, shuffle="full", seed=0, epoch=0, rank=0, world_size=1, drop_last=False,
                rows=None, epochs=1, workers=1, prefetch=0, reuse=0) -> "EngineBatchIterator":
        """Batches as :meth:`datagen.NumpyCache.batches`, gathered by ``workers`` engine threads
        (0: on the calling thread) up to ``prefetch`` batches ahead (0: twice the workers).

        ``reuse=N`` (N ≥ 1) recycles N sets of output arrays: a batch's arrays are then overwritten
        N batches later, so use each batch before drawing N more. This saves allocating (and
        page-faulting) fresh memory per batch, which costs more than the gather itself for large
        batches; the default (0) returns new arrays every time."""
        if self._handle is None:
            raise CacheError(f"{self.path} is closed", self.path)
        subset = subset_rows(rows, self.rows, self.path)
        # Checks the arguments exactly as the numpy backend does (same messages).
        plan = make_plan(self.rows if subset is None else len(subset), batch_size, shuffle, seed, rank, world_size,
                         drop_last)
        mode = _SHUFFLE["full" if shuffle is True else "none" if shuffle in (False, None) else shuffle]
        if epochs is not None and int(epochs) < 0:
            raise OptionError(f"epochs {epochs!r} must be a non-negative integer or None (endless)")
        return EngineBatchIterator(self, subset, int(batch_size), mode, int(seed), int(epoch),
                                   None if epochs is None else int(epochs), int(rank), int(world_size),
                                   bool(drop_last), int(workers), int(prefetch), int(reuse), plan)

    def to_numpy(self) -> dict:
        """Every column whole, as :meth:`datagen.NumpyCache.to_numpy`."""
        if self.rows == 0:
            batch = {}
            for name, dtype, shape, variable, _ in self._columns:
                batch[name] = np.zeros((0,) + ((0,) + shape[1:] if variable else shape), dtype=dtype)
                if variable:
                    batch[name + "_lengths"] = np.zeros(0, dtype=np.int64)
            return batch
        return next(iter(self.batches(batch_size=0, shuffle="none", workers=0)))

    def digest(self, batch_size=128, epochs=1, shuffle="full", seed=0, epoch=0, rank=0, world_size=1,
               drop_last=False, rows=None) -> str:
        """The SHA-256 of every batch of the run (``datagen cache bench --json``'s digest)."""
        names = [(name, variable) for name, _, _, variable, _ in self._columns]
        return digest_batches(self.batches(batch_size, shuffle, seed, epoch, rank, world_size, drop_last, rows,
                                           epochs), names)


class EngineBatchIterator:
    """Batches from the engine: dicts of new C-contiguous numpy arrays, as the numpy backend's."""

    def __init__(self, cache: EngineCache, subset, batch_size, shuffle, seed, epoch, epochs, rank, world_size,
                 drop_last, workers, prefetch, reuse=0, plan=None):
        self._cache = cache
        self.plan = plan  # keeps the library and columns alive
        self._lib = cache._lib
        self.first_epoch = epoch
        self.epochs = epochs
        rows_pointer, count = None, 0
        if subset is not None:
            self._subset = np.ascontiguousarray(subset, dtype=np.int64)
            rows_pointer, count = self._subset.ctypes.data, len(self._subset)
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.dg_iterator_create(
            cache._handle, rows_pointer, count, batch_size, shuffle, seed, epoch, -1 if epochs is None else epochs,
            rank, world_size, int(drop_last), workers, prefetch, ctypes.byref(handle)), cache.path)
        self._handle = handle
        self.batches_per_epoch = self._lib.dg_iterator_batches_per_epoch(handle)
        columns = cache._columns
        n = len(columns)
        self._columns = columns
        self._variable = any(variable for _, _, _, variable, _ in columns)
        self._rows = ctypes.c_int64()
        self._rows_ref = ctypes.byref(self._rows)
        self._longest = (ctypes.c_int64 * n)()
        self._buffers = (ctypes.c_void_p * n)()
        self._capacities = (ctypes.c_int64 * n)()
        self._lengths = (ctypes.c_void_p * n)()
        self._consumed = 0
        self._ring = [None] * reuse if reuse > 0 else None

    @property
    def total(self):
        """Batches in the whole run (``None`` when endless)."""
        return None if self.epochs is None else self.epochs * self.batches_per_epoch

    def __len__(self):
        if self.total is None:
            raise TypeError("an endless batch iterator has no length")
        return self.total - self._consumed

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        lib, handle = self._lib, self._handle
        status = _check(lib, lib.dg_iterator_peek(handle, self._rows_ref, self._longest), self._cache.path)
        if status == _END:
            raise StopIteration
        rows = self._rows.value
        if self._ring is not None:
            return self._fill_reused(rows)
        batch = {}
        for index, (name, dtype, shape, variable, _) in enumerate(self._columns):
            if variable:
                array = np.empty((rows, self._longest[index]) + shape[1:], dtype=dtype)
                lengths = np.empty(rows, dtype=np.int64)
                batch[name + "_lengths"] = lengths
                self._lengths[index] = lengths.ctypes.data
            else:
                array = np.empty((rows,) + shape, dtype=dtype)
            batch[name] = array
            self._buffers[index] = array.ctypes.data
            self._capacities[index] = array.nbytes
        _check(lib, lib.dg_iterator_fill(handle, self._buffers, self._capacities, self._lengths), self._cache.path)
        self._consumed += 1
        return batch

    def _fill_reused(self, rows):
        """Fills the ring's next set of arrays (reallocated only when the batch's shapes change)."""
        slot = self._consumed % len(self._ring)
        shapes = tuple((rows, self._longest[i]) + shape[1:] if variable else (rows,) + shape
                       for i, (_, _, shape, variable, _) in enumerate(self._columns))
        entry = self._ring[slot]
        if entry is None or entry[0] != shapes:
            batch, buffers, capacities, lengths = {}, (ctypes.c_void_p * len(shapes))(), \
                (ctypes.c_int64 * len(shapes))(), (ctypes.c_void_p * len(shapes))()
            for index, ((name, dtype, _, variable, _), shape) in enumerate(zip(self._columns, shapes)):
                array = np.empty(shape, dtype=dtype)
                batch[name] = array
                buffers[index], capacities[index] = array.ctypes.data, array.nbytes
                if variable:
                    batch[name + "_lengths"] = np.empty(rows, dtype=np.int64)
                    lengths[index] = batch[name + "_lengths"].ctypes.data
            entry = self._ring[slot] = (shapes, batch, buffers, capacities, lengths)
        _, batch, buffers, capacities, lengths = entry
        _check(self._lib, self._lib.dg_iterator_fill(self._handle, buffers, capacities, lengths), self._cache.path)
        self._consumed += 1
        return batch

    def position(self):
        """The (epoch, index) of the next batch."""
        epoch, index = ctypes.c_int64(), ctypes.c_int64()
        _check(self._lib, self._lib.dg_iterator_position(self._handle, ctypes.byref(epoch), ctypes.byref(index)))
        return epoch.value, index.value

    def state(self) -> dict:
        """The position as a small JSON-able dict (as the numpy backend's)."""
        epoch, index = self.position()
        return run_state(self.plan, epoch, index, self.first_epoch, self.epochs, self._cache.fingerprint)

    def restore(self, state: dict):
        """Continues from a position saved by :meth:`state` of a run with the same arguments."""
        epoch, index = check_state(state, self.plan, self.first_epoch, self.epochs, self._cache.fingerprint)
        return self.seek(epoch, index)

    def seek(self, epoch: int, index: int):
        """Moves to batch ``index`` of ``epoch``."""
        _check(self._lib, self._lib.dg_iterator_seek(self._handle, int(epoch), int(index)))
        self._consumed = (int(epoch) - self.first_epoch) * self.batches_per_epoch + int(index)
        return self

    def close(self):
        """Stops the engine's threads for this iterator."""
        if getattr(self, "_handle", None):
            self._lib.dg_iterator_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()
