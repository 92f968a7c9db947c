"""datagen: read DataGenerator cache files (built by ``datagen cache build``) from Python.

>>> import datagen
>>> cache = datagen.open("train.dgcache")
>>> for batch in cache.batches(batch_size=128, shuffle="full", seed=0):
...     batch["data"], batch["target"]

Two backends give identical batches: ``"engine"`` (the Swift engine through its C API, when it
was built at install time) and ``"numpy"`` (a pure numpy + lz4 reader of docs/FORMAT.md).
"""

from __future__ import annotations

import os
from typing import Optional, Union

from ._errors import (CacheError, CacheFileNotFoundError, ChecksumError, CorruptError, EngineUnavailableError,
                      NotACacheError, OptionError, TruncatedError, UnsupportedVersionError)
from ._numpy_backend import NumpyCache
from ._order import EpochOrder, Feistel, Shard, epoch_permutation
from ._protocol import Batch, Batches, Cache, RowSelection, ShuffleMode
from ._sizes import MemoryBudget, parse_memory_budget

__all__ = [
    "open",
    "engine_available",
    "parse_memory_budget",
    "Cache",
    "Batches",
    "Batch",
    "MemoryBudget",
    "RowSelection",
    "ShuffleMode",
    "CacheError",
    "CacheFileNotFoundError",
    "ChecksumError",
    "CorruptError",
    "EngineUnavailableError",
    "NotACacheError",
    "OptionError",
    "TruncatedError",
    "UnsupportedVersionError",
    "NumpyCache",
    "EpochOrder",
    "Feistel",
    "Shard",
    "epoch_permutation",
]

__version__ = "0.1.0"

_BACKENDS = ("engine", "numpy")


def engine_available() -> bool:
    """Whether the Swift engine library was built into this installation."""
    try:
        from . import _engine
    except ImportError:
        return False
    return _engine.available()


def open(path: Union[str, os.PathLike[str]], backend: Optional[str] = None,  # noqa: A001 (the issue's name)
         memory_budget: MemoryBudget = None) -> Cache:
    """Opens the cache file at ``path``: a :class:`Cache`, whichever the backend.

    ``backend`` is ``"engine"`` (the Swift engine), ``"numpy"`` (pure numpy + lz4), or ``None``:
    the engine when it was built, else numpy. Raises :class:`CacheError` for a missing
    (:class:`CacheFileNotFoundError`, also a ``FileNotFoundError``), foreign, truncated or corrupt
    file, the same class from either backend, and :class:`EngineUnavailableError` when the engine
    is asked for but was not built. ``memory_budget`` bounds the bytes of decompressed columns the
    engine keeps (default: half the machine's memory): bytes as an int, or a string with a unit
    (``"512MB"``, ``"2GiB"``, ``"300KiB"``); a bad value raises :class:`OptionError`. The numpy
    backend decodes each column whole on first use.
    """
    budget = parse_memory_budget(memory_budget)
    if backend is None:
        backend = "engine" if engine_available() else "numpy"
    if backend == "numpy":
        return NumpyCache(path)
    if backend == "engine":
        try:
            from . import _engine
        except ImportError as error:
            raise EngineUnavailableError(
                f"the engine backend is not available ({error}); reinstall with a Swift toolchain on PATH "
                "(pip install ./python builds it with swift build), or use backend='numpy'") from None
        return _engine.EngineCache(path, budget)
    raise OptionError(f"unknown backend {backend!r}: use 'engine' or 'numpy'")
