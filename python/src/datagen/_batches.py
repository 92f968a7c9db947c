"""The batch iterator shared by the backends, and the digest of a run of batches."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

from ._errors import OptionError
from ._order import BatchPlan, EpochOrder, Shard
from ._protocol import Batch, Batches, Checkpoint, RowSelection, ShuffleMode

__all__ = ["BatchIterator", "make_plan", "digest_batches", "subset_rows", "check_threads"]


def subset_rows(rows: Optional[RowSelection], row_count: int, path: str | None) -> NDArray[np.int64] | None:
    """``rows`` (None, a range, a sequence or an array of cache rows) as an int64 array, checked
    to lie in ``0..<row_count`` (``None`` stays ``None``: every row)."""
    if rows is None:
        return None
    if isinstance(rows, range):
        array = np.arange(rows.start, rows.stop, rows.step, dtype=np.int64)
    else:
        array = np.asarray(rows)
        if array.dtype == bool:
            raise OptionError("rows must be row numbers, not a boolean mask", path)
        if array.size == 0:
            array = array.astype(np.int64)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise OptionError("rows must be a one-dimensional sequence of integers", path)
        array = array.astype(np.int64)
    bad = np.flatnonzero((array < 0) | (array >= row_count))
    if bad.size:
        raise OptionError(f"row {int(array[bad[0]])} is outside the cache's rows 0..<{row_count}", path)
    return array


def check_threads(workers: int, prefetch: int, reuse: int) -> None:
    """Checks ``Cache.batches``' thread arguments (the same in both backends)."""
    for name, value in (("workers", workers), ("prefetch", prefetch), ("reuse", reuse)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise OptionError(f"{name} {value!r} must be a non-negative integer")


def make_plan(row_count: int, batch_size: int, shuffle: ShuffleMode, seed: int, rank: int, world_size: int,
              drop_last: bool, remainder: str = "drop") -> BatchPlan:
    """The :class:`BatchPlan` of these arguments (checked; errors are :class:`OptionError`)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise OptionError(f"batch_size {batch_size!r} is not an integer")
    return BatchPlan(row_count, int(batch_size), EpochOrder.parse(shuffle), seed,
                     Shard(int(rank), int(world_size), remainder), bool(drop_last))


class BatchIterator:
    """Batches of ``epochs`` epochs starting at ``epoch``: each a dict of C-contiguous numpy arrays
    named after the cache's columns (``"data"``, ``"target"``…; a variable-length column is padded
    at the end with zeros to the batch's longest row, its lengths under ``"<name>_lengths"``).

    ``len()`` is the number of batches left; :meth:`state` and :meth:`restore` save and resume
    the position.
    """

    def __init__(self, plan: BatchPlan, fetch: Callable[[NDArray[np.int64]], Batch], epoch: int,
                 epochs: Optional[int], fingerprint: Optional[str] = None):
        if epochs is not None and (isinstance(epochs, bool) or int(epochs) < 0):
            raise OptionError(f"epochs {epochs!r} must be a non-negative integer or None (endless)")
        self.plan = plan
        self._fetch = fetch
        self.first_epoch = int(epoch)
        self.epochs = None if epochs is None else int(epochs)
        self._sequence = 0
        self._closed = False
        self.fingerprint = fingerprint

    @property
    def batches_per_epoch(self) -> int:
        """Batches in each epoch."""
        return self.plan.batches_per_epoch

    @property
    def total(self) -> Optional[int]:
        """Batches in the whole run (``None`` when endless)."""
        return None if self.epochs is None else self.epochs * self.plan.batches_per_epoch

    def __len__(self) -> int:
        total = self.total
        if total is None:
            raise TypeError("an endless batch iterator has no length")
        return total - self._sequence

    def __iter__(self) -> Iterator[Batch]:
        return self

    def position(self) -> Tuple[int, int]:
        """The (epoch, index) of the next batch."""
        per = self.plan.batches_per_epoch
        if per == 0:
            return self.first_epoch, 0
        return self.first_epoch + self._sequence // per, self._sequence % per

    def __next__(self) -> Batch:
        total = self.total
        if self._closed or (total is not None and self._sequence >= total) or self.plan.batches_per_epoch == 0:
            raise StopIteration
        epoch, index = self.position()
        batch = self._fetch(self.plan.rows(epoch, index))
        self._sequence += 1
        return batch

    def state(self) -> Checkpoint:
        """The position as a small JSON-able dict (for checkpoints; the fields of the Swift
        ``IteratorState``)."""
        epoch, index = self.position()
        return run_state(self.plan, epoch, index, self.first_epoch, self.epochs, self.fingerprint)

    def seek(self, epoch: int, index: int) -> Batches:
        """Moves to batch ``index`` of ``epoch`` (the run continues from there)."""
        per = self.plan.batches_per_epoch
        end = None if self.epochs is None else self.first_epoch + self.epochs
        if int(epoch) < self.first_epoch or not 0 <= int(index) < max(per, 1) or \
                (end is not None and (int(epoch), int(index)) > (end, 0)):
            raise OptionError(f"batch {index} of epoch {epoch} is outside the run (epochs from "
                              f"{self.first_epoch}, {per} batches each)")
        self._sequence = (int(epoch) - self.first_epoch) * per + int(index)
        return self

    def restore(self, state: Checkpoint) -> Batches:
        """Continues from a position saved by :meth:`state` of a run with the same arguments: the
        remaining batches are exactly those the uninterrupted run would have served."""
        epoch, index = check_state(state, self.plan, self.first_epoch, self.epochs, self.fingerprint)
        return self.seek(epoch, index)

    def close(self) -> None:
        """Ends the run: later ``next()`` calls raise ``StopIteration``."""
        self._closed = True


#: The checkpoint layout :func:`run_state` writes (2 adds ``version`` and ``samples``; a state
#: without ``version`` is version 1 and stays readable).
STATE_VERSION = 2


def run_state(plan: BatchPlan, epoch: int, index: int, first_epoch: int, epochs: Optional[int],
              fingerprint: Optional[str]) -> Checkpoint:
    """A checkpoint of a run at batch ``index`` of ``epoch``; ``samples`` is the position as the
    epoch's global samples served (``index × batch_size × world_size``), from which a run of
    another world size with the same global batch resumes."""
    order: Any = plan.order.name if plan.order.name != "window" else \
        {"window": {"rowsPerBlock": plan.order.rows_per_block, "blocksPerWindow": plan.order.blocks_per_window}}
    return {"version": STATE_VERSION, "seed": plan.seed, "epoch": int(epoch), "batch": int(index),
            "samples": int(index) * plan.batch_size * plan.shard.world_size, "batch_size": plan.batch_size,
            "order": order, "drop_last": plan.drop_last, "rank": plan.shard.rank, "world_size": plan.shard.world_size,
            "end_epoch": None if epochs is None else first_epoch + epochs, "fingerprint": fingerprint}


def check_state(state: Checkpoint, plan: BatchPlan, first_epoch: int, epochs: Optional[int],
                fingerprint: Optional[str]) -> Tuple[int, int]:
    """The (epoch, index) at which this run resumes a checkpoint, after checking that it belongs
    to this run.

    The checkpoint may come from a run of another ``world_size`` / ``rank`` (elastic resume): the
    global batch (``batch_size × world_size``), ``seed``, ``order``, ``drop_last``, ``end_epoch``
    and ``fingerprint`` must agree, and the run resumes at the saved global sample ``samples``
    (the same batch index; past this world's last batch of the epoch: the next epoch's first).
    Anything else raises :class:`OptionError` naming the field."""
    expected = run_state(plan, 0, 0, first_epoch, epochs, fingerprint)
    if not isinstance(state, dict):
        raise OptionError(f"the saved state {state!r} is not a checkpoint")
    try:
        version = int(state.get("version", 1))
        if not 1 <= version <= STATE_VERSION:
            raise OptionError(f"the saved state's version {version} is newer than this library reads "
                              f"({STATE_VERSION})")
        epoch, index = int(state["epoch"]), int(state["batch"])
        saved_size, saved_world = int(state["batch_size"]), int(state.get("world_size", 1))
        samples = index * saved_size * saved_world
        if "samples" in state and int(state["samples"]) != samples:
            raise OptionError(f"the saved state's samples {state['samples']!r} are not batch × batch_size × "
                              f"world_size ({samples})")
        differing = [key for key in ("seed", "order", "drop_last", "end_epoch", "fingerprint")
                     if state.get(key) != expected[key]]
    except (KeyError, TypeError, ValueError) as error:
        raise OptionError(f"the saved state {state!r} is not a checkpoint ({error})") from None
    reasons = [_difference(key, state.get(key), expected[key]) for key in differing]
    world = plan.shard.world_size
    if saved_world == world:
        if saved_size != plan.batch_size:
            reasons.insert(0, f"batch_size {saved_size!r} (this run: {plan.batch_size!r})")
    elif saved_size * saved_world != plan.batch_size * world:
        reasons.insert(0, f"global batch (batch_size × world_size) {saved_size} × {saved_world} = "
                          f"{saved_size * saved_world} (this run: {plan.batch_size} × {world} = "
                          f"{plan.batch_size * world})")
    if reasons:
        raise OptionError("the saved state belongs to another run: " + ", ".join(reasons))
    index = samples // (plan.batch_size * world)
    per = plan.batches_per_epoch
    if per and index >= per:
        epoch, index = epoch + index // per, index % per
    return epoch, index


def _shuffle_spelling(order: Any, other: Any) -> str:
    """A saved ``order`` as the user spells it, ``shuffle``'s value (``'window'`` with its two
    parameters only when ``other`` is also a window that differs in them)."""
    if isinstance(order, dict) and "window" in order:
        window = order["window"]
        if isinstance(other, dict) and "window" in other and isinstance(window, dict):
            return (f"'window' (rows_per_block {window.get('rowsPerBlock')!r}, "
                    f"blocks_per_window {window.get('blocksPerWindow')!r})")
        return "'window'"
    return repr(order)


def _difference(key: str, saved: Any, expected: Any) -> str:
    """One field of a saved state that differs from this run, named as the user spells it."""
    if key == "order":
        return f"shuffle {_shuffle_spelling(saved, expected)} (this run: {_shuffle_spelling(expected, saved)})"
    return f"{key} {saved!r} (this run: {expected!r})"


def digest_batches(batches: Iterable[Batch], names: Sequence[Tuple[str, bool]]) -> str:
    """SHA-256 (lowercase hex) over every batch in order; within a batch each column of
    ``names`` (schema order) as C-order little-endian bytes, a variable-length column's padded
    bytes followed by its lengths as int64 little-endian, a variable-shape column's (images) padded
    bytes followed by its rows' shapes (``"<name>_shapes"``, [rows, rank]) as int64 little-endian."""
    sha = hashlib.sha256()
    for batch in batches:
        for name, variable in names:
            array = batch[name]
            sha.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
            if name + "_shapes" in batch:
                sha.update(np.ascontiguousarray(batch[name + "_shapes"], dtype="<i8").tobytes())
            elif variable:
                sha.update(np.ascontiguousarray(batch[name + "_lengths"], dtype="<i8").tobytes())
    return sha.hexdigest()
