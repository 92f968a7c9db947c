"""The seed's data set (``numblr.datagenerator.dataset``): :class:`GeneratorDataSet`, an inventory
(a pandas DataFrame, one record a row) with a data encoder and a target encoder, serving batches of
encoded records to a training loop; :meth:`GeneratorDataSet.cached` builds the encoded records into
a cache file once and serves the same batches from it (:class:`CachedDataSet`)."""

from __future__ import annotations

import copy
import logging
import os
from typing import Any, Iterator, List, Optional, Tuple, Union

import numpy as np

from ._cached import CachedDataSet
from ._selection import check_batch_size, epoch_positions, permutation, resolve_seed, split_positions

__all__ = ["GeneratorDataSet", "CachedDataSet"]

logger = logging.getLogger(__name__)


def _is_encoder_list(encoder: Any) -> bool:
    return isinstance(encoder, (list, tuple))


def _as_array(items: Any) -> np.ndarray:
    if hasattr(items, "toarray"):  # a SciPy sparse matrix (a one-hot encoder's sparse output)
        return np.asarray(items.toarray())
    return np.asarray(items)


class GeneratorDataSet:
    """Batches of encoded records from an inventory.

    ``inventory`` is a pandas DataFrame; ``data_encoder`` is one data encoder or a list (several
    model inputs: each batch's data is then a list of arrays, one per encoder); ``target_encoder``
    turns a batch of records (a DataFrame) into its targets: an object with ``transform`` (a
    :class:`~datagen.compat.encoders.RecordTargetEncoder`, say) or a callable.

    Epochs visit the records in inventory order (:meth:`shuffle` reorders the inventory once), or
    in a new order every epoch with ``batches(..., shuffle="full", seed=...)``, the orders of
    ``datagen.Cache.batches``.
    """

    def __init__(self, inventory: Any, data_encoder: Any = None, target_encoder: Any = None):
        import pandas as pd
        if not isinstance(inventory, pd.DataFrame):
            raise ValueError(f"inventory must be a pandas.DataFrame: got {type(inventory).__name__}")
        self._inventory = inventory
        self._data_encoder = data_encoder
        self._target_encoder = target_encoder

    @property
    def inventory(self) -> Any:
        """The inventory (a pandas DataFrame), in the order epochs visit it."""
        return self._inventory

    @property
    def size(self) -> int:
        """The number of records."""
        return len(self._inventory)

    def __len__(self) -> int:
        return self.size

    @property
    def data_encoder(self) -> Any:
        """The data encoder (or list of data encoders)."""
        return self._data_encoder

    @property
    def target_encoder(self) -> Any:
        """The target encoder."""
        return self._target_encoder

    def _data_encoders(self) -> List[Any]:
        if self._data_encoder is None:
            return []
        return list(self._data_encoder) if _is_encoder_list(self._data_encoder) else [self._data_encoder]

    def fit_encoders(self) -> None:
        """Fits the target encoder and every data encoder that has ``fit`` on the whole inventory."""
        for encoder in [self._target_encoder, *self._data_encoders()]:
            fit = getattr(encoder, "fit", None)
            if callable(fit):
                fit(self._inventory)

    def sort(self, columns: Union[str, List[str]] = "size", ascending: bool = True, na_position: str = "last") -> None:
        """Sorts the inventory by ``columns`` (``"size"``, which ``enrich_inventory`` adds, by default)."""
        self._inventory = self._inventory.sort_values(by=columns, ascending=ascending, na_position=na_position)

    def shuffle(self, random_state: Any = None, *, seed: Any = None) -> None:
        """Reorders the inventory at random, once (its index renumbered 0 … n−1, as the seed does).
        ``seed`` (or ``random_state``, the seed's name) makes the order reproducible: an int, or a
        numpy random generator; None draws a new order."""
        order = permutation(self.size, resolve_seed(random_state, seed))
        self._inventory = self._inventory.iloc[order].reset_index(drop=True)

    def split(self, validation: float = 0.2, test: float = 0.0, *, seed: Any = None
              ) -> Tuple[GeneratorDataSet, GeneratorDataSet, GeneratorDataSet]:
        """Training, validation and test data sets, by ratios of the records:
        ``round(size × ratio)`` records each for validation and test, the rest for training, drawn
        at random (``seed``: the same split on every run). A ratio of 0 gives an empty set."""
        training, validation_rows, test_rows = split_positions(self.size, validation, test, seed)
        return (self._clone_with_inventory(self._inventory.iloc[training]),
                self._clone_with_inventory(self._inventory.iloc[validation_rows]),
                self._clone_with_inventory(self._inventory.iloc[test_rows]))

    def data(self) -> Any:
        """Every record's data: one array (a list of arrays for several data encoders)."""
        if self.size == 0:
            return np.zeros((0,))
        return next(self.data_batches(batch_size=self.size, epochs=1))

    def targets(self) -> np.ndarray:
        """Every record's target, as one array."""
        if self.size == 0:
            return np.zeros((0,))
        targets: np.ndarray = next(self.target_batches(batch_size=self.size, epochs=1))
        return targets

    def batches(self, batch_size: int = 10, epochs: Optional[int] = None, truncate: bool = True, *,
                shuffle: Any = "none", seed: int = 0) -> Iterator[Tuple[Any, Any]]:
        """``(data, targets)`` of each batch of ``batch_size`` records, for ``epochs`` epochs (None:
        endless). ``truncate`` leaves out each epoch's last partial batch (and a batch size above
        the data set's size raises ``ValueError``); a batch size below 1 is the whole data set.
        ``shuffle="full"`` or ``"window"`` visits the records in a new order every epoch (``seed``),
        the order a cache of the same records serves."""
        size = check_batch_size(batch_size, self.size, truncate)
        return ((self._get_batch_data(batch), self._get_batch_targets(batch))
                for batch in self.__inventory_batches(size, epochs, truncate, shuffle, seed))

    def data_batches(self, batch_size: int = 10, epochs: Optional[int] = None, truncate: bool = True, *,
                     shuffle: Any = "none", seed: int = 0) -> Iterator[Any]:
        """The data of each batch (see :meth:`batches`)."""
        size = check_batch_size(batch_size, self.size, truncate)
        return (self._get_batch_data(batch) for batch in self.__inventory_batches(size, epochs, truncate, shuffle, seed))

    def target_batches(self, batch_size: int = 10, epochs: Optional[int] = None, truncate: bool = True, *,
                       shuffle: Any = "none", seed: int = 0) -> Iterator[Any]:
        """The targets of each batch (see :meth:`batches`)."""
        size = check_batch_size(batch_size, self.size, truncate)
        return (self._get_batch_targets(batch)
                for batch in self.__inventory_batches(size, epochs, truncate, shuffle, seed))

    def _get_batch_data(self, batch: Any) -> Any:
        """Override to customize batch data loading and featurization."""
        encoders = self._data_encoders()
        if not encoders:
            raise ValueError("the data set has no data encoder")
        arrays = []
        for encoder in encoders:
            transform_batch = getattr(encoder, "transform_batch", None)
            if callable(transform_batch):
                items = transform_batch(record for _, record in batch.iterrows())
            else:
                items = [self._get_data(record, encoder) for _, record in batch.iterrows()]
            finalize = getattr(encoder, "finalize_batch", None)
            arrays.append(_as_array(finalize(items) if callable(finalize) else items))
        return arrays if len(arrays) > 1 else arrays[0]

    def _get_data(self, record: Any, encoder: Any) -> Any:
        """Override to customize data loading and featurization."""
        transform = getattr(encoder, "transform", None)
        return transform(record) if callable(transform) else encoder(record)

    def _get_batch_targets(self, batch: Any) -> Any:
        """Override to customize target creation."""
        if self._target_encoder is None:
            return None
        transform = getattr(self._target_encoder, "transform", None)
        return _as_array(transform(batch) if callable(transform) else self._target_encoder(batch))

    def __inventory_batches(self, batch_size: int, epochs: Optional[int], truncate: bool, shuffle: Any,
                            seed: int) -> Iterator[Any]:
        if epochs is not None and (isinstance(epochs, bool) or epochs < 0):
            raise ValueError(f"epochs must be a non-negative integer or None (endless): got {epochs!r}")
        epoch = 0
        while epochs is None or epoch < epochs:
            inventory = self._inventory  # read each epoch: a shuffle between epochs takes effect
            size = len(inventory)
            positions = epoch_positions(size, shuffle, seed, epoch)
            served = 0
            for start in range(0, size, batch_size):
                if truncate and start + batch_size > size:
                    break
                stop = min(start + batch_size, size)
                served += 1
                yield inventory.iloc[start:stop] if positions is None else inventory.iloc[positions[start:stop]]
            if served == 0:
                return  # nothing left to serve (the inventory emptied): never spin
            epoch += 1
        logger.debug("served %s epochs", epochs)

    def _clone_with_inventory(self, inventory: Any) -> GeneratorDataSet:
        """Override to control the creation of new instances with modified inventory."""
        clone = copy.copy(self)
        clone._inventory = inventory
        return clone

    def __copy__(self) -> GeneratorDataSet:
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def cached(self, path: Union[str, "os.PathLike[str]"], workers: Optional[int] = None, *,
               id_column: Optional[str] = None, **build_options: Any) -> CachedDataSet:
        """This data set served from a cache file: builds it with ``datagen.build`` (the data
        encoders in ``workers`` processes, default one per core) or, when ``path`` already holds
        an up-to-date cache of these records and encoders, opens it; returns a
        :class:`CachedDataSet` with the same batch API (rows in inventory order).

        ``id_column`` names the inventory's id column (default: the data encoder's, or ``"id"``
        when the inventory has one); other options go to ``datagen.build`` (``on_error``,
        ``codec``, ``progress``, ``force``…), whose errors are raised as they are (every one a
        ``datagen.CacheError``; ``EngineUnavailableError`` without the engine).
        """
        from .. import build
        encoders = self._data_encoders()
        if not encoders:
            raise ValueError("the data set has no data encoder: there is nothing to cache")
        if id_column is None:
            id_column = next((getattr(encoder, "id_column") for encoder in encoders
                              if isinstance(getattr(encoder, "id_column", None), str)), "id")
            if id_column not in self._inventory.columns:
                id_column = None  # an inventory without ids: rows are numbered
        target = self._target_encoder
        options = dict(build_options)
        target_column = getattr(target, "target", None)
        if isinstance(target_column, str):
            options.setdefault("target_column", target_column)
        cache = build(self._inventory, path, encoders if len(encoders) > 1 else encoders[0],
                      _as_target_encoder(target), id_column=id_column, workers=workers, **options)
        return CachedDataSet(cache, inventory=self._inventory)


class _CallableTarget:
    """A plain target function ``f(batch_frame)`` as a target encoder with ``transform``; its
    ``identity`` is the function's, so that a cache's fingerprint follows the function."""

    def __init__(self, function: Any):
        self.function = function
        module = getattr(function, "__module__", "")
        name = getattr(function, "__qualname__", type(function).__qualname__)
        self.identity = getattr(function, "identity", None) or _source_identity(function, f"{module}.{name}")

    def fit(self, records: Any) -> None:
        """Nothing to learn: a function has no fit."""

    def transform(self, records: Any) -> Any:
        return self.function(records)


def _source_identity(function: Any, name: str) -> str:
    import hashlib
    import inspect
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return name
    return f"{name}:{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def _as_target_encoder(target: Any) -> Any:
    if target is None or callable(getattr(target, "transform", None)) or isinstance(target, str):
        return target
    if callable(target):
        return _CallableTarget(target)
    raise ValueError(f"the target encoder must have transform(records) or be a callable: got {type(target).__name__}")
