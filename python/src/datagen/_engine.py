"""The engine backend: the Swift engine's C API (include/datagen.h) through ctypes.

Calls release the GIL (``ctypes.CDLL``); the engine gathers and decompresses the next batches on
its own threads while Python trains, and copies each batch into numpy arrays Python owns.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from ._batches import check_state, check_threads, digest_batches, make_plan, run_state, subset_rows
from ._errors import (CacheError, CacheFileNotFoundError, ChecksumError, CorruptError, EngineUnavailableError,
                      NotACacheError, OptionError, TruncatedError, UnsupportedVersionError)
from ._order import BatchPlan, EpochOrder
from ._protocol import Batch, Batches, Checkpoint, RowSelection, ShuffleMode
from ._sizes import MemoryBudget, parse_memory_budget
from .transforms import TransformSpec, spec_of

__all__ = ["EngineCache", "available", "library_path"]

_OK, _END, _ERR_CACHE, _ERR_ARGUMENT, _ERR_BUFFER = 0, 1, -1, -2, -3
_SHUFFLE = {"none": 0, "full": 1, "window": 2}
# The C API's fault kinds (DG_FAULT_* of datagen.h) and the class each raises; a kind not listed
# raises by status: OptionError for an argument or buffer fault, CacheError for any other.
_FAULTS: Dict[int, type[CacheError]] = {
    2: OptionError,               # DG_FAULT_ARGUMENT
    3: OptionError,               # DG_FAULT_BUFFER
    4: CacheFileNotFoundError,    # DG_FAULT_NOT_FOUND
    6: NotACacheError,            # DG_FAULT_NOT_A_CACHE
    7: TruncatedError,            # DG_FAULT_TRUNCATED
    8: UnsupportedVersionError,   # DG_FAULT_UNSUPPORTED_VERSION
    9: CorruptError,              # DG_FAULT_CORRUPT
    10: ChecksumError,            # DG_FAULT_CHECKSUM
}
_lib: Optional[ctypes.CDLL] = None
_load_error: Optional[str] = None


def library_path() -> Path:
    """Where the engine library is looked for: ``$DATAGEN_ENGINE_LIB``, else inside the package."""
    override = os.environ.get("DATAGEN_ENGINE_LIB")
    return Path(override) if override else Path(__file__).with_name("_lib") / "libCDataGenerator.so"


def _load() -> Optional[ctypes.CDLL]:
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
    signatures: Dict[str, Tuple[Any, List[Any]]] = {
        "dg_last_error": (i64, [ctypes.c_char_p, i64]),
        "dg_last_error_kind": (i32, []),
        "dg_open": (i32, [ctypes.c_char_p, i64, pp]),
        "dg_close": (None, [p]),
        "dg_info_json": (i32, [p, ctypes.c_char_p, i64, i64p]),
        "dg_row_id": (i32, [p, i64, ctypes.c_char_p, i64, i64p]),
        "dg_verify": (i32, [p]),
        "dg_iterator_create": (i32, [p, p, i64, i64, i32, u64, i64, i64, i64, i64, i32, i32, i32, pp]),
        "dg_iterator_batches_per_epoch": (i64, [p]),
        "dg_iterator_peek": (i32, [p, i64p, p]),
        "dg_iterator_fill": (i32, [p, p, p, p]),
        "dg_iterator_peek_shape": (i32, [p, ctypes.c_int32, i64p, ctypes.c_int32]),
        "dg_iterator_attach": (i32, [p, i32, p, p]),
        "dg_iterator_next_slot": (i32, [p, ctypes.POINTER(i32), i64p]),
        "dg_iterator_replace_slot": (i32, [p, i32, p, p]),
        "dg_iterator_seek": (i32, [p, i64, i64]),
        "dg_iterator_position": (i32, [p, i64p, i64p]),
        "dg_iterator_free": (None, [p]),
        "dg_iterator_set_transform": (i32, [p, i32, ctypes.c_char_p]),
        "dg_iterator_columns_json": (i32, [p, ctypes.c_char_p, i64, i64p]),
    }
    for name, (result, arguments) in signatures.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            _load_error = f"{path} lacks {name}: it was built from an older engine; reinstall the package"
            return None
        function.restype = result
        function.argtypes = arguments
    _lib = lib
    return lib


def _default_budget() -> int:
    """The engine's default memory budget: half the machine's memory."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 1 << 32


