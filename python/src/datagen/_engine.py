"""The engine backend: the Swift engine's C API (include/datagen.h) through ctypes.

Calls release the GIL (``ctypes.CDLL``); the engine gathers and decompresses the next batches on
its own threads while Python trains, and copies each batch into numpy arrays Python owns.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
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
        "dg_iterator_attach": (i32, [p, i32, p, p]),
        "dg_iterator_next_slot": (i32, [p, ctypes.POINTER(i32), i64p]),
        "dg_iterator_replace_slot": (i32, [p, i32, p, p]),
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
                rows=None, epochs=1, workers=1, prefetch=0, reuse=0, ring=True) -> "EngineBatchIterator":
        """Batches as :meth:`datagen.NumpyCache.batches`, gathered by ``workers`` engine threads
        (0: on the calling thread) up to ``prefetch`` batches ahead (0: twice the workers).

        By default, when every column has a fixed shape, the engine's workers write each batch
        straight into numpy arrays this iterator owns (a ring of ``prefetch + 2`` sets, their
        pointers registered once), and a batch's arrays are recycled only when nothing else
        refers to them any more: a batch you keep (the dict, an array, a view or a tensor made
        with ``torch.from_numpy``) keeps its values, and the iterator gives the ring fresh arrays
        instead. Each batch's arrays are therefore yours as long as you hold them.

        ``reuse=N`` (N ≥ 1) instead recycles N sets of output arrays unconditionally (a batch's
        arrays are overwritten N batches later, so use each batch before drawing N more), with
        one copy per batch; ``reuse=0`` and ``ring=False`` return new arrays every time."""
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
                                   bool(drop_last), int(workers), int(prefetch), int(reuse), plan, bool(ring))

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
                 drop_last, workers, prefetch, reuse=0, plan=None, ring=True):
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
        self._workers, self._prefetch = workers, prefetch
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
        self._slots = None
        if ring and reuse <= 0 and not self._variable and self.batches_per_epoch > 0:
            self._attach(workers, prefetch)

    # -- ring mode: the engine writes straight into arrays this iterator owns ------------------

    def _attach(self, workers, prefetch):
        """Registers a ring of slot arrays with the engine (dg_iterator_attach)."""
        full = self.plan.batch_size
        self._full_rows = full
        count = max(prefetch if prefetch > 0 else 2 * max(workers, 1), workers, 1) + 2
        previous = self._slots or []
        # Sets nobody else refers to are reused (a seek per batch, as DataLoader workers do,
        # then allocates nothing); sets still in use stay their holders'.
        self._slots = [slot if slot.is_free() else self._new_slot(full) for slot in previous[:count]]
        self._slots += [self._new_slot(full) for _ in range(count - len(self._slots))]
        columns = len(self._columns)
        buffers = (ctypes.c_void_p * (count * columns))()
        capacities = (ctypes.c_int64 * (count * columns))()
        for index, slot in enumerate(self._slots):
            for column in range(columns):
                buffers[index * columns + column] = slot.pointers[column]
                capacities[index * columns + column] = slot.sizes[column]
        _check(self._lib, self._lib.dg_iterator_attach(self._handle, count, buffers, capacities), self._cache.path)
        self._held = []  # the slots of the last two batches, oldest first
        self._slot_ref = ctypes.c_int32()
        self._slot_byref = ctypes.byref(self._slot_ref)
        self._names = [name for name, _, _, _, _ in self._columns]

    def _new_slot(self, rows):
        """One set of new arrays for ``rows`` rows."""
        return _Slot([np.empty((rows,) + shape, dtype=dtype) for _, dtype, shape, _, _ in self._columns])

    def _next_from_ring(self):
        lib, handle = self._lib, self._handle
        if len(self._held) == 2:
            # The slot of two batches ago goes back to the engine with this call: if anything
            # still refers to its arrays, the caller keeps them and the ring gets new ones.
            oldest = self._held.pop(0)
            if not self._slots[oldest].is_free():
                fresh = self._slots[oldest] = self._new_slot(self._full_rows)
                _check(lib, lib.dg_iterator_replace_slot(handle, oldest, fresh.pointers, fresh.sizes), self._cache.path)
        status = _check(lib, lib.dg_iterator_next_slot(handle, self._slot_byref, self._rows_ref), self._cache.path)
        if status == _END:
            self._held = []
            raise StopIteration
        index, rows = self._slot_ref.value, self._rows.value
        self._held.append(index)
        self._consumed += 1
        arrays = self._slots[index].arrays
        if rows == self._full_rows:
            return dict(zip(self._names, arrays))
        return {name: array[:rows] for name, array in zip(self._names, arrays)}

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
        if self._slots is not None:
            return self._next_from_ring()
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
        if self._slots is not None:
            # Batches handed out before the seek may still be in use: start from a new ring.
            self._attach(self._workers, self._prefetch)
        return self

    def close(self):
        """Stops the engine's threads for this iterator."""
        if getattr(self, "_handle", None):
            self._lib.dg_iterator_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()


class _Slot:
    """One set of ring arrays (a full batch of every column) with their pointers and byte sizes,
    looked up once, and each array's reference count while only the ring refers to it."""

    __slots__ = ("arrays", "pointers", "sizes", "_free_counts")

    def __init__(self, arrays):
        self.arrays = arrays
        self.pointers = (ctypes.c_void_p * len(arrays))(*[array.ctypes.data for array in arrays])
        self.sizes = (ctypes.c_int64 * len(arrays))(*[array.nbytes for array in arrays])
        self._free_counts = self._counts()

    def _counts(self):
        return [sys.getrefcount(array) for array in self.arrays]

    def is_free(self):
        """Whether nothing but the ring refers to the arrays (no dict, array, view or tensor the
        caller kept): only then may the engine write a later batch into them."""
        return self._counts() == self._free_counts
