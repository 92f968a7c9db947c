"""The pure-numpy backend: decodes each column once, then serves batches with numpy gathers."""

from __future__ import annotations

import numpy as np

from ._batches import BatchIterator, digest_batches, make_plan, subset_rows
from ._errors import CacheError
from ._format import CacheFileReader, ColumnInfo

__all__ = ["NumpyCache"]


class _VariableColumn:
    """A decoded variable-length column: the steps of every row, and each row's first step."""

    def __init__(self, steps: np.ndarray, starts: np.ndarray):
        self.steps = steps      # shape [total steps] + trailing shape
        self.starts = starts    # int64, rows + 1

    def gather(self, rows: np.ndarray):
        """The rows padded at the end with zeros to the longest, and their lengths (int64)."""
        begin = self.starts[rows]
        lengths = self.starts[rows + 1] - begin
        longest = int(lengths.max()) if lengths.size else 0
        out = np.zeros((len(rows), longest) + self.steps.shape[1:], dtype=self.steps.dtype)
        total = int(lengths.sum())
        if total:
            # Source step of every output step, row by row (a vectorised concatenation of ranges).
            row_of = np.repeat(np.arange(len(rows)), lengths)
            within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            out[row_of, within] = self.steps[np.repeat(begin, lengths) + within]
        return out, lengths.astype(np.int64)


class NumpyCache:
    """A cache file read by the pure-numpy backend (``datagen.open(path, backend="numpy")``).

    Opening checks the frame, the metadata and every table location (no row is read). A column is
    decoded whole on first use (every unit's CRC-32 checked), then batches are numpy gathers.
    """

    backend = "numpy"

    def __init__(self, path):
        self._reader = CacheFileReader(path)
        self._decoded = {}

    # -- description ------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The cache file's path."""
        return self._reader.path

    @property
    def rows(self) -> int:
        """The number of rows."""
        return self._reader.row_count

    def __len__(self):
        return self.rows

    @property
    def columns(self) -> dict:
        """``{name: (numpy dtype, shape of one row)}`` in schema order (data columns, then the
        target); a variable first axis is ``None``."""
        return {c.name: (c.dtype, c.numpy_shape) for c in self._reader.columns}

    @property
    def roles(self) -> dict:
        """``{name: "data" or "target"}``."""
        return {c.name: c.role for c in self._reader.columns}

    @property
    def classes(self):
        """The target encoder's label classes in class order, or ``None``."""
        return None if self._reader.classes is None else list(self._reader.classes)

    @property
    def fingerprint(self) -> str:
        """The cache's fingerprint (lowercase hex SHA-256 of its inputs)."""
        return self._reader.fingerprint["value"]

    @property
    def metadata(self) -> dict:
        """The whole metadata document, as parsed JSON."""
        return self._reader.metadata

    @property
    def ids(self):
        """Every row's id (a list of str), or ``None`` when the rows have none."""
        return self._reader.ids()

    def verify(self) -> dict:
        """Checks every checksum, unit, table order, statistic and padding byte of the file.

        Returns ``{"units_checked", "stored_bytes", "raw_bytes"}``; raises :class:`CacheError`
        naming the first problem."""
        return self._reader.verify()

    def close(self):
        """Releases the file mapping."""
        self._decoded.clear()
        self._reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<datagen.Cache {self.path!r} backend=numpy rows={self.rows} columns={list(self.columns)}>"

    # -- data -------------------------------------------------------------------------------

    def _column(self, info: ColumnInfo):
        decoded = self._decoded.get(info.name)
        if decoded is not None:
            return decoded
        stream = self._reader.column_bytes(info)
        values = stream.view(info.dtype)
        if info.variable_length:
            step = info.row_bytes
            offsets = self._reader.row_offsets_array(info)
            starts = offsets // step if step else np.zeros_like(offsets)
            # Steps of zero bytes (a zero in the shape): no values, every length 0, as in Swift.
            decoded = _VariableColumn(values.reshape((-1 if step else 0,) + tuple(info.shape)), starts)
        else:
            decoded = values.reshape((self.rows,) + tuple(info.shape))
        self._decoded[info.name] = decoded
        return decoded

    def _gather(self, rows: np.ndarray) -> dict:
        batch = {}
        for info in self._reader.columns:
            column = self._column(info)
            if info.variable_length:
                batch[info.name], batch[info.name + "_lengths"] = column.gather(rows)
            else:
                batch[info.name] = column[rows]
        return batch

    def to_numpy(self) -> dict:
        """Every column whole: ``{name: array}`` (a variable-length column padded at the end with
        zeros to the longest row, its lengths under ``"<name>_lengths"``)."""
        return self._gather(np.arange(self.rows, dtype=np.int64))

    def batches(self, batch_size=128, shuffle="full", seed=0, epoch=0, rank=0, world_size=1, drop_last=False,
                rows=None, epochs=1, remainder="drop") -> BatchIterator:
        """Batches of ``epochs`` epochs (``None``: endless) starting at ``epoch``, identical to the
        Swift library's for the same arguments.

        ``shuffle`` is ``"none"``, ``"full"`` or ``"window"``; ``rank``/``world_size`` take this
        process's share of each epoch (``remainder="drop"``: ranks disjoint and equal; ``"pad"``);
        ``rows`` serves only those cache rows (an index array or range), in that order before the
        shuffle. Each batch is a dict of C-contiguous arrays named after the columns.
        """
        subset = subset_rows(rows, self.rows, self.path)
        plan = make_plan(self.rows if subset is None else len(subset), batch_size, shuffle, seed, rank, world_size,
                         drop_last, remainder)
        if subset is None:
            fetch = self._gather
        else:
            def fetch(positions):
                return self._gather(subset[positions])
        return BatchIterator(plan, fetch, epoch, epochs, self.fingerprint)

    def digest(self, batch_size=128, epochs=1, shuffle="full", seed=0, epoch=0, rank=0, world_size=1,
               drop_last=False, rows=None) -> str:
        """The SHA-256 of every batch of the run, equal to ``datagen cache bench --json``'s digest."""
        names = [(c.name, c.variable_length) for c in self._reader.columns]
        return digest_batches(self.batches(batch_size, shuffle, seed, epoch, rank, world_size, drop_last, rows,
                                           epochs), names)
