"""Epoch orders, bit for bit as the Swift library (docs/EPOCHS.md): SplitMix64, keyed Feistel
permutations with cycle walking, window order, and sharding.

Scalar functions use Python ints masked to 64 bits; the whole-epoch functions use numpy uint64
arrays (whose arithmetic wraps modulo 2**64, as Swift's ``&*`` and ``&+``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._errors import OptionError

__all__ = [
    "MASK64",
    "mix",
    "mix_array",
    "order_key",
    "Feistel",
    "EpochOrder",
    "epoch_permutation",
    "Shard",
    "BatchPlan",
]

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB

STREAM_FULL = 1
STREAM_BLOCKS = 2
STREAM_WINDOW = 3

#: Window order's default parameters (Swift ``EpochOrder.window``).
DEFAULT_ROWS_PER_BLOCK = 512
DEFAULT_BLOCKS_PER_WINDOW = 16


def mix(value: int) -> int:
    """The SplitMix64 finaliser of a 64-bit value."""
    z = value & MASK64
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return z ^ (z >> 31)


_U30, _U27, _U31 = np.uint64(30), np.uint64(27), np.uint64(31)
_UM1, _UM2 = np.uint64(_M1), np.uint64(_M2)


def mix_array(z: np.ndarray) -> np.ndarray:
    """:func:`mix` of every element of a uint64 array (a new array)."""
    z = z ^ (z >> _U30)
    z *= _UM1
    z ^= z >> _U27
    z *= _UM2
    z ^= z >> _U31
    return z


def order_key(seed: int, epoch: int, stream: int, salt: int = 0) -> int:
    """``mix(mix(mix(seed ^ stream·φ) + epoch) + salt)``: the key of one permutation."""
    a = mix((seed & MASK64) ^ ((stream * GOLDEN) & MASK64))
    b = mix((a + (epoch & MASK64)) & MASK64)
    return mix((b + (salt & MASK64)) & MASK64)


class Feistel:
    """A keyed permutation of ``range(count)``: a 6-round balanced Feistel network over the
    smallest even number of bits (at least 2) covering ``count``, with cycle walking."""

    ROUNDS = 6

    def __init__(self, count: int, key: int):
        if count < 0:
            raise OptionError(f"a permutation of {count} elements")
        self.count = count
        bits = 2
        while bits < 64 and (1 << bits) < count:
            bits += 2
        self.half_bits = bits // 2
        self.half_mask = (1 << self.half_bits) - 1
        self.keys = [mix((key + (i + 1) * GOLDEN) & MASK64) for i in range(self.ROUNDS)]

    def _encrypt(self, x: int) -> int:
        left, right = x >> self.half_bits, x & self.half_mask
        for k in self.keys:
            left, right = right, left ^ (mix(right ^ k) & self.half_mask)
        return (left << self.half_bits) | right

    def _decrypt(self, x: int) -> int:
        left, right = x >> self.half_bits, x & self.half_mask
        for k in reversed(self.keys):
            left, right = right ^ (mix(left ^ k) & self.half_mask), left
        return (left << self.half_bits) | right

    def element(self, position: int) -> int:
        """The element at ``position`` (``0 <= position < count``)."""
        if not 0 <= position < self.count:
            raise OptionError(f"position {position} outside 0..<{self.count}")
        x = self._encrypt(position)
        while x >= self.count:
            x = self._encrypt(x)
        return x

    def position(self, element: int) -> int:
        """The position of ``element`` (the inverse permutation)."""
        if not 0 <= element < self.count:
            raise OptionError(f"element {element} outside 0..<{self.count}")
        x = self._decrypt(element)
        while x >= self.count:
            x = self._decrypt(x)
        return x

    def _encrypt_array(self, x: np.ndarray) -> np.ndarray:
        shift, mask = np.uint64(self.half_bits), np.uint64(self.half_mask)
        left, right = x >> shift, x & mask
        for k in self.keys:
            left, right = right, left ^ (mix_array(right ^ np.uint64(k)) & mask)
        return (left << shift) | right

    def elements(self, positions: np.ndarray | None = None) -> np.ndarray:
        """The elements at ``positions`` (default: every position, i.e. the whole permutation),
        as an int64 array. Vectorised: O(len) numpy work per cycle-walking step."""
        if positions is None:
            x = np.arange(self.count, dtype=np.uint64)
        else:
            x = np.asarray(positions, dtype=np.uint64).copy()
        if x.size == 0:
            return x.astype(np.int64)
        limit = np.uint64(self.count)
        x = self._encrypt_array(x)
        outside = np.flatnonzero(x >= limit)
        while outside.size:
            walked = self._encrypt_array(x[outside])
            x[outside] = walked
            outside = outside[walked >= limit]
        return x.astype(np.int64)


@dataclass(frozen=True)
class EpochOrder:
    """How an epoch orders the rows: ``none``, ``full`` or ``window`` (with its two parameters)."""

    name: str = "full"
    rows_per_block: int = DEFAULT_ROWS_PER_BLOCK
    blocks_per_window: int = DEFAULT_BLOCKS_PER_WINDOW

    @staticmethod
    def parse(shuffle: object) -> "EpochOrder":
        """An order from ``"none"``, ``"full"``, ``"window"``, ``False``/``True`` or an EpochOrder."""
        if isinstance(shuffle, EpochOrder):
            return shuffle
        if shuffle is True:
            return EpochOrder("full")
        if shuffle is False or shuffle is None:
            return EpochOrder("none")
        if shuffle in ("none", "full", "window"):
            return EpochOrder(shuffle)
        raise OptionError(f"unknown shuffle mode {shuffle!r}: use 'none', 'full' or 'window'")


def epoch_permutation(order: EpochOrder, seed: int, epoch: int, count: int) -> np.ndarray:
    """Every row of an epoch in visiting order (``result[position] == row``), as int64."""
    if order.name == "none":
        return np.arange(count, dtype=np.int64)
    if order.name == "full":
        return Feistel(count, order_key(seed, epoch, STREAM_FULL)).elements()
    return _window_permutation(count, max(1, order.rows_per_block), max(1, order.blocks_per_window), seed, epoch)


def _window_permutation(count: int, rows_per_block: int, blocks_per_window: int, seed: int, epoch: int) -> np.ndarray:
    block_count = (count + rows_per_block - 1) // rows_per_block
    if block_count == 0:
        return np.zeros(0, dtype=np.int64)
    block_order = Feistel(block_count, order_key(seed, epoch, STREAM_BLOCKS)).elements()
    last_size = count - (block_count - 1) * rows_per_block
    parts = []
    within = np.arange(rows_per_block, dtype=np.int64)
    for w, first in enumerate(range(0, block_count, blocks_per_window)):
        blocks = block_order[first:first + blocks_per_window]
        # The window's rows in block order, each block's rows ascending.
        rows = (blocks[:, None] * rows_per_block + within[None, :]).reshape(-1)
        if (blocks == block_count - 1).any() and last_size < rows_per_block:
            keep = np.ones((len(blocks), rows_per_block), dtype=bool)
            keep[np.flatnonzero(blocks == block_count - 1)[0], last_size:] = False
            rows = rows[keep.reshape(-1)]
        mixer = Feistel(len(rows), order_key(seed, epoch, STREAM_WINDOW, salt=w))
        parts.append(rows[mixer.elements()])
    return np.concatenate(parts)


@dataclass(frozen=True)
class Shard:
    """Rank ``rank`` of ``world_size``: positions ``rank, rank + world_size, …`` of each epoch.
    ``remainder`` ``"drop"`` (default) leaves out the rows that do not divide evenly; ``"pad"``
    wraps around to the epoch's first rows."""

    rank: int = 0
    world_size: int = 1
    remainder: str = "drop"

    def __post_init__(self) -> None:
        if not (isinstance(self.world_size, int) and isinstance(self.rank, int)) or self.world_size < 1 \
                or not 0 <= self.rank < self.world_size:
            raise OptionError(f"rank {self.rank} does not exist in a world of size {self.world_size}")
        if self.remainder not in ("drop", "pad"):
            raise OptionError(f"unknown shard remainder {self.remainder!r}: use 'drop' or 'pad'")

    def count(self, total: int) -> int:
        """The number of positions this rank serves of an epoch of ``total`` rows."""
        if self.world_size == 1:
            return total
        if self.remainder == "drop":
            return total // self.world_size
        return 0 if total == 0 else -(-total // self.world_size)

    def global_positions(self, local: np.ndarray, total: int) -> np.ndarray:
        """The global positions of this rank's ``local`` positions."""
        positions = self.rank + np.asarray(local, dtype=np.int64) * self.world_size
        if self.remainder == "pad" and total > 0:
            positions = np.where(positions < total, positions, positions % total)
        return positions


class BatchPlan:
    """Which rows each batch holds, as the Swift ``BatchPlan``: batch ``index`` of ``epoch`` holds
    this shard's positions ``[index·B, min((index+1)·B, rows_per_epoch))``, each mapped to a global
    position by the shard and then to a row by the epoch's permutation."""

    def __init__(self, row_count: int, batch_size: int, order: EpochOrder, seed: int, shard: Shard,
                 drop_last: bool):
        if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= MASK64:
            raise OptionError(f"seed {seed!r} must be an integer in 0..<2**64")
        self.row_count = row_count
        self.order = order
        self.seed = int(seed)
        self.shard = shard
        self.drop_last = drop_last
        self.rows_per_epoch = shard.count(row_count)
        size = int(batch_size)
        if size < 1:
            size = max(self.rows_per_epoch, 1)
        if drop_last and size > self.rows_per_epoch:
            raise OptionError(
                f"batch size {size} is larger than the data set ({self.rows_per_epoch} records): "
                "use a smaller batch size or keep the last partial batch (drop_last=False)")
        self.batch_size = size
        per = self.rows_per_epoch
        self.batches_per_epoch = per // size if drop_last else -(-per // size)
        self._epoch: Optional[int] = None
        self._epoch_rows: np.ndarray = np.zeros(0, dtype=np.int64)

    def epoch_rows(self, epoch: int) -> np.ndarray:
        """Every row this shard serves in ``epoch``, in order (cached for the last epoch asked)."""
        if self._epoch != epoch:
            permutation = epoch_permutation(self.order, self.seed, epoch, self.row_count)
            local = np.arange(self.rows_per_epoch, dtype=np.int64)
            self._epoch_rows = permutation[self.shard.global_positions(local, self.row_count)] \
                if self.rows_per_epoch else np.zeros(0, dtype=np.int64)
            self._epoch = epoch
        return self._epoch_rows

    def rows(self, epoch: int, index: int) -> np.ndarray:
        """The rows of batch ``index`` of ``epoch``."""
        if not 0 <= index < self.batches_per_epoch:
            raise OptionError(f"batch {index} outside the epoch's 0..<{self.batches_per_epoch} batches")
        start = index * self.batch_size
        return self.epoch_rows(epoch)[start:min(start + self.batch_size, self.rows_per_epoch)]
