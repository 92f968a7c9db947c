"""What the uncached and the cached data sets share: the checks and row choices of ``shuffle``,
``split`` and the batch loops, so that both choose the very same rows for the same arguments."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

from .._order import EpochOrder, epoch_permutation

__all__ = ["permutation", "split_positions", "check_batch_size", "effective_batch_size", "epoch_positions",
           "resolve_seed"]

Positions = NDArray[np.int64]


def resolve_seed(random_state: Any, seed: Any) -> Any:
    """The seed of ``shuffle(random_state, seed=...)``: either spelling, not two different ones."""
    if seed is not None and random_state is not None and seed is not random_state and seed != random_state:
        raise ValueError(f"shuffle got random_state={random_state!r} and seed={seed!r}: give one")
    return seed if seed is not None else random_state


def permutation(count: int, seed: Any) -> Positions:
    """A random order of ``count`` positions: numpy's ``default_rng(seed)`` for an int (the same
    order on every run) or None (a new order each call); a ``numpy.random.Generator`` or
    ``RandomState`` is used as given."""
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return np.asarray(seed.permutation(count), dtype=np.int64)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer, a numpy random generator or None: got {seed!r}")
    return np.random.default_rng(None if seed is None else int(seed)).permutation(count).astype(np.int64)


def _check_ratio(name: str, ratio: float) -> None:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.integer, np.floating)) \
            or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{name} ratio must be between 0.0 and 1.0: {ratio!r}")


def split_positions(count: int, validation: float, test: float, seed: Any) -> Tuple[Positions, Positions, Positions]:
    """The training, validation and test positions of ``split``: ``round(count × ratio)`` rows
    (half to even, as Python's ``round``) for test and validation, the rest for training, drawn
    from one random order (:func:`permutation`): test first, then validation, then training, each
    in that random order."""
    _check_ratio("validation", validation)
    _check_ratio("test", test)
    if validation + test > 1.0:
        raise ValueError(f"validation plus test ratios exceed 1.0: {validation} + {test} = {validation + test}")
    test_size = int(round(count * test))
    validation_size = min(int(round(count * validation)), count - test_size)
    order = permutation(count, seed)
    return (order[test_size + validation_size:], order[test_size:test_size + validation_size], order[:test_size])


def effective_batch_size(batch_size: int, size: int) -> int:
    """The seed's rule: a batch size below 1 means the whole data set."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size must be an integer: got {batch_size!r}")
    return int(batch_size) if batch_size >= 1 else size


def check_batch_size(batch_size: int, size: int, truncate: bool) -> int:
    """The batch size to use, or ``ValueError`` when ``truncate`` would leave no batch at all."""
    if size == 0:
        raise ValueError("the data set is empty: there are no batches to serve")
    effective = effective_batch_size(batch_size, size)
    if truncate and effective > size:
        raise ValueError(f"batch_size larger than data set size: {effective} > {size}, "
                         "use a valid batch_size or the 'truncate=False' option")
    return effective


def epoch_positions(size: int, shuffle: Any, seed: int, epoch: int) -> Optional[Positions]:
    """The positions of epoch ``epoch`` in visiting order, as the cache's readers order them
    (``datagen.epoch_permutation``), or None for the seed's inventory order."""
    order = EpochOrder.parse(shuffle)
    if order.name == "none":
        return None
    return epoch_permutation(order, int(seed), int(epoch), size)
