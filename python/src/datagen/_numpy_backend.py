"""The pure-numpy backend: decodes each column once, then serves batches with numpy gathers."""

from __future__ import annotations

import io
import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from ._batches import BatchIterator, check_threads, digest_batches, make_plan, subset_rows
from ._errors import OptionError
from ._format import CacheFileReader, ColumnInfo
from ._protocol import Batch, Batches, RowSelection, ShuffleMode
from .transforms import TransformSpec

__all__ = ["NumpyCache", "NumpyServing"]


class _VariableColumn:
    """A decoded variable-length column: the steps of every row, and each row's first step."""

    def __init__(self, steps: NDArray[Any], starts: NDArray[np.int64]):
        self.steps = steps      # shape [total steps] + trailing shape
        self.starts = starts    # int64, rows + 1

    def gather(self, rows: NDArray[np.int64]) -> Tuple[NDArray[Any], NDArray[np.int64]]:
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


class _ShapedColumn:
    """A decoded variable-shape column (images): every row's elements, each row's first element,
    and each row's shape."""

    def __init__(self, values: NDArray[Any], starts: NDArray[np.int64], shapes: NDArray[np.int64]):
        self.values = values    # every row's elements, flat, in row order
        self.starts = starts    # int64, rows + 1
        self.shapes = shapes    # int64, [rows, rank]

    def gather(self, rows: NDArray[np.int64]) -> Tuple[NDArray[Any], NDArray[np.int64]]:
        """The rows padded with zeros to the largest size along every axis (an image at the top
        left), and their shapes (int64 [rows, rank])."""
        shapes = self.shapes[rows]
        rank = self.shapes.shape[1]
        largest = tuple(int(d) for d in shapes.max(axis=0)) if len(rows) else (0,) * rank
        out = np.zeros((len(rows),) + largest, dtype=self.values.dtype)
        for position, row in enumerate(rows):
            shape = tuple(int(d) for d in shapes[position])
            begin = int(self.starts[row])
            count = int(self.starts[row + 1]) - begin
            out[(position,) + tuple(slice(0, d) for d in shape)] = self.values[begin:begin + count].reshape(shape)
        return out, np.ascontiguousarray(shapes, dtype=np.int64)


class _JPEGColumn:
    """A JPEG-encoded column (``--image-store jpeg``): every row's JPEG file, decoded with Pillow
    when gathered (libjpeg-turbo's default decoding, as the engine's)."""

    def __init__(self, stream: NDArray[np.uint8], offsets: NDArray[np.int64], shapes: NDArray[np.int64],
                 info: ColumnInfo, reader: CacheFileReader):
        self.stream = stream
        self.offsets = offsets
        self.shapes = shapes
        self.info = info
        self.reader = reader

    @staticmethod
    def pillow(name: str) -> Any:
        """Pillow's ``Image`` module, or an :class:`OptionError` naming the engine backend."""
        try:
            from PIL import Image
        except ImportError:
            raise OptionError(f"column '{name}' holds JPEG files (--image-store jpeg): the numpy backend decodes them "
                              "with Pillow, which is not installed; install Pillow or open the cache with "
                              "backend='engine'") from None
        return Image

    def gather(self, rows: NDArray[np.int64]) -> Tuple[NDArray[Any], NDArray[np.int64]]:
        """The rows decoded and padded with zeros to the batch's largest height and width, and
        their shapes (int64 [rows, 3])."""
        image_module = self.pillow(self.info.name)
        shapes = self.shapes[rows]
        channels = int(self.shapes[0, 2]) if len(self.shapes) else 3
        largest = tuple(int(d) for d in shapes.max(axis=0)) if len(rows) else (0, 0, channels)
        out = np.zeros((len(rows),) + largest, dtype=np.uint8)
        mode = "L" if channels == 1 else "RGB"
        for position, row in enumerate(rows):
            h, w, c = (int(d) for d in shapes[position])
            data = self.stream[int(self.offsets[row]):int(self.offsets[row + 1])].tobytes()
            try:
                with image_module.open(io.BytesIO(data), formats=["JPEG"]) as image:
                    pixels = np.asarray(image.convert(mode), dtype=np.uint8).reshape(h, w, c)
            except Exception as error:  # Pillow raises OSError, ValueError, SyntaxError... for damaged data
                ids = self.reader.ids()
                named = f" (id '{ids[int(row)]}')" if ids is not None else ""
                raise self.reader.corrupt(f"the stored JPEG of row {int(row)}{named} does not decode to its "
                                          f"{h}x{w}x{c} shape: {error}", self.info.name, int(row)) from None
            out[position, :h, :w] = pixels
        return out, np.ascontiguousarray(shapes, dtype=np.int64)


