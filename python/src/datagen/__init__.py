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
from typing import Any, Optional, Tuple, Union

from ._build_worker import ColumnSpec
from ._errors import (CacheError, CacheFileNotFoundError, ChecksumError, CorruptError, EngineUnavailableError,
                      NotACacheError, OptionError, RecordError, TruncatedError, UnsupportedVersionError,
                      WorkerDiedError)
from ._numpy_backend import NumpyCache
from ._numpy_set import NumpyCacheSet, is_set_manifest
from ._order import EpochOrder, Feistel, Shard, epoch_permutation
from ._protocol import Batch, Batches, Cache, RowSelection, ShuffleMode
from ._sizes import MemoryBudget, parse_memory_budget

__all__ = [
    "open",
    "build",
    "ColumnSpec",
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
    "RecordError",
    "WorkerDiedError",
    "NumpyCache",
    "NumpyCacheSet",
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
    """Opens the cache file at ``path``, or the cache set whose manifest it is (``NAME.dgset``:
    its shards' rows as one cache, each shard opened on first use): a :class:`Cache`, whichever
    the backend.

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
        return NumpyCacheSet(path) if is_set_manifest(path) else NumpyCache(path)
    if backend == "engine":
        try:
            from . import _engine
        except ImportError as error:
            raise EngineUnavailableError(
                f"the engine backend is not available ({error}); reinstall with a Swift toolchain on PATH "
                "(pip install ./python builds it with swift build), or use backend='numpy'") from None
        return _engine.EngineCache(path, budget)
    raise OptionError(f"unknown backend {backend!r}: use 'engine' or 'numpy'")


def build(inventory: Any, output: Union[str, os.PathLike[str]], data: Any, target: Any = None, *,
          id_column: Optional[str] = "id", target_column: str = "target", workers: Optional[int] = None,
          on_error: str = "fail", codec: str = "lz4", progress: bool = True, force: bool = False,
          shard: Optional[Tuple[int, int]] = None) -> Cache:
    """Builds the cache file ``output`` from ``inventory`` through Python encoders, in worker
    processes, and returns it opened (``datagen.open(output)``); needs the engine and the
    ``datagen[build]`` extra (pandas, cloudpickle, tqdm). docs/PYTHON.md, "Building caches from
    Python", tells the rules.

    ``inventory``: a pandas DataFrame, a CSV path (read as the CLI reads it) or a list of dicts.
    ``data``: one encoder or a list of them (columns ``data``, or ``data0``, ``data1``…): an object
    with ``transform(record)`` (``record`` one inventory row, a pandas Series) or
    ``transform_batch(records)``, optional ``fit(inventory)``, ``finalize_batch(records)`` and
    ``spec`` (a :class:`ColumnSpec`), or a plain callable. ``target``: ``"label"``, ``"onehot"``
    (``"categorical"``), ``"int"``, ``"float"`` (the CLI's columns), an object with
    ``transform(frame)`` (the seed's target encoders) or ``None``, over ``target_column``.
    ``workers``: processes (default: the CPUs this process may use). ``on_error``: ``"fail"``
    (a :class:`RecordError`) or ``"skip"`` (listed in the cache's metadata). A cache already built
    from the same rows and encoders is returned at once unless ``force``; an interrupted build
    resumes. ``shard=(K, N)``: only rows [K·R/N, (K+1)·R/N) of the R records, with encoders and
    classes fitted over the whole inventory, so that every shard agrees. Every error is a
    :class:`CacheError`.
    """
    from ._build import build as run
    return run(inventory, output, data, target, id_column=id_column, target_column=target_column, workers=workers,
               on_error=on_error, codec=codec, progress=progress, force=force, shard=shard)
