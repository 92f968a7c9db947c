"""The one interface both backends implement: :class:`Cache` (what ``datagen.open`` returns) and
:class:`Batches` (what ``Cache.batches`` returns), with the same signatures and defaults."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ._order import EpochOrder
from .transforms import TransformSpec

__all__ = ["Batch", "Batches", "Cache", "RowSelection", "ShuffleMode", "Checkpoint"]

#: One batch: ``{column name: array}`` (and ``"<name>_lengths"`` for a variable-length column).
Batch = Dict[str, NDArray[Any]]
#: ``"none"``, ``"full"``, ``"window"``, ``True`` (full), ``False``/``None`` (none) or an EpochOrder.
ShuffleMode = Union[str, bool, None, EpochOrder]
#: The cache rows a run serves: a range, a sequence or an array of row numbers.
RowSelection = Union[range, Sequence[int], NDArray[np.integer[Any]]]
#: A run's position, as :meth:`Batches.state` returns it (JSON-able).
Checkpoint = Dict[str, Any]


@runtime_checkable
class Batches(Protocol):
    """An iterator over the batches of a run (``Cache.batches``); ``len()`` is the number left."""

    @property
    def batches_per_epoch(self) -> int:
        """Batches in each epoch."""
        ...

    @property
    def total(self) -> Optional[int]:
        """Batches in the whole run (``None`` when endless)."""
        ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Batch]: ...

    def __next__(self) -> Batch: ...

    def position(self) -> Tuple[int, int]:
        """The (epoch, index) of the next batch."""
        ...

    def state(self) -> Checkpoint:
        """The position as a small JSON-able dict (for checkpoints)."""
        ...

    def restore(self, state: Checkpoint) -> Batches:
        """Continues from a position saved by :meth:`state` of a run with the same arguments."""
        ...

    def seek(self, epoch: int, index: int) -> Batches:
        """Moves to batch ``index`` of ``epoch``."""
        ...

    def close(self) -> None:
        """Releases what the run holds (the engine's threads); the run ends."""
        ...


@runtime_checkable
class Cache(Protocol):
    """An open cache file, served by either backend (``"engine"`` or ``"numpy"``)."""

    @property
    def backend(self) -> str:
        """``"engine"`` or ``"numpy"``."""
        ...

    @property
    def path(self) -> str:
        """The cache file's path."""
        ...

    @property
    def rows(self) -> int:
        """The number of rows."""
        ...

    @property
    def columns(self) -> Dict[str, Tuple[np.dtype[Any], Tuple[Optional[int], ...]]]:
        """``{name: (numpy dtype, shape of one row)}`` in schema order; a variable first axis is ``None``."""
        ...

    @property
    def roles(self) -> Dict[str, str]:
        """``{name: "data" or "target"}``."""
        ...

    @property
    def classes(self) -> Optional[List[str]]:
        """The target encoder's label classes in class order, or ``None``."""
        ...

    @property
    def fingerprint(self) -> str:
        """The cache's fingerprint (lowercase hex SHA-256 of its inputs)."""
        ...

    @property
    def ids(self) -> Optional[List[str]]:
        """Every row's id, or ``None`` when the rows have none."""
        ...

    def __len__(self) -> int: ...

    def __enter__(self) -> Cache: ...

    def __exit__(self, *exc: object) -> None: ...

    def verify(self) -> Optional[Dict[str, int]]:
        """Checks every checksum (``datagen cache verify``); raises :class:`CacheError` naming the
        first problem. The numpy backend also returns what it checked (units and bytes)."""
        ...

    def close(self) -> None:
        """Releases the file (arrays already returned stay valid)."""
        ...

    def to_numpy(self) -> Batch:
        """Every column whole, as one batch."""
        ...

    def batches(self, batch_size: int = 128, shuffle: ShuffleMode = "full", seed: int = 0, epoch: int = 0,
                rank: int = 0, world_size: int = 1, drop_last: bool = False, rows: Optional[RowSelection] = None,
                epochs: Optional[int] = 1, *, remainder: str = "drop", workers: int = 1, prefetch: int = 0,
                reuse: int = 0, ring: bool = True, transform: TransformSpec = None,
                transform_column: Optional[str] = None) -> Batches:
        """Batches of ``epochs`` epochs (``None``: endless) from ``epoch`` on, the same for both
        backends and the Swift library given the same arguments. ``transform`` (engine backend
        only; the numpy backend refuses it) serves an image column through an image transform."""
        ...

    def digest(self, batch_size: int = 128, epochs: Optional[int] = 1, shuffle: ShuffleMode = "full", seed: int = 0,
               epoch: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False,
               rows: Optional[RowSelection] = None, *, transform: TransformSpec = None,
               transform_column: Optional[str] = None) -> str:
        """The SHA-256 of every batch of the run (``datagen cache bench --json``'s digest)."""
        ...
