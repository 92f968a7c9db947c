"""Keras 3: a cache as a ``keras.utils.PyDataset``.

>>> from datagen.keras import CacheDataset
>>> train = CacheDataset("train.dgcache", 128, shuffle="full", seed=0)
>>> model.fit(train, epochs=10)
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Dict, List, Optional, Sequence, Union

import keras

from . import open as open_cache
from ._protocol import Batches, Cache, RowSelection, ShuffleMode
from ._sizes import MemoryBudget, parse_memory_budget
from .transforms import TransformSpec, spec_of

__all__ = ["CacheDataset"]


class CacheDataset(keras.utils.PyDataset):
    """Batches of a cache for ``model.fit``/``evaluate``/``predict``.

    ``len()`` is the number of batches per epoch and ``ds[i]`` is batch ``i`` of the current
    epoch: ``(x, y)`` with the columns named by ``x`` (a name, or a list of names for several
    inputs) and ``y`` (``None``, or a cache without target: ``x`` alone). The epoch advances in
    ``on_epoch_end`` after an epoch that began with ``on_epoch_begin``, except for the extra
    ``on_epoch_end`` that Keras 3's ``fit`` calls (through ``EpochIterator.reset``) after its
    warm-up fetch: training epoch *k* of a ``fit`` always serves epoch ``first_epoch + k`` of the
    cache's order, however many batches the warm-up fetched. Works with
    ``workers`` and ``use_multiprocessing`` (each thread and each forked process reads through
    its own handle). ``rows`` serves a subset (e.g. a validation split); ``transform`` runs an image
    transform in the engine's workers (``Cache.batches``' ``transform=``, engine backend); other
    arguments are those of ``Cache.batches``; remaining keyword arguments go to ``PyDataset`` (``workers``,
    ``use_multiprocessing``, ``max_queue_size``).
    """

    def __init__(self, path: Union[str, os.PathLike[str]], batch_size: int, x: Union[str, Sequence[str]] = "data",
                 y: Optional[str] = "target", shuffle: ShuffleMode = "full", seed: int = 0,
                 rows: Optional[RowSelection] = None, drop_last: bool = False, first_epoch: int = 0,
                 backend: Optional[str] = None, memory_budget: MemoryBudget = None, transform: TransformSpec = None,
                 **pydataset_kwargs: Any):
        super().__init__(**pydataset_kwargs)
        self.path = os.fspath(path)
        self.backend = backend
        self.memory_budget = parse_memory_budget(memory_budget)  # bytes; a bad value fails here
        self.arguments: Dict[str, Any] = dict(batch_size=batch_size, shuffle=shuffle, seed=seed, rows=rows,
                                              drop_last=drop_last, transform=spec_of(transform))
        self.first_epoch = int(first_epoch)
        self.epoch = self.first_epoch
        self._began = False
        self._local = threading.local()
        cache = self._cache()
        names: List[str] = [x] if isinstance(x, str) else list(x)
        missing = [name for name in names + ([y] if y else []) if name not in cache.columns]
        if missing and missing != [y]:
            from ._errors import OptionError
            raise OptionError(f"the cache {self.path} has no column {missing[0]!r} (columns: {', '.join(cache.columns)})")
        self.x = x
        self.y = y if y in cache.columns else None
        self._length = self._run().batches_per_epoch

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_local"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _cache(self) -> Cache:
        """This thread's and process's cache handle."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.cache = open_cache(self.path, backend=self.backend, memory_budget=self.memory_budget)
            local.runs = {}
            local.pid = os.getpid()
        cache: Cache = local.cache
        return cache

    def _run(self, prefetching: bool = True) -> Batches:
        """This thread's endless batch iterator: the prefetching one (engine workers gather ahead)
        for batches asked in order, or one gathering on the calling thread for batches asked out
        of order (``fit(shuffle=True)`` permutes the batch indices), so that a jump costs one
        batch's gather instead of restarting the prefetching iterator's threads."""
        cache = self._cache()
        run: Optional[Batches] = self._local.runs.get(prefetching)
        if run is None:
            run = self._local.runs[prefetching] = cache.batches(epoch=self.first_epoch, epochs=None,
                                                                **self.arguments, workers=1 if prefetching else 0)
        return run

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self._length:
            raise IndexError(f"batch {index} outside 0..<{self._length}")
        run = self._run()
        if run.position() != (self.epoch, index):
            run = self._run(prefetching=False)
            if run.position() != (self.epoch, index):
                run.seek(self.epoch, index)
        batch = next(run)
        inputs = batch[self.x] if isinstance(self.x, str) else tuple(batch[name] for name in self.x)
        return inputs if self.y is None else (inputs, batch[self.y])

    def on_epoch_begin(self) -> None:
        self._began = True

    def on_epoch_end(self) -> None:
        if self._began and not _called_by_reset():
            self.epoch += 1
        self._began = False


def _called_by_reset() -> bool:
    """Whether Keras' ``EpochIterator.reset`` is on the call stack: ``fit`` calls it once before its
    first epoch, after the warm-up fetch of its symbolic build, and that ``on_epoch_end`` must not
    count as an epoch (the warm-up may have fetched any number of batches through the enqueuer)."""
    frame: Any = sys._getframe(2)
    for _ in range(8):
        if frame is None:
            return False
        if frame.f_code.co_name == "reset" and "epoch_iterator" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False