def available() -> bool:
    """Whether the engine library exists and loads."""
    return _load() is not None


def _require() -> ctypes.CDLL:
    lib = _load()
    if lib is None:
        raise EngineUnavailableError(
            f"the engine backend is not available: {_load_error}. Install with a Swift toolchain on PATH "
            "(pip install ./python runs swift build -c release for the CDataGenerator product), set "
            "DATAGEN_ENGINE_LIB to a built libCDataGenerator.so, or use backend='numpy'")
    return lib


def _message(lib: ctypes.CDLL) -> str:
    buffer = ctypes.create_string_buffer(4096)
    length = lib.dg_last_error(buffer, len(buffer))
    if length >= len(buffer):
        buffer = ctypes.create_string_buffer(length + 1)
        lib.dg_last_error(buffer, len(buffer))
    return buffer.value.decode("utf-8", "replace")


def _check(lib: ctypes.CDLL, status: int, path: Optional[str] = None) -> int:
    """``status`` when it is DG_OK or DG_END; otherwise raises the class of the call's fault kind."""
    if status in (_OK, _END):
        return status
    message = _message(lib)
    kind = int(lib.dg_last_error_kind())
    error_class = _FAULTS.get(kind, CacheError if status == _ERR_CACHE else OptionError)
    raise error_class.from_message(message, _shard_at_fault(message, path))


def _shard_at_fault(message: str, path: Optional[str]) -> Optional[str]:
    """The file an error of the cache at ``path`` names: a shard's path when ``path`` is a cache
    set and the message is the set's ``<set>: shard <i> (<shard path>): …`` (as the numpy
    backend's ``path``), else ``path``."""
    if path is not None and path.endswith(".dgset"):
        found = re.match(re.escape(path) + r": shard \d+ \((.*?)\): ", message)
        if found:
            return found.group(1)
    return path


def _text(lib: ctypes.CDLL, call: Callable[[Any, int, Any], int], path: str) -> str:
    length = ctypes.c_int64()
    _check(lib, call(None, 0, ctypes.byref(length)), path)
    buffer = ctypes.create_string_buffer(length.value + 1)
    _check(lib, call(buffer, len(buffer), ctypes.byref(length)), path)
    return buffer.raw[:length.value].decode("utf-8")


