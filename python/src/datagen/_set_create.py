"""``datagen.create_set``: the manifest of a cache set (``NAME.dgset``, docs/FORMAT.md) written by the
engine's ``dg_set_create`` (the C API), as ``datagen cache set create`` writes it."""

from __future__ import annotations

import ctypes
import os
from typing import Optional, Sequence, Union

from . import _engine
from ._errors import EngineUnavailableError, OptionError

__all__ = ["create_set"]

_set_lib: Optional[ctypes.CDLL] = None


def _library() -> ctypes.CDLL:
    global _set_lib
    if _set_lib is not None:
        return _set_lib
    lib = _engine._require()
    try:
        function = lib.dg_set_create
    except AttributeError:
        raise EngineUnavailableError(
            f"the engine library {_engine.library_path()} lacks dg_set_create: it was built from an older engine; "
            "reinstall the package (pip install ./python, with a Swift toolchain on PATH)") from None
    function.restype = ctypes.c_int32
    function.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64]
    _set_lib = lib
    return lib


def create_set(manifest: Union[str, "os.PathLike[str]"], shards: Sequence[Union[str, "os.PathLike[str]"]]) -> str:
    """Writes the cache set ``manifest`` (a ``.dgset`` file) over the caches ``shards``, in that
    order, and returns its path: the engine verifies every shard (as ``datagen cache verify``),
    checks that their schemas and classes agree and writes the manifest atomically, with each
    shard's path relative to the manifest's folder. Open the set with :func:`datagen.open`.

    Raises :class:`OptionError` for no shards, a :class:`CacheError` naming the shard at fault
    (missing, corrupt, or with another schema or classes), and :class:`EngineUnavailableError`
    without the engine.
    """
    path = os.fspath(manifest)
    paths = [os.fspath(one) for one in shards]
    if not paths:
        raise OptionError("a cache set needs at least one shard", path)
    lib = _library()
    array = (ctypes.c_char_p * len(paths))(*[os.fsencode(one) for one in paths])
    status = lib.dg_set_create(os.fsencode(path), array, len(paths))
    _engine._check(lib, status, path)
    return path