class NumpyServing:
    """What both numpy readers (a cache file, a cache set) serve from their ``_gather``: every
    column whole, batches and digests (the :class:`~datagen.Cache` methods that do not depend on
    where the rows are stored)."""

    @property
    def path(self) -> str:
        """The file's path."""
        raise NotImplementedError

    @property
    def rows(self) -> int:
        """The number of rows."""
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        """The fingerprint kept in checkpoints."""
        raise NotImplementedError

    def _gather(self, rows: NDArray[np.int64]) -> Batch:
        raise NotImplementedError

    def _digest_columns(self) -> List[Tuple[str, bool]]:
        """(name, variable length) of every column, in schema order."""
        raise NotImplementedError

    def to_numpy(self) -> Batch:
        """Every column whole: ``{name: array}`` (a variable-length column padded at the end with
        zeros to the longest row, its lengths under ``"<name>_lengths"``; a variable-shape column
        padded to the largest size along each axis, its rows' shapes under ``"<name>_shapes"``)."""
        return self._gather(np.arange(self.rows, dtype=np.int64))

    def batches(self, batch_size: int = 128, shuffle: ShuffleMode = "full", seed: int = 0, epoch: int = 0,
                rank: int = 0, world_size: int = 1, drop_last: bool = False, rows: Optional[RowSelection] = None,
                epochs: Optional[int] = 1, *, remainder: str = "drop", workers: int = 1, prefetch: int = 0,
                reuse: int = 0, ring: bool = True, transform: TransformSpec = None,
                transform_column: Optional[str] = None) -> Batches:
        """Batches of ``epochs`` epochs (``None``: endless) starting at ``epoch``, identical to the
        Swift library's for the same arguments.

        ``shuffle`` is ``"none"``, ``"full"`` or ``"window"``; ``rank``/``world_size`` take this
        process's share of each epoch (``remainder="drop"``: ranks disjoint and equal; ``"pad"``);
        ``rows`` serves only those cache rows (an index array or range), in that order before the
        shuffle. Each batch is a dict of C-contiguous arrays named after the columns.

        ``workers``, ``prefetch``, ``reuse`` and ``ring`` are the engine's (checked here, no effect):
        this backend gathers each batch on the calling thread, into new arrays. It serves the
        stored images (padded, with ``"<name>_shapes"``) and refuses ``transform=``: image
        transforms run in the engine backend (``backend="engine"``).
        """
        _refuse_transform(transform, transform_column, self.path)
        check_threads(workers, prefetch, reuse)
        subset = subset_rows(rows, self.rows, self.path)
        plan = make_plan(self.rows if subset is None else len(subset), batch_size, shuffle, seed, rank, world_size,
                         drop_last, remainder)
        if subset is None:
            return BatchIterator(plan, self._gather, epoch, epochs, self.fingerprint)
        chosen = subset

        def fetch(positions: NDArray[np.int64]) -> Batch:
            return self._gather(chosen[positions])
        return BatchIterator(plan, fetch, epoch, epochs, self.fingerprint)

    def digest(self, batch_size: int = 128, epochs: Optional[int] = 1, shuffle: ShuffleMode = "full", seed: int = 0,
               epoch: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False,
               rows: Optional[RowSelection] = None, *, transform: TransformSpec = None,
               transform_column: Optional[str] = None) -> str:
        """The SHA-256 of every batch of the run, equal to ``datagen cache bench --json``'s digest."""
        _refuse_transform(transform, transform_column, self.path)
        return digest_batches(self.batches(batch_size, shuffle, seed, epoch, rank, world_size, drop_last, rows,
                                           epochs), self._digest_columns())