class EngineCache:
    """A cache file served by the Swift engine (``datagen.open(path, backend="engine")``); the
    same API and the same batches as :class:`datagen.NumpyCache`."""

    backend = "engine"

    def __init__(self, path: Union[str, os.PathLike[str]], memory_budget: MemoryBudget = None):
        self._handle: Optional[ctypes.c_void_p] = None
        budget = parse_memory_budget(memory_budget)
        self._lib = _require()
        self.path = os.fspath(path)
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.dg_open(self.path.encode("utf-8"), budget or 0, ctypes.byref(handle)), self.path)
        self._handle = handle
        self._budget = budget
        info: Dict[str, Any] = json.loads(_text(self._lib, lambda b, c, n: self._lib.dg_info_json(handle, b, c, n),
                                                self.path))
        self._info = info
        self._columns = [(c["name"], np.dtype(c["dtype"]), tuple(c["shape"]), c["variable_length"], c["role"])
                         for c in info["columns"]]
        # Variable-shape columns (images): {name: each row's dimensions, None where they vary}.
        self._row_shapes: Dict[str, Tuple[Optional[int], ...]] = {
            c["name"]: tuple(c["row_shape"]) for c in info["columns"] if c.get("row_shape") is not None}

    # -- description ------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """The number of rows."""
        return int(self._info["rows"])

    def __len__(self) -> int:
        return self.rows

    @property
    def columns(self) -> Dict[str, Tuple[np.dtype[Any], Tuple[Optional[int], ...]]]:
        """``{name: (numpy dtype, shape of one row)}``; a variable first axis is ``None`` (every
        varying axis of a variable-shape column)."""
        return {name: (dtype, self._row_shapes.get(name, shape)) for name, dtype, shape, _, _ in self._columns}

    @property
    def roles(self) -> Dict[str, str]:
        """``{name: "data" or "target"}``."""
        return {name: role for name, _, _, _, role in self._columns}

    @property
    def classes(self) -> Optional[List[str]]:
        """The target encoder's label classes in class order, or ``None``."""
        classes: Optional[List[str]] = self._info["classes"]
        return classes

    @property
    def fingerprint(self) -> str:
        """The cache's fingerprint."""
        return str(self._info["fingerprint"])

    @property
    def ids(self) -> Optional[List[str]]:
        """Every row's id, or ``None`` when the rows have none."""
        if not self._info["has_ids"]:
            return None
        lib, handle = self._lib, self._open_handle()

        def row_id(row: int) -> str:
            return _text(lib, lambda b, c, n: int(lib.dg_row_id(handle, row, b, c, n)), self.path)
        return [row_id(row) for row in range(self.rows)]

    def _open_handle(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise CacheError(f"{self.path} is closed", self.path)
        return self._handle

    def verify(self) -> Optional[Dict[str, int]]:
        """Checks every checksum (``datagen cache verify``); raises :class:`CacheError` naming the
        first problem. Returns ``None``."""
        _check(self._lib, self._lib.dg_verify(self._open_handle()), self.path)
        return None

    def close(self) -> None:
        """Releases the handle (iterators keep what they need)."""
        if getattr(self, "_handle", None):
            self._lib.dg_close(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> EngineCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<datagen.Cache {self.path!r} backend=engine rows={self.rows} columns={list(self.columns)}>"

    # -- batches ----------------------------------------------------------------------------

    def batches(self, batch_size: int = 128, shuffle: ShuffleMode = "full", seed: int = 0, epoch: int = 0,
                rank: int = 0, world_size: int = 1, drop_last: bool = False, rows: Optional[RowSelection] = None,
                epochs: Optional[int] = 1, *, remainder: str = "drop", workers: int = 1, prefetch: int = 0,
                reuse: int = 0, ring: bool = True, transform: TransformSpec = None,
                transform_column: Optional[str] = None) -> Batches:
        """Batches as :meth:`datagen.NumpyCache.batches`, gathered by ``workers`` engine threads
        (0: on the calling thread) up to ``prefetch`` batches ahead (0: ``2 * (workers + 1)``,
        twice the gathering threads, for the ring, fewer while its arrays would pass 64 MiB;
        twice the workers for new arrays).

        By default, when every column has a fixed shape, the engine's workers write each batch
        straight into numpy arrays this iterator owns (a ring of ``prefetch + 2`` sets, their
        pointers registered once), and a batch's arrays are recycled only when nothing else
        refers to them any more: a batch you keep (the dict, an array, a view or a tensor made
        with ``torch.from_numpy``) keeps its values, and the iterator gives the ring fresh arrays
        instead. Each batch's arrays are therefore yours as long as you hold them.

        ``reuse=N`` (N ≥ 1) instead recycles N sets of output arrays unconditionally (a batch's
        arrays are overwritten N batches later, so use each batch before drawing N more), with
        one copy per batch; ``reuse=0`` and ``ring=False`` return new arrays every time.

        ``remainder="pad"`` (ranks wrap around to the epoch's first rows) is served by the numpy
        backend only: the engine drops the remainder, and refuses ``"pad"`` with an OptionError.

        ``transform`` (a spec such as ``"random-resized-crop(224),flip,normalize(imagenet),chw"``,
        or :mod:`datagen.transforms` objects) serves the image column ``transform_column``
        (default: the cache's one variable-shape column) through that transform, run by the
        engine's workers every epoch and keyed by (seed, epoch, row id): the column then comes
        with one shape, ``[rows, 3, 224, 224]`` float32 say, without ``"<name>_shapes"``, and
        through the ring. A bad spec raises :class:`OptionError` naming the character position."""
        self._open_handle()
        spec = spec_of(transform)
        if transform_column is not None and spec is None:
            raise OptionError("transform_column needs a transform", self.path)
        check_threads(workers, prefetch, reuse)
        subset = subset_rows(rows, self.rows, self.path)
        # Checks the arguments exactly as the numpy backend does (same messages).
        plan = make_plan(self.rows if subset is None else len(subset), batch_size, shuffle, seed, rank, world_size,
                         drop_last, remainder)
        if plan.order != EpochOrder(plan.order.name):
            raise OptionError(f"{plan.order} is served by the numpy backend only: the engine's window order "
                              "has the default block parameters", self.path)
        if plan.shard.remainder != "drop":
            raise OptionError(f"remainder {remainder!r} is served by the numpy backend only (backend='numpy'); "
                              "the engine drops the remainder ('drop')", self.path)
        mode = _SHUFFLE[plan.order.name]
        if epochs is not None and (isinstance(epochs, bool) or int(epochs) < 0):
            raise OptionError(f"epochs {epochs!r} must be a non-negative integer or None (endless)")
        return EngineBatchIterator(self, subset, int(batch_size), mode, int(seed), int(epoch),
                                   None if epochs is None else int(epochs), int(rank), int(world_size),
                                   bool(drop_last), int(workers), int(prefetch), plan, int(reuse), bool(ring),
                                   spec, transform_column)

    def to_numpy(self) -> Batch:
        """Every column whole, as :meth:`datagen.NumpyCache.to_numpy`."""
        if self.rows == 0:
            batch: Batch = {}
            for name, dtype, shape, variable, _ in self._columns:
                if name in self._row_shapes:
                    rank = len(self._row_shapes[name])
                    batch[name] = np.zeros((0,) + tuple(d or 0 for d in self._row_shapes[name]), dtype=dtype)
                    batch[name + "_shapes"] = np.zeros((0, rank), dtype=np.int64)
                    continue
                batch[name] = np.zeros((0,) + ((0,) + shape[1:] if variable else shape), dtype=dtype)
                if variable:
                    batch[name + "_lengths"] = np.zeros(0, dtype=np.int64)
            return batch
        return next(iter(self.batches(batch_size=0, shuffle="none", workers=0)))

    def digest(self, batch_size: int = 128, epochs: Optional[int] = 1, shuffle: ShuffleMode = "full", seed: int = 0,
               epoch: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False,
               rows: Optional[RowSelection] = None, *, transform: TransformSpec = None,
               transform_column: Optional[str] = None) -> str:
        """The SHA-256 of every batch of the run (``datagen cache bench --json``'s digest); a
        transformed column is hashed as served."""
        run = self.batches(batch_size, shuffle, seed, epoch, rank, world_size, drop_last, rows, epochs,
                           transform=transform, transform_column=transform_column)
        assert isinstance(run, EngineBatchIterator)
        names = [(name, variable) for name, _, _, variable, _ in run._columns]
        return digest_batches(run, names)


class EngineBatchIterator:
    """Batches from the engine: dicts of new C-contiguous numpy arrays, as the numpy backend's."""

    def __init__(self, cache: EngineCache, subset: Optional[NDArray[np.int64]], batch_size: int, shuffle: int,
                 seed: int, epoch: int, epochs: Optional[int], rank: int, world_size: int, drop_last: bool,
                 workers: int, prefetch: int, plan: BatchPlan, reuse: int = 0, ring: bool = True,
                 transform: Optional[str] = None, transform_column: Optional[str] = None):
        self._cache = cache
        self.plan = plan  # keeps the library and columns alive
        self._lib = cache._lib
        self.first_epoch = epoch
        self.epochs = epochs
        rows_pointer: Optional[int] = None
        count = 0
        if subset is not None:
            self._subset = np.ascontiguousarray(subset, dtype=np.int64)
            rows_pointer, count = self._subset.ctypes.data, len(self._subset)
        handle = ctypes.c_void_p()
        self._handle: Optional[ctypes.c_void_p] = None
        _check(self._lib, self._lib.dg_iterator_create(
            cache._open_handle(), rows_pointer, count, batch_size, shuffle, seed, epoch,
            -1 if epochs is None else epochs,
            rank, world_size, int(drop_last), workers, prefetch, ctypes.byref(handle)), cache.path)
        self._handle = handle
        self._workers, self._prefetch = workers, prefetch
        self.batches_per_epoch: int = self._lib.dg_iterator_batches_per_epoch(handle)
        columns = cache._columns
        self._row_shapes = dict(cache._row_shapes)
        if transform is not None:
            columns = self._set_transform(handle, transform, transform_column)
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
        self._ring: Optional[List[Any]] = [None] * reuse if reuse > 0 else None
        self._slots: Optional[List[_Slot]] = None
        self._held: List[int] = []
        if ring and reuse <= 0 and not self._variable and self.batches_per_epoch > 0:
            self._attach(workers, prefetch)

    def _set_transform(self, handle: ctypes.c_void_p, spec: str, column: Optional[str]) -> List[Any]:
        """Serves an image column through ``spec`` (dg_iterator_set_transform); the columns as
        served afterwards."""
        cache = self._cache
        names = [name for name, _, _, _, _ in cache._columns]
        if column is None:
            images = [name for name, _, _, _, role in cache._columns if name in cache._row_shapes and role == "data"]
            if len(images) != 1:
                raise OptionError(f"transform= needs transform_column= naming the image column to transform; "
                                  f"the variable-shape columns are {images or 'none'} (columns: {', '.join(names)})",
                                  cache.path)
            column = images[0]
        if column not in names:
            raise OptionError(f"the cache {cache.path} has no column {column!r} (columns: {', '.join(names)})",
                              cache.path)
        role = next(role for name, _, _, _, role in cache._columns if name == column)
        if role != "data":
            dtype, shape = next((dtype, shape) for name, dtype, shape, _, _ in cache._columns if name == column)
            raise OptionError(f"transform_column {column!r} is not an image column: it holds the {role}s "
                              f"({np.dtype(dtype).name} {list(shape)}); transforms take a variable-shape uint8 "
                              f"image data column", cache.path)
        lib = self._lib
        _check(lib, lib.dg_iterator_set_transform(handle, names.index(column), spec.encode("utf-8")), cache.path)
        served = json.loads(_text(lib, lambda b, c, n: int(lib.dg_iterator_columns_json(handle, b, c, n)), cache.path))
        self._row_shapes.pop(column, None)
        return [(c["name"], np.dtype(c["dtype"]), tuple(c["shape"]), c["variable_length"], c["role"]) for c in served]

    # -- ring mode: the engine writes straight into arrays this iterator owns ------------------

    def _attach(self, workers: int, prefetch: int) -> None:
        """Registers a ring of slot arrays with the engine (dg_iterator_attach)."""
        full = self.plan.batch_size
        self._full_rows = full
        slot_bytes = full * sum(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                                for _, dtype, shape, _, _ in self._columns)
        if prefetch <= 0:
            # The engine's default (BatchOptions.defaultPrefetch(slotBytes:)): twice the gathering
            # threads while the slots fit in 64 MiB; large slots (an image batch) get fewer, since
            # the first epoch pays a page fault for every 4 KiB of every slot it writes first.
            prefetch = 2 * (workers + 1)
            if slot_bytes > 0:
                prefetch = max(0, min(prefetch, _DEFAULT_RING_BYTES // slot_bytes - 1))
        # At least a batch per gathering thread: the workers and this thread, which gathers a
        # batch of the window while its next one is not ready (the engine's prefetchDepth); then
        # the two held, and with workers a spare: the engine's ring writes a batch again into it
        # on this thread when the worker writing it lost its core (BatchRing's takeover).
        count = max(prefetch, workers + 1) + 2 + (1 if workers > 0 else 0)
        # Fewer slots when they would not fit the memory budget (an image batch of 128 x 3 x 224 x
        # 224 float32 is 77 MB), but never fewer than the ring needs (the workers plus the two held).
        budget = self._cache._budget or _default_budget()
        if slot_bytes > 0:
            count = max(min(count, budget // slot_bytes), workers + 2, 3)
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

    def _new_slot(self, rows: int) -> _Slot:
        """One set of new arrays for ``rows`` rows."""
        return _Slot([_slot_array((rows,) + shape, dtype) for _, dtype, shape, _, _ in self._columns])

    def _next_from_ring(self, slots: List[_Slot]) -> Batch:
        lib, handle = self._lib, self._live()
        if len(self._held) == 2:
            # The slot of two batches ago goes back to the engine with this call: if anything
            # still refers to its arrays, the caller keeps them and the ring gets new ones.
            oldest = self._held.pop(0)
            if not slots[oldest].is_free():
                fresh = slots[oldest] = self._new_slot(self._full_rows)
                _check(lib, lib.dg_iterator_replace_slot(handle, oldest, fresh.pointers, fresh.sizes), self._cache.path)
        status = _check(lib, lib.dg_iterator_next_slot(handle, self._slot_byref, self._rows_ref), self._cache.path)
        if status == _END:
            self._held = []
            raise StopIteration
        index, rows = self._slot_ref.value, self._rows.value
        self._held.append(index)
        self._consumed += 1
        arrays = slots[index].arrays
        if rows == self._full_rows:
            return dict(zip(self._names, arrays))
        return {name: array[:rows] for name, array in zip(self._names, arrays)}

    def _live(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise StopIteration
        return self._handle

    @property
    def total(self) -> Optional[int]:
        """Batches in the whole run (``None`` when endless)."""
        return None if self.epochs is None else self.epochs * self.batches_per_epoch

    def __len__(self) -> int:
        total = self.total
        if total is None:
            raise TypeError("an endless batch iterator has no length")
        return total - self._consumed

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        if self._slots is not None:
            return self._next_from_ring(self._slots)
        lib, handle = self._lib, self._live()
        status = _check(lib, lib.dg_iterator_peek(handle, self._rows_ref, self._longest), self._cache.path)
        if status == _END:
            raise StopIteration
        rows = self._rows.value
        if self._ring is not None and not self._row_shapes:
            return self._fill_reused(rows, self._ring)  # (variable-shape batches get new arrays each time)
        batch: Batch = {}
        for index, (name, dtype, shape, variable, _) in enumerate(self._columns):
            row_shape = self._row_shapes.get(name)
            if row_shape is not None:
                dims = (ctypes.c_int64 * (len(row_shape) + 1))()
                _check(lib, lib.dg_iterator_peek_shape(handle, index, dims, len(dims)), self._cache.path)
                array = np.empty(tuple(dims), dtype=dtype)
                shapes = np.empty((rows, len(row_shape)), dtype=np.int64)
                batch[name + "_shapes"] = shapes
                self._lengths[index] = shapes.ctypes.data
            elif variable:
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

    def _fill_reused(self, rows: int, ring: List[Any]) -> Batch:
        """Fills the ring's next set of arrays (reallocated only when the batch's shapes change)."""
        slot = self._consumed % len(ring)
        shapes = tuple((rows, self._longest[i]) + shape[1:] if variable else (rows,) + shape
                       for i, (_, _, shape, variable, _) in enumerate(self._columns))
        entry = ring[slot]
        if entry is None or entry[0] != shapes:
            batch: Batch = {}
            buffers, capacities, lengths = (ctypes.c_void_p * len(shapes))(), \
                (ctypes.c_int64 * len(shapes))(), (ctypes.c_void_p * len(shapes))()
            for index, ((name, dtype, _, variable, _), shape) in enumerate(zip(self._columns, shapes)):
                array = np.empty(shape, dtype=dtype)
                batch[name] = array
                buffers[index], capacities[index] = array.ctypes.data, array.nbytes
                if variable:
                    batch[name + "_lengths"] = np.empty(rows, dtype=np.int64)
                    lengths[index] = batch[name + "_lengths"].ctypes.data
            entry = ring[slot] = (shapes, batch, buffers, capacities, lengths)
        _, batch, buffers, capacities, lengths = entry
        _check(self._lib, self._lib.dg_iterator_fill(self._live(), buffers, capacities, lengths), self._cache.path)
        self._consumed += 1
        filled: Batch = batch
        return filled

    def _handle_or_closed(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise OptionError("the batch iterator is closed", self._cache.path)
        return self._handle

    def position(self) -> Tuple[int, int]:
        """The (epoch, index) of the next batch."""
        epoch, index = ctypes.c_int64(), ctypes.c_int64()
        _check(self._lib, self._lib.dg_iterator_position(self._handle_or_closed(), ctypes.byref(epoch),
                                                         ctypes.byref(index)))
        return epoch.value, index.value

    def state(self) -> Checkpoint:
        """The position as a small JSON-able dict (as the numpy backend's)."""
        epoch, index = self.position()
        return run_state(self.plan, epoch, index, self.first_epoch, self.epochs, self._cache.fingerprint)

    def restore(self, state: Checkpoint) -> Batches:
        """Continues from a position saved by :meth:`state` of a run with the same arguments."""
        epoch, index = check_state(state, self.plan, self.first_epoch, self.epochs, self._cache.fingerprint)
        return self.seek(epoch, index)

    def seek(self, epoch: int, index: int) -> Batches:
        """Moves to batch ``index`` of ``epoch``."""
        _check(self._lib, self._lib.dg_iterator_seek(self._handle_or_closed(), int(epoch), int(index)))
        self._consumed = (int(epoch) - self.first_epoch) * self.batches_per_epoch + int(index)
        if self._slots is not None:
            # Batches handed out before the seek may still be in use: start from a new ring.
            self._attach(self._workers, self._prefetch)
        return self

    def close(self) -> None:
        """Stops the engine's threads for this iterator; the run ends."""
        if getattr(self, "_handle", None):
            self._lib.dg_iterator_free(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()


_DEFAULT_RING_BYTES = 64 << 20
"""The memory the default prefetch of a ring may give its slots (``BatchOptions.defaultRingBytes``)."""


def _slot_array(shape: Tuple[int, ...], dtype: np.dtype) -> NDArray[Any]:
    """A new array for a ring slot. A large one is mapped on its own (anonymous, private) in the
    system's default pages rather than by ``np.empty``, which advises transparent huge pages for
    arrays of 4 MiB and more: on a virtual machine that hands free memory back to its host, the
    first write to a new huge page waits for the host to supply all of it, and the first epoch
    of an image ring took several times a steady one (docs/EPOCHS.md, "The first epoch")."""
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if nbytes < (4 << 20) or not hasattr(mmap, "MAP_PRIVATE"):
        return np.empty(shape, dtype=dtype)
    try:
        memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, ValueError, AttributeError):
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(memory, dtype=dtype, count=count).reshape(shape)


class _Slot:
    """One set of ring arrays (a full batch of every column) with their pointers and byte sizes,
    looked up once, and each array's reference count while only the ring refers to it."""

    __slots__ = ("arrays", "pointers", "sizes", "_free_counts")

    def __init__(self, arrays: List[NDArray[Any]]):
        self.arrays = arrays
        self.pointers = (ctypes.c_void_p * len(arrays))(*[array.ctypes.data for array in arrays])
        self.sizes = (ctypes.c_int64 * len(arrays))(*[array.nbytes for array in arrays])
        self._free_counts = self._counts()

    def _counts(self) -> List[int]:
        return [sys.getrefcount(array) for array in self.arrays]

    def is_free(self) -> bool:
        """Whether nothing but the ring refers to the arrays (no dict, array, view or tensor the
        caller kept): only then may the engine write a later batch into them."""
        return self._counts() == self._free_counts
