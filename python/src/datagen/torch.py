"""PyTorch: a cache as a ``torch.utils.data.IterableDataset`` of whole batches.

>>> from datagen.torch import CacheIterable
>>> data = CacheIterable("train.dgcache", batch_size=128, shuffle="full", seed=0)
>>> loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
>>> for epoch in range(10):
...     data.set_epoch(epoch)
...     for x, y in loader: ...
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, Optional, Union

import torch
import torch.utils.data

from . import open as open_cache
from ._protocol import Batch, Cache, RowSelection, ShuffleMode
from ._sizes import MemoryBudget, parse_memory_budget
from .transforms import TransformSpec, spec_of

__all__ = ["CacheIterable"]


class CacheIterable(torch.utils.data.IterableDataset):
    """The batches of one epoch of a cache (use ``DataLoader(ds, batch_size=None)``).

    Each item is ``(x, y)``: the tensors of columns ``x`` and ``y`` (``y=None``, or a cache without
    target: ``x`` alone; ``x=None``: the whole batch dict). Tensors share memory with the numpy
    arrays (``torch.from_numpy``). With ``num_workers=N`` the DataLoader's workers split each
    epoch's batches without overlap or loss (worker *w* serves batches *w*, *w* + N, …; the
    DataLoader interleaves them back in order), and ``rank``/``world_size`` shard the epoch between
    processes of a distributed job on top. ``set_epoch(e)`` selects the epoch, as on
    ``DistributedSampler``. ``transform`` runs an image transform in the engine's workers
    (``Cache.batches``' ``transform=``, engine backend). Other arguments are those of ``Cache.batches``.
    """

    def __init__(self, path: Union[str, os.PathLike[str]], batch_size: int, shuffle: ShuffleMode = "full",
                 seed: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False,
                 rows: Optional[RowSelection] = None, x: Optional[str] = "data", y: Optional[str] = "target",
                 backend: Optional[str] = None, memory_budget: MemoryBudget = None, transform: TransformSpec = None):
        super().__init__()
        self.path = os.fspath(path)
        self.backend = backend
        self.memory_budget = parse_memory_budget(memory_budget)  # bytes; a bad value fails here
        self.arguments: Dict[str, Any] = dict(batch_size=batch_size, shuffle=shuffle, seed=seed, rank=rank,
                                              world_size=world_size, drop_last=drop_last, rows=rows,
                                              transform=spec_of(transform))
        self.epoch = 0
        self._cache: Optional[Cache] = None
        self._pid: Optional[int] = None
        cache = self._open()
        self.x = x
        self.y = y if y in cache.columns else None
        self._length = cache.batches(epochs=1, **self.arguments).batches_per_epoch

    def _open(self) -> Cache:
        if self._cache is None or self._pid != os.getpid():
            self._cache = open_cache(self.path, backend=self.backend, memory_budget=self.memory_budget)
            self._pid = os.getpid()
        return self._cache

    def __getstate__(self) -> Dict[str, Any]:  # picklable for spawned workers: the cache is reopened there
        state = dict(self.__dict__)
        state["_cache"] = None
        return state

    def set_epoch(self, epoch: int) -> None:
        """Serves epoch ``epoch`` from the next iteration on."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self._length

    def _item(self, batch: Batch) -> Any:
        if self.x is None:
            return {name: torch.from_numpy(array) for name, array in batch.items()}
        if self.y is None:
            return torch.from_numpy(batch[self.x])
        return torch.from_numpy(batch[self.x]), torch.from_numpy(batch[self.y])

    def __iter__(self) -> Iterator[Any]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        cache = self._open()
        # Each DataLoader worker gathers its own batches: no engine threads besides it.
        run = cache.batches(epoch=self.epoch, epochs=1, **self.arguments, workers=0 if workers > 1 else 1)
        if workers == 1:
            for batch in run:
                yield self._item(batch)
            return
        for index in range(worker, run.batches_per_epoch, workers):
            run.seek(self.epoch, index)
            yield self._item(next(run))
