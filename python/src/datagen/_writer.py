"""The C API's cache writer (``dg_writer_*`` of datagen.h) through ctypes: what :func:`datagen.build`
hands its encoded row groups to. The engine packs, compresses, journals and publishes them exactly
as ``datagen cache build`` does."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

from . import _engine
from ._errors import EngineUnavailableError

__all__ = ["GroupWriter", "writer_library"]

_writer_lib: Optional[ctypes.CDLL] = None


def writer_library() -> ctypes.CDLL:
    """The engine library with the writer's signatures set; raises :class:`EngineUnavailableError`
    (saying how to get the engine) when it is missing or predates the writer."""
    global _writer_lib
    if _writer_lib is not None:
        return _writer_lib
    lib = _engine._require()
    p, i32, i64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64
    signatures: Dict[str, Tuple[Any, List[Any]]] = {
        "dg_writer_open": (i32, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(p),
                                 ctypes.POINTER(i64)]),
        "dg_writer_put_group": (i32, [p, i64, ctypes.POINTER(p), ctypes.POINTER(i64), ctypes.POINTER(p),
                                      ctypes.c_char_p]),
        "dg_writer_finish": (i32, [p, ctypes.c_char_p, ctypes.POINTER(i64), ctypes.c_char_p]),
        "dg_writer_abort": (None, [p]),
    }
    for name, (result, arguments) in signatures.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise EngineUnavailableError(
                f"the engine library {_engine.library_path()} lacks {name}: it was built from an older engine; "
                "reinstall the package (pip install ./python, with a Swift toolchain on PATH)") from None
        function.restype = result
        function.argtypes = arguments
    _writer_lib = lib
    return lib


class GroupWriter:
    """One open ``dg_writer``: takes the output's lock and resumes its journal at open
    (:attr:`groups_done`); :meth:`put` appends the next row group, :meth:`finish` publishes,
    :meth:`abort` stops and keeps the journal for a resume."""

    def __init__(self, path: str, schema: Dict[str, Any], rows_digest: str):
        self._lib = writer_library()
        self.path = path
        handle, done = ctypes.c_void_p(), ctypes.c_int64(-1)
        status = self._lib.dg_writer_open(path.encode(), json.dumps(schema).encode(), rows_digest.encode(),
                                          ctypes.byref(handle), ctypes.byref(done))
        _engine._check(self._lib, status, path)
        self._handle: Optional[ctypes.c_void_p] = handle
        self.groups_done = int(done.value)

    def put(self, group: int, columns: Sequence[NDArray[Any]], lengths: Sequence[Optional[NDArray[np.int64]]],
            skipped: Sequence[Dict[str, Any]]) -> None:
        """Appends row group ``group``: each column's kept rows in one C-contiguous buffer (variable-
        length columns with their rows' lengths), the skipped records as ``{"row", "id", "reason"}``."""
        count = len(columns)
        kept = [np.ascontiguousarray(column) for column in columns]
        buffers = (ctypes.c_void_p * count)(*[column.ctypes.data if column.nbytes else None for column in kept])
        sizes = (ctypes.c_int64 * count)(*[column.nbytes for column in kept])
        lengths_kept = [None if one is None else np.ascontiguousarray(one, dtype=np.int64) for one in lengths]
        length_pointers = (ctypes.c_void_p * count)(
            *[None if one is None or one.size == 0 else one.ctypes.data for one in lengths_kept])
        skipped_json = json.dumps(list(skipped)).encode() if skipped else None
        status = self._lib.dg_writer_put_group(self._open(), group, buffers, sizes, length_pointers, skipped_json)
        _engine._check(self._lib, status, self.path)

    def finish(self, ids: Optional[Sequence[str]], classes: Optional[Sequence[str]]) -> None:
        """Writes the index and metadata and publishes the cache (the handle is released whatever
        the result)."""
        handle = self._open()
        self._handle = None
        ids_bytes: Optional[bytes] = None
        id_lengths: Any = None
        if ids is not None:
            encoded = [one.encode("utf-8") for one in ids]
            ids_bytes = b"".join(encoded)
            id_lengths = (ctypes.c_int64 * len(encoded))(*[len(one) for one in encoded])
        classes_json = json.dumps(list(classes)).encode() if classes is not None else None
        status = self._lib.dg_writer_finish(handle, ids_bytes, id_lengths, classes_json)
        _engine._check(self._lib, status, self.path)

    def abort(self) -> None:
        """Stops without publishing: the partial file and its journal stay for a resume. Idempotent."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._lib.dg_writer_abort(handle)

    def _open(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise RuntimeError("the writer is already finished or aborted")
        return self._handle