class NumpyCache(NumpyServing):
    """A cache file read by the pure-numpy backend (``datagen.open(path, backend="numpy")``).

    Opening checks the frame, the metadata and every table location (no row is read). A column is
    decoded whole on first use (every unit's CRC-32 checked), then batches are numpy gathers.
    """

    backend = "numpy"

    def __init__(self, path: Union[str, os.PathLike[str]]):
        self._reader = CacheFileReader(path)
        self._decoded: Dict[str, Union[NDArray[Any], _VariableColumn, _ShapedColumn, _JPEGColumn]] = {}

    # -- description ------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The cache file's path."""
        return self._reader.path

    @property
    def rows(self) -> int:
        """The number of rows."""
        return self._reader.row_count

    def __len__(self) -> int:
        return self.rows

    @property
    def columns(self) -> Dict[str, Tuple[np.dtype[Any], Tuple[Optional[int], ...]]]:
        """``{name: (numpy dtype, shape of one row)}`` in schema order (data columns, then the
        target); a variable first axis is ``None``."""
        return {c.name: (c.dtype, c.numpy_shape) for c in self._reader.columns}

    @property
    def roles(self) -> Dict[str, str]:
        """``{name: "data" or "target"}``."""
        return {c.name: c.role for c in self._reader.columns}

    @property
    def classes(self) -> Optional[List[str]]:
        """The target encoder's label classes in class order, or ``None``."""
        return None if self._reader.classes is None else list(self._reader.classes)

    @property
    def fingerprint(self) -> str:
        """The cache's fingerprint (lowercase hex SHA-256 of its inputs)."""
        return str(self._reader.fingerprint["value"])

    @property
    def metadata(self) -> Dict[str, Any]:
        """The whole metadata document, as parsed JSON."""
        metadata: Dict[str, Any] = self._reader.metadata
        return metadata

    @property
    def ids(self) -> Optional[List[str]]:
        """Every row's id (a list of str), or ``None`` when the rows have none."""
        return self._reader.ids()

    def verify(self) -> Optional[Dict[str, int]]:
        """Checks every checksum, unit, table order, statistic and padding byte of the file.

        Returns ``{"units_checked", "stored_bytes", "raw_bytes"}``; raises :class:`CacheError`
        naming the first problem."""
        return self._reader.verify()

    def close(self) -> None:
        """Releases the file mapping."""
        self._decoded.clear()
        self._reader.close()

    def __enter__(self) -> NumpyCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<datagen.Cache {self.path!r} backend=numpy rows={self.rows} columns={list(self.columns)}>"

    # -- data -------------------------------------------------------------------------------

    def _column(self, info: ColumnInfo) -> Union[NDArray[Any], _VariableColumn, _ShapedColumn, _JPEGColumn]:
        decoded = self._decoded.get(info.name)
        if decoded is not None:
            return decoded
        stream = self._reader.column_bytes(info)
        values = stream.view(info.dtype)
        if info.encoding == "jpeg":
            _JPEGColumn.pillow(info.name)  # refused at once without Pillow, before decoding anything
            decoded = _JPEGColumn(stream, self._reader.row_offsets_array(info), self._reader.row_shapes_array(info),
                                  info, self._reader)
        elif info.row_shape is not None:
            offsets = self._reader.row_offsets_array(info)
            decoded = _ShapedColumn(values, offsets // info.dtype.itemsize, self._reader.row_shapes_array(info))
        elif info.variable_length:
            step = info.row_bytes
            offsets = self._reader.row_offsets_array(info)
            starts = offsets // step if step else np.zeros_like(offsets)
            # Steps of zero bytes (a zero in the shape): no values, every length 0, as in Swift.
            decoded = _VariableColumn(values.reshape((-1 if step else 0,) + tuple(info.shape)), starts)
        else:
            decoded = values.reshape((self.rows,) + tuple(info.shape))
        self._decoded[info.name] = decoded
        return decoded

    def _gather(self, rows: NDArray[np.int64]) -> Batch:
        batch: Batch = {}
        for info in self._reader.columns:
            column = self._column(info)
            if isinstance(column, (_ShapedColumn, _JPEGColumn)):
                batch[info.name], batch[info.name + "_shapes"] = column.gather(rows)
            elif isinstance(column, _VariableColumn):
                batch[info.name], batch[info.name + "_lengths"] = column.gather(rows)
            else:
                batch[info.name] = column[rows]
        return batch

    def _digest_columns(self) -> List[Tuple[str, bool]]:
        return [(c.name, c.variable_length) for c in self._reader.columns]


def _refuse_transform(transform: TransformSpec, transform_column: Optional[str], path: str) -> None:
    """Raises :class:`OptionError` when a transform is asked of this backend."""
    if transform is not None or transform_column is not None:
        raise OptionError("transform= is served by the engine backend only (datagen.open(path, backend='engine')); "
                          "the numpy backend serves the stored images", path)
