"""A seed data set served from a cache file: :class:`CachedDataSet`."""

from __future__ import annotations

import os
from typing import Any, Iterator, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from .._protocol import Batch, Cache
from ._selection import check_batch_size, permutation, resolve_seed, split_positions

__all__ = ["CachedDataSet"]


class CachedDataSet:
    """The batch API of :class:`~datagen.compat.GeneratorDataSet` (``batches``, ``data_batches``,
    ``target_batches``, ``data()``, ``targets()``, ``shuffle``, ``split``) served from an open cache:
    no encoder runs, every batch is gathered from the file.

    ``rows`` are the cache rows this data set serves, in the order epochs visit them (default:
    every row in file order, which is the inventory's order when :meth:`GeneratorDataSet.cached`
    built it); ``split`` and ``shuffle`` choose rows and never rebuild. ``inventory`` (optional) is
    the inventory, one record per row of ``rows``. Data is the cache's ``data`` column (several
    data columns, ``data0``, ``data1``…, give a list of arrays, as several encoders do uncached);
    targets are its ``target`` column (None without one). :meth:`keras` and :meth:`torch` give the
    package's adapters over the same rows.
    """

    def __init__(self, cache: Union[Cache, str, "os.PathLike[str]"], *, rows: Optional[Any] = None,
                 inventory: Any = None, backend: Optional[str] = None):
        if isinstance(cache, (str, os.PathLike)):
            import datagen
            cache = datagen.open(cache, backend=backend)
        self._cache: Cache = cache
        self._rows: NDArray[np.int64] = np.arange(cache.rows, dtype=np.int64) if rows is None \
            else np.asarray(rows, dtype=np.int64).reshape(-1)
        if inventory is not None and len(inventory) != len(self._rows):
            raise ValueError(f"the inventory has {len(inventory)} records but the data set serves "
                             f"{len(self._rows)} cache rows")
        self._inventory = inventory
        roles = cache.roles
        self._data_columns: List[str] = [name for name in cache.columns if roles.get(name) == "data"]
        self._target_column: Optional[str] = next((name for name in cache.columns if roles.get(name) == "target"),
                                                  None)
        if not self._data_columns:
            raise ValueError(f"the cache {cache.path} has no data column (columns: {', '.join(cache.columns)})")

    @property
    def cache(self) -> Cache:
        """The open cache the batches come from."""
        return self._cache

    @property
    def path(self) -> str:
        """The cache file's path."""
        return self._cache.path

    @property
    def rows(self) -> NDArray[np.int64]:
        """The cache rows served, in the order epochs visit them."""
        return self._rows.copy()

    @property
    def inventory(self) -> Any:
        """The records of :attr:`rows` (a pandas DataFrame), when the data set was made from one."""
        return self._inventory

    @property
    def size(self) -> int:
        """The number of records."""
        return len(self._rows)

    def __len__(self) -> int:
        return self.size

    @property
    def data_columns(self) -> List[str]:
        """The cache's data columns, in schema order."""
        return list(self._data_columns)

    @property
    def target_column(self) -> Optional[str]:
        """The cache's target column, or None."""
        return self._target_column

    @property
    def classes(self) -> Optional[List[str]]:
        """The cache's label classes, or None."""
        return self._cache.classes

    def _with_rows(self, positions: NDArray[np.int64]) -> CachedDataSet:
        clone = CachedDataSet.__new__(CachedDataSet)
        clone.__dict__.update(self.__dict__)
        clone._rows = self._rows[positions]
        clone._inventory = None if self._inventory is None else self._inventory.iloc[positions]
        return clone

    def shuffle(self, random_state: Any = None, *, seed: Any = None) -> None:
        """Reorders the rows at random, once, as :meth:`GeneratorDataSet.shuffle` reorders the
        inventory (the same order for the same seed)."""
        positions = permutation(self.size, resolve_seed(random_state, seed))
        self._rows = self._rows[positions]
        if self._inventory is not None:
            self._inventory = self._inventory.iloc[positions].reset_index(drop=True)

    def sort(self, columns: Union[str, List[str]] = "size", ascending: bool = True, na_position: str = "last") -> None:
        """Sorts the rows by inventory columns (needs the inventory)."""
        if self._inventory is None:
            raise ValueError("sort needs the inventory: this cached data set was opened without one")
        ordered = self._inventory.reset_index(drop=True).sort_values(by=columns, ascending=ascending,
                                                                     na_position=na_position)
        positions = np.asarray(ordered.index, dtype=np.int64)
        self._rows = self._rows[positions]
        self._inventory = self._inventory.iloc[positions]

    def split(self, validation: float = 0.2, test: float = 0.0, *, seed: Any = None
              ) -> Tuple[CachedDataSet, CachedDataSet, CachedDataSet]:
        """Training, validation and test data sets over subsets of the rows (no rebuild), chosen
        as :meth:`GeneratorDataSet.split` chooses records: the same seed gives the same records."""
        training, validation_rows, test_rows = split_positions(self.size, validation, test, seed)
        return self._with_rows(training), self._with_rows(validation_rows), self._with_rows(test_rows)

    def _runs(self, batch_size: int, epochs: Optional[int], truncate: bool, shuffle: Any, seed: int
              ) -> Iterator[Batch]:
        size = check_batch_size(batch_size, self.size, truncate)
        if epochs is not None and (isinstance(epochs, bool) or epochs < 0):
            raise ValueError(f"epochs must be a non-negative integer or None (endless): got {epochs!r}")
        return iter(self._cache.batches(batch_size=size, shuffle=shuffle, seed=seed, rows=self._rows, epochs=epochs,
                                        drop_last=truncate))

    def _data(self, batch: Batch) -> Any:
        if len(self._data_columns) == 1:
            return batch[self._data_columns[0]]
        return [batch[name] for name in self._data_columns]

    def _targets(self, batch: Batch) -> Any:
        return None if self._target_column is None else batch[self._target_column]

    def batches(self, batch_size: int = 10, epochs: Optional[int] = None, truncate: bool = True, *,
                shuffle: Any = "none", seed: int = 0) -> Iterator[Tuple[Any, Any]]:
        """``(data, targets)`` of each batch, as :meth:`GeneratorDataSet.batches` serves them."""
        run = self._runs(batch_size, epochs, truncate, shuffle, seed)
        return ((self._data(batch), self._targets(batch)) for batch in run)

    def data_batches(self, batch_size: int = 10, epochs: Optional[int] = None, truncate: bool = True, *,
                     shuffle: Any = "none", seed: int = 0) -> Iterator[Any]:
        """The data of each batch (see :meth:`batches`)."""
        run = self._runs(batch_size, epochs, truncate, shuffle, seed)
        return (self._data(batch) for batch in run)

    def target_batches(self, batch_size: int = 10, epochs: Optional[int] = None, truncate: bool = True, *,
                       shuffle: Any = "none", seed: int = 0) -> Iterator[Any]:
        """The targets of each batch (see :meth:`batches`)."""
        run = self._runs(batch_size, epochs, truncate, shuffle, seed)
        return (self._targets(batch) for batch in run)

    def data(self) -> Any:
        """Every row's data: one array (a list of arrays for several data columns)."""
        if self.size == 0:
            return np.zeros((0,))
        return next(self.data_batches(batch_size=self.size, epochs=1))

    def targets(self) -> Any:
        """Every row's target, as one array (None without a target column)."""
        if self.size == 0:
            return np.zeros((0,))
        return next(self.target_batches(batch_size=self.size, epochs=1))

    def keras(self, batch_size: int, *, shuffle: Any = "none", seed: int = 0, truncate: bool = True,
              **options: Any) -> Any:
        """A ``datagen.keras.CacheDataset`` (a ``keras.utils.PyDataset``) over these rows, for
        ``model.fit``: the batches of :meth:`batches` with the same arguments, one epoch per
        ``fit`` epoch. Other options go to ``CacheDataset`` (``workers``, ``memory_budget``…)."""
        from ..keras import CacheDataset
        x: Union[str, List[str]] = self._data_columns[0] if len(self._data_columns) == 1 else self.data_columns
        return CacheDataset(self.path, batch_size, x=x, y=self._target_column, shuffle=shuffle, seed=seed,
                            rows=self._rows, drop_last=truncate, backend=self._cache.backend, **options)

    def torch(self, batch_size: int, *, shuffle: Any = "none", seed: int = 0, truncate: bool = True,
              **options: Any) -> Any:
        """A ``datagen.torch.CacheIterable`` over these rows (use ``DataLoader(ds, batch_size=None)``):
        ``(x, y)`` tensors of the batches of :meth:`batches` with the same arguments; with several
        data columns each item is the batch's dict of tensors. Other options go to ``CacheIterable``."""
        from ..torch import CacheIterable
        x = self._data_columns[0] if len(self._data_columns) == 1 else None
        return CacheIterable(self.path, batch_size, shuffle=shuffle, seed=seed, drop_last=truncate, rows=self._rows,
                             x=x, y=self._target_column, backend=self._cache.backend, **options)
