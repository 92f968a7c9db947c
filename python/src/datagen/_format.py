"""An independent reader of the cache file format (docs/FORMAT.md) with numpy, lz4 and zlib.

Everything read from the file is checked before use, as the Swift reader does: the frame and the
metadata CRC at open, every table location and count against the file and the schema at open,
each table's CRC before its first use, each unit's location, flags, size and CRC before it is
decoded. Any inconsistency raises a :class:`~datagen.CacheError` naming the place.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
import zlib
from typing import Any, Dict, List, Optional, Tuple, Union

import lz4.block
import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._errors import (CacheError, CacheFileNotFoundError, ChecksumError, CorruptError, NotACacheError, OptionError,
                      TruncatedError, UnsupportedVersionError)

__all__ = ["CacheFileReader", "ColumnInfo", "FORMAT_VERSION"]

FORMAT_VERSION = 3  # the newest read; version 1 files have no variable-shape column
VARIABLE_SHAPE_VERSION = 2
JPEG_COLUMN_VERSION = 3  # files with a JPEG-encoded column (--image-store jpeg)
HEADER_MAGIC = b"DGCACHE\0"
TRAILER_MAGIC = b"DGCEND\0\0"
HEADER_SIZE = 64
TRAILER_SIZE = 64
ALIGNMENT = 8
UNIT_ENTRY = 24
FLAG_RAW = 1
MAX_ROWS = 1 << 40
MAX_COLUMNS = 4096
PACKED_UNIT_BYTES = 32768  # raw bytes of a packed unit of a fixed column, at most (docs/FORMAT.md)
MAX_METADATA = 1 << 32

DTYPES = {
    "bool": np.dtype("?"), "uint8": np.dtype("u1"), "uint16": np.dtype("<u2"), "uint32": np.dtype("<u4"),
    "uint64": np.dtype("<u8"), "int8": np.dtype("i1"), "int16": np.dtype("<i2"), "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"), "float16": np.dtype("<f2"), "float32": np.dtype("<f4"), "float64": np.dtype("<f8"),
}
UNIT_DTYPE = np.dtype([("offset", "<u8"), ("length", "<u8"), ("crc", "<u4"), ("flags", "<u4")])


class _Invalid(Exception):
    """A metadata field of the wrong type or value (turned into a CorruptError naming ``column``
    when known)."""

    def __init__(self, reason: str, column: Optional[str] = None):
        super().__init__(reason)
        self.column = column


def _get(obj: Any, key: str, kind: type, optional: bool = False) -> Any:
    if not isinstance(obj, dict):
        raise _Invalid(f"expected an object holding '{key}'")
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise _Invalid(f"the key '{key}' is missing")
    value = obj[key]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"'{key}' is not an integer")
    elif kind is bool:
        if not isinstance(value, bool):
            raise _Invalid(f"'{key}' is not a boolean")
    elif not isinstance(value, kind):
        raise _Invalid(f"'{key}' is not a {kind.__name__}")
    return value


class Table:
    """A table of the index section: ``count`` entries of ``width`` bytes at absolute ``offset``."""

    __slots__ = ("offset", "count", "width", "crc", "what", "column", "checked")

    def __init__(self, offset: int, count: int, width: int, crc: int, what: str, column: Optional[str]):
        self.offset, self.count, self.width, self.crc = offset, count, width, crc
        self.what, self.column, self.checked = what, column, False

    @property
    def nbytes(self) -> int:
        return self.count * self.width


class ColumnInfo:
    """One column of a cache: its schema, layout and tables."""

    units: Table  # set by the reader once the column is validated

    def __init__(self, meta: Dict[str, Any], row_count: int):
        self.name: str = _get(meta, "name", str)
        try:
            self._parse(meta, row_count)
        except _Invalid as error:
            raise _Invalid(str(error), self.name) from None

    def _parse(self, meta: Dict[str, Any], row_count: int) -> None:
        self.role: str = _get(meta, "role", str)
        self.encoder = _get(meta, "encoder", str)
        dtype = _get(meta, "dtype", str)
        if dtype not in DTYPES:
            raise _Invalid(f"unknown dtype '{dtype}' of column '{self.name}'")
        if self.role not in ("data", "target"):
            raise _Invalid(f"unknown role '{self.role}' of column '{self.name}'")
        self.dtype_name = dtype
        self.dtype = DTYPES[dtype]
        self.shape: List[int] = _get(meta, "shape", list)
        if any(isinstance(d, bool) or not isinstance(d, int) for d in self.shape):
            raise _Invalid(f"the shape of column '{self.name}' is not a list of integers")
        self.variable_length: bool = _get(meta, "variableLength", bool)
        self.codec: str = _get(meta, "codec", str)
        if self.codec not in ("none", "lz4", "lz4hc"):
            raise _Invalid(f"unknown codec '{self.codec}' of column '{self.name}'")
        self.layout = _get(meta, "layout", str)
        if self.layout not in ("row", "packed"):
            raise _Invalid(f"unknown layout '{self.layout}' of column '{self.name}'")
        self.unit_count: int = _get(meta, "unitCount", int)
        self.raw_bytes: int = _get(meta, "rawBytes", int)
        self.stored_bytes: int = _get(meta, "storedBytes", int)
        if self.raw_bytes < 0 or self.stored_bytes < 0:
            raise _Invalid(f"negative byte counts in column '{self.name}'")
        self.units_loc = _location(_get(meta, "units", dict))
        self.first_rows_loc = _location(_get(meta, "unitFirstRows", dict, optional=True))
        self.row_offsets_loc = _location(_get(meta, "rowOffsets", dict, optional=True))
        # Variable-shape columns (format version 2): each row's dimensions, -1 where they vary.
        row_shape = _get(meta, "rowShape", list, optional=True)
        if row_shape is not None and any(isinstance(d, bool) or not isinstance(d, int) for d in row_shape):
            raise _Invalid(f"the rowShape of column '{self.name}' is not a list of integers")
        self.row_shape: Optional[List[int]] = row_shape
        self.row_shapes_loc = _location(_get(meta, "rowShapes", dict, optional=True))
        # JPEG-encoded columns (format version 3): each row's bytes are a JPEG file.
        self.encoding: Optional[str] = _get(meta, "encoding", str, optional=True)
        if self.encoding is not None and self.encoding != "jpeg":
            raise _Invalid(f"unknown encoding '{self.encoding}' of column '{self.name}'")
        self.row_count = row_count
        # Python integers: a shape too large for int64 is refused by name when validated, not
        # overflowed here.
        self.step_elements = math.prod(self.shape)
        self.first_rows: Optional[Table] = None  # set by the reader
        self.row_offsets: Optional[Table] = None
        self.row_shapes: Optional[Table] = None

    @property
    def row_bytes(self) -> int:
        """Bytes of one row (fixed column) or of one step of the first axis (variable column)."""
        return int(self.step_elements * self.dtype.itemsize)

    @property
    def numpy_shape(self) -> Tuple[Optional[int], ...]:
        """The shape of one row, with ``None`` for a variable first axis (every varying axis of a
        variable-shape column)."""
        if self.row_shape is not None:
            return tuple(None if d < 0 else d for d in self.row_shape)
        return ((None,) if self.variable_length else ()) + tuple(self.shape)


_Location = Tuple[int, int, int]


def _location(value: Any) -> Optional[_Location]:
    if value is None:
        return None
    offset, count, crc = _get(value, "offset", int), _get(value, "count", int), _get(value, "crc32", int)
    if offset < 0 or not 0 <= crc <= 0xFFFFFFFF:
        raise _Invalid("a table location holds a negative offset or an invalid CRC")
    return offset, count, crc


class CacheFileReader:
    """An open cache file: the mapping, the checked metadata and the tables.

    Units are decoded by :meth:`unit_bytes`; whole columns by :meth:`column_bytes`.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]):
        self.path = os.fspath(path)
        self._map: Union[mmap.mmap, bytes]
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size > 0 else b""
        except FileNotFoundError as error:
            raise CacheFileNotFoundError(self.path, f"open {self.path}: {error.strerror or error}") from error
        except OSError as error:
            raise CacheError(f"open {self.path}: {error.strerror or error}", self.path) from error
        self.size = size
        self.buffer = memoryview(self._map)
        self._read_frame()
        self._validate()

    def close(self) -> None:
        """Releases the mapping (arrays already returned stay valid: they are copies)."""
        if isinstance(self._map, mmap.mmap):
            try:
                self.buffer.release()
                self._map.close()
            except BufferError:  # an array still views the mapping: it stays mapped until freed
                pass

    # -- frame ------------------------------------------------------------------------------

    def corrupt(self, reason: str, column: Optional[str] = None, row: Optional[int] = None) -> CorruptError:
        return CorruptError(self.path, reason, column, row)

    def _read_frame(self) -> None:
        data, size, path = self.buffer, self.size, self.path
        head = bytes(data[:min(size, 8)])
        if size == 0 or head != HEADER_MAGIC[:len(head)]:
            raise NotACacheError(path)
        if size < HEADER_SIZE + TRAILER_SIZE:
            raise TruncatedError(path)
        header = bytes(data[:HEADER_SIZE])
        tail = bytes(data[size - TRAILER_SIZE:])
        version, header_size = struct.unpack_from("<II", header, 8)
        if version > FORMAT_VERSION:
            raise UnsupportedVersionError(path, version, FORMAT_VERSION)
        if version < 1:
            raise self.corrupt("the header's format version is 0")
        if header_size != HEADER_SIZE or any(header[16:]):
            raise self.corrupt("the header's size field or reserved bytes are wrong")
        if tail[56:] != TRAILER_MAGIC:
            raise TruncatedError(path)
        index_offset, index_length, meta_length, meta_crc, trailer_version = struct.unpack_from("<QQQII", tail)
        if trailer_version > FORMAT_VERSION:
            raise UnsupportedVersionError(path, trailer_version, FORMAT_VERSION)
        if trailer_version != version:
            raise self.corrupt(f"the trailer's format version {trailer_version} differs from the header's {version}")
        if any(tail[32:56]):
            raise self.corrupt("the trailer's reserved bytes are not zero")
        index_end = size - TRAILER_SIZE
        if not (HEADER_SIZE <= index_offset <= index_end and index_offset % ALIGNMENT == 0
                and index_length == index_end - index_offset and meta_length <= index_length
                and meta_length <= MAX_METADATA):
            raise self.corrupt(f"the trailer's index location (offset {index_offset}, length {index_length}, "
                               f"metadata {meta_length}) does not fit the file of {size} bytes")
        meta_start = index_end - meta_length
        document = data[meta_start:index_end]
        if zlib.crc32(document) != meta_crc:
            raise ChecksumError(path, "metadata", meta_start)
        try:
            self.metadata: Any = json.loads(bytes(document).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise self.corrupt(f"the metadata document is not valid: {error}") from None
        self.version = version
        self.index_offset = index_offset
        self.tables_end = meta_start

    # -- metadata ---------------------------------------------------------------------------

    def _validate(self) -> None:
        try:
            self._validate_metadata()
        except _Invalid as error:
            raise self.corrupt(f"the metadata document is not valid: {error}", error.column) from None

    def _table(self, location: Optional[_Location], width: int, expected: Optional[int], what: str,
               column: Optional[str]) -> Table:
        area = self.tables_end - self.index_offset
        if location is None:
            raise self.corrupt(f"the {what} is missing", column)
        offset, count, crc = location
        if (count < 0 or (expected is not None and count != expected) or offset % ALIGNMENT
                or count > area // width or offset > area - count * width):
            expect = f" of {expected} entries" if expected is not None else ""
            raise self.corrupt(f"the {what} (offset {offset}, {count} entries) does not fit the index section{expect}",
                               column)
        return Table(self.index_offset + offset, count, width, crc, what, column)

    def _validate_metadata(self) -> None:
        meta = self.metadata
        if not isinstance(meta, dict):
            raise _Invalid("it is not an object")
        version = _get(meta, "formatVersion", int)
        if version != self.version:
            raise self.corrupt(f"the metadata's format version {version} differs from the trailer's {self.version}")
        rows: int = _get(meta, "rowCount", int)
        if not 0 <= rows <= MAX_ROWS:
            raise self.corrupt(f"row count {rows} is out of range")
        self.row_count = rows
        columns = _get(meta, "columns", list)
        if not columns or len(columns) > MAX_COLUMNS:
            raise self.corrupt(f"the cache declares {len(columns)} columns")
        self.columns = [ColumnInfo(c, rows) for c in columns]
        if len({c.name for c in self.columns}) != len(self.columns):
            raise self.corrupt("column names repeat")
        statistics = _get(meta, "statistics", dict)
        skipped = _get(meta, "skipped", list)
        self.statistics: Dict[str, int] = {key: _get(statistics, key, int)
                           for key in ("recordsIn", "recordsWritten", "recordsSkipped", "bytesIn", "bytesOut")}
        if self.statistics["recordsWritten"] != rows or self.statistics["recordsSkipped"] != len(skipped):
            raise self.corrupt("the statistics disagree with the row count or the skipped records")
        self.skipped = skipped
        classes = _get(meta, "classes", list, optional=True)
        if classes is not None and not all(isinstance(c, str) for c in classes):
            raise _Invalid("'classes' is not a list of strings")
        self.classes: Optional[List[str]] = classes
        fingerprint = _get(meta, "fingerprint", dict)
        self.fingerprint: Dict[str, str] = {key: _get(fingerprint, key, str)
                                            for key in ("value", "rows", "encoders", "schema")}
        data_end = self.index_offset
        for column in self.columns:
            self._validate_column(column, rows, data_end)
        self.id_offsets: Optional[Table] = None
        self.id_text: Optional[Table] = None
        ids = _get(meta, "ids", dict, optional=True)
        if ids is not None:
            self.id_offsets = self._table(_location(_get(ids, "offsets", dict)), 8, rows + 1, "id offsets table", None)
            self.id_text = self._table(_location(_get(ids, "text", dict)), 1, None, "id text", None)
        self.source_stamps: Optional[Table] = None
        sources = _get(meta, "sources", dict, optional=True)
        if sources is not None:
            name = _get(sources, "column", str)
            if not any(c.name == name and c.role == "data" for c in self.columns):
                raise self.corrupt(f"the source stamps name an unknown data column '{name}'")
            self.source_stamps = self._table(_location(_get(sources, "stamps", dict)), 16, rows,
                                             "source stamps table", name)

    def _validate_column(self, column: ColumnInfo, rows: int, data_end: int) -> None:
        name = column.name
        if not name:
            raise self.corrupt("a column has an empty name")
        if column.row_shape is not None:
            if self.version < VARIABLE_SHAPE_VERSION:
                raise self.corrupt(f"a variable-shape column in a version {self.version} file", name)
            if (not column.variable_length or column.shape or not 1 <= len(column.row_shape) <= 32
                    or any(not -1 <= d <= 1 << 40 for d in column.row_shape) or column.row_shapes_loc is None):
                raise self.corrupt("a variable-shape column needs variableLength, an empty shape, a rowShape of 1 to "
                                   "32 dimensions and a row-shape table", name)
        elif column.row_shapes_loc is not None:
            raise self.corrupt("a row-shape table without a rowShape", name)
        if column.encoding == "jpeg":
            if self.version < JPEG_COLUMN_VERSION:
                raise self.corrupt(f"a JPEG-encoded column in a version {self.version} file", name)
            if (column.dtype_name != "uint8" or column.codec != "none" or column.row_shape is None
                    or len(column.row_shape) != 3 or column.row_shape[:2] != [-1, -1] or column.row_shape[2] not in (1, 3)):
                raise self.corrupt("a JPEG-encoded column must be uint8 of rowShape [-1, -1, 1 or 3] with codec none", name)
        if any(d < 0 for d in column.shape):
            raise self.corrupt(f"shape {column.shape} is negative", name)
        if any(d > 1 << 40 for d in column.shape):  # even beside a zero: numpy cannot shape it
            raise self.corrupt(f"shape {column.shape} is too large", name)
        row_bytes = column.dtype.itemsize
        for d in column.shape:
            row_bytes *= d
            if row_bytes > 1 << 40:
                raise self.corrupt(f"shape {column.shape} is too large", name)
        if not (0 <= column.unit_count <= rows and (rows == 0) == (column.unit_count == 0)):
            raise self.corrupt(f"{column.unit_count} units for {rows} rows", name)
        if not column.variable_length:
            # A unit holds at most max(1, 32768 // row_bytes) rows: the units table bounds the rows.
            per_unit = max(1, PACKED_UNIT_BYTES // max(1, row_bytes))
            if rows > column.unit_count * per_unit:
                raise self.corrupt(f"{column.unit_count} units cannot hold {rows} rows of {row_bytes} bytes "
                                   f"(at most {per_unit} a unit)", name)
        if column.stored_bytes > data_end - HEADER_SIZE:
            raise self.corrupt(f"{column.stored_bytes} stored bytes exceed the data section", name)
        if column.raw_bytes > 255 * column.stored_bytes:
            raise self.corrupt(f"{column.raw_bytes} raw bytes exceed 255 × the {column.stored_bytes} stored bytes "
                               "(LZ4 never expands more)", name)
        if column.layout == "row":
            if column.variable_length or column.unit_count != rows or column.first_rows_loc is not None:
                raise self.corrupt("the row layout needs a fixed shape and one unit per row", name)
        elif column.first_rows_loc is None:
            raise self.corrupt("the packed layout needs a first-row table", name)
        if column.variable_length:
            if column.row_offsets_loc is None:
                raise self.corrupt("a variable-length column needs row offsets", name)
        elif column.row_offsets_loc is not None or rows * row_bytes != column.raw_bytes:
            raise self.corrupt(f"{column.raw_bytes} raw bytes do not fit {rows} rows of {row_bytes} bytes", name)
        column.units = self._table(column.units_loc, UNIT_ENTRY, column.unit_count, "units table", name)
        if column.first_rows_loc is not None:
            column.first_rows = self._table(column.first_rows_loc, 8, column.unit_count, "unit first-row table", name)
        if column.row_offsets_loc is not None:
            column.row_offsets = self._table(column.row_offsets_loc, 8, rows + 1, "row-offset table", name)
        if column.row_shapes_loc is not None and column.row_shape is not None:
            column.row_shapes = self._table(column.row_shapes_loc, 8, rows * len(column.row_shape), "row-shape table",
                                            name)

    # -- tables -----------------------------------------------------------------------------

    def table_bytes(self, table: Table, force: bool = False) -> memoryview:
        """The bytes of ``table``, its CRC-32 checked on first use (always when ``force``)."""
        raw = self.buffer[table.offset:table.offset + table.nbytes]
        if force or not table.checked:
            if zlib.crc32(raw) != table.crc:
                raise ChecksumError(self.path, table.what, table.offset, table.column)
            table.checked = True
        return raw

    def table_array(self, table: Table, dtype: DTypeLike, force: bool = False) -> NDArray[Any]:
        """The entries of ``table`` as a read-only numpy array (CRC checked)."""
        return np.frombuffer(self.table_bytes(table, force), dtype=dtype, count=table.count)

    def column(self, name: str) -> ColumnInfo:
        for column in self.columns:
            if column.name == name:
                return column
        raise OptionError(f"the cache has no column '{name}' (columns: {', '.join(c.name for c in self.columns)})",
                          self.path)

    def unit_plan(self, column: ColumnInfo, force: bool = False) -> Tuple[NDArray[Any], ...]:
        """Per unit: (offset, stored length, crc, raw?, first row, row end, raw length), all checked
        against the file and the schema (vectorised)."""
        units = self.table_array(column.units, UNIT_DTYPE, force)
        n = column.unit_count
        offsets = units["offset"].astype(np.uint64)
        lengths = units["length"].astype(np.uint64)
        flags = units["flags"]
        first: NDArray[Any]
        ends: NDArray[Any]
        raw_lengths: NDArray[Any]
        if column.first_rows is not None:
            first = self.table_array(column.first_rows, "<u8", force).astype(np.uint64)
            ends = np.append(first[1:], np.uint64(self.row_count))
            bad = np.flatnonzero(~((first < ends) & (ends <= np.uint64(self.row_count))))
            if n and first[0] != 0:
                bad = np.union1d(bad, [0])
            if bad.size:
                u = int(bad[0])
                raise self.corrupt(f"unit {u} has an invalid row range {int(first[u])}..<{int(ends[u])}", column.name)
            first, ends = first.astype(np.int64), ends.astype(np.int64)
        else:
            first = np.arange(n, dtype=np.int64)
            ends = first + 1
        lo, hi = np.uint64(HEADER_SIZE), np.uint64(self.index_offset)
        bad = np.flatnonzero((offsets < lo) | (offsets % np.uint64(ALIGNMENT) != 0) | (offsets > hi)
                             | (lengths > hi - np.minimum(offsets, hi)))
        if bad.size:
            u = int(bad[0])
            raise self.corrupt(f"unit {u} at offset {int(offsets[u])}, length {int(lengths[u])}, "
                               "lies outside the data section", column.name)
        invalid = (flags & ~np.uint32(FLAG_RAW)) != 0
        if column.codec == "none":
            invalid |= flags != FLAG_RAW
        bad = np.flatnonzero(invalid)
        if bad.size:
            u = int(bad[0])
            raise self.corrupt(f"unit {u} has invalid flags {int(flags[u])}", column.name)
        if column.variable_length:
            stream = self.row_offsets_array(column, force)
            raw_lengths = stream[ends] - stream[first]
        else:
            raw_lengths = (ends - first) * column.row_bytes
        is_raw = (flags & FLAG_RAW) != 0
        lengths_i = lengths.astype(np.int64)
        bad = np.flatnonzero(np.where(is_raw, lengths_i != raw_lengths,
                                      (raw_lengths > 0x7FFFFFFF) | (lengths_i <= 0)))
        if bad.size:
            u = int(bad[0])
            raise self.corrupt(f"unit {u} stores {int(lengths[u])} bytes for {int(raw_lengths[u])} raw bytes",
                               column.name, int(first[u]))
        return offsets.astype(np.int64), lengths_i, units["crc"], is_raw, first, ends, raw_lengths

    def row_offsets_array(self, column: ColumnInfo, force: bool = False) -> NDArray[np.int64]:
        """A variable column's row offsets (int64, rows + 1), checked: from 0 to ``rawBytes``,
        never falling, each row a whole number of steps."""
        if column.row_offsets is None:
            raise self.corrupt("a variable-length column needs row offsets", column.name)
        stored = self.table_array(column.row_offsets, "<u8", force)
        if stored[0] != 0 or stored[-1] != column.raw_bytes or column.raw_bytes > 1 << 62:
            raise self.corrupt(f"the row offsets do not span the column's {column.raw_bytes} bytes", column.name)
        offsets: NDArray[np.int64] = stored.astype(np.int64)
        sizes = np.diff(offsets)
        step = column.row_bytes
        bad = np.flatnonzero((sizes < 0) | ((sizes % step != 0) if step else (sizes != 0)))
        if bad.size:
            r = int(bad[0])
            raise self.corrupt(f"row offsets {int(offsets[r])}..<{int(offsets[r + 1])} are invalid", column.name, r)
        return offsets

    def row_shapes_array(self, column: ColumnInfo, force: bool = False) -> NDArray[np.int64]:
        """A variable-shape column's row shapes (int64, [rows, rank]), checked against the column's
        fixed dimensions and each row's bytes."""
        if column.row_shapes is None or column.row_shape is None:
            raise self.corrupt("the column has no row shapes", column.name)
        rank = len(column.row_shape)
        stored = self.table_array(column.row_shapes, "<u8", force).reshape(self.row_count, rank)
        if stored.size and int(stored.max()) > 1 << 40:
            raise self.corrupt("a row shape dimension is too large", column.name)
        shapes: NDArray[np.int64] = stored.astype(np.int64)
        fixed = np.array(column.row_shape, dtype=np.int64)
        wrong = np.flatnonzero(((shapes != fixed) & (fixed >= 0)).any(axis=1)) if shapes.size else np.array([], int)
        if wrong.size:
            r = int(wrong[0])
            raise self.corrupt(f"row shape {shapes[r].tolist()} does not fit the column's {column.row_shape}",
                               column.name, r)
        sizes = np.diff(self.row_offsets_array(column, force))
        if column.encoding == "jpeg":  # a row's bytes are its JPEG file's, not its pixels
            return shapes
        products = [math.prod(int(d) for d in shape) * column.dtype.itemsize for shape in shapes]
        for r, (product, size) in enumerate(zip(products, sizes)):
            if product != int(size):
                raise self.corrupt(f"row shape {shapes[r].tolist()} does not match the row's {int(size)} bytes",
                                   column.name, r)
        return shapes

    def decode_unit(self, column: ColumnInfo, u: int, offset: int, length: int, crc: int, is_raw: bool, first: int,
                    end: int, raw_length: int, check_crc: bool = True) -> Union[memoryview, bytes]:
        """The raw bytes of one unit (CRC checked before decoding)."""
        stored = self.buffer[offset:offset + length]
        if check_crc and zlib.crc32(stored) != crc:
            raise ChecksumError(self.path, f"unit {u} (rows {first}..<{end})", offset, column.name)
        if is_raw:
            return stored
        if raw_length > 255 * length:
            raise self.corrupt(f"unit {u} claims {raw_length} raw bytes from {length} stored (LZ4 expands 255-fold at most)",
                               column.name, first)
        try:
            decoded: Optional[bytes] = lz4.block.decompress(stored, uncompressed_size=raw_length)
        except (lz4.block.LZ4BlockError, ValueError, MemoryError):
            decoded = None
        # uncompressed_size is only an upper bound for lz4.block: a block that decodes short is
        # corrupt too, never padded or stretched into the rows.
        if decoded is None or len(decoded) != raw_length:
            raise self.corrupt(f"unit {u} does not decode to its {raw_length} bytes", column.name, first)
        return decoded

    def column_bytes(self, column: ColumnInfo, force: bool = False) -> NDArray[np.uint8]:
        """The column's whole logical stream (every row, in order) as a uint8 array: every unit
        checked and decoded, and the units checked to cover the rows exactly."""
        offsets, lengths, crcs, is_raw, first, ends, raw_lengths = self.unit_plan(column, force)
        if column.unit_count and (first[0] != 0 or ends[-1] != self.row_count or (first[1:] != ends[:-1]).any()):
            raise self.corrupt("the units do not cover the rows in order", column.name)
        total = int(raw_lengths.sum()) if column.unit_count else 0
        if total != column.raw_bytes:
            raise self.corrupt(f"the units hold {total} raw bytes; the metadata says {column.raw_bytes}", column.name)
        out = np.empty(total, dtype=np.uint8)
        position = 0
        for u in range(column.unit_count):
            n = int(raw_lengths[u])
            raw = self.decode_unit(column, u, int(offsets[u]), int(lengths[u]), int(crcs[u]), bool(is_raw[u]),
                                   int(first[u]), int(ends[u]), n)
            out[position:position + n] = np.frombuffer(raw, dtype=np.uint8)
            position += n
        return out

    def ids(self) -> Optional[List[str]]:
        """Every row's id, or ``None`` when the rows have none."""
        if self.id_offsets is None or self.id_text is None:
            return None
        offsets = self.table_array(self.id_offsets, "<u8").astype(np.uint64)
        text = bytes(self.table_bytes(self.id_text))
        if offsets.size and (offsets[0] != 0 or offsets[-1] != len(text) or (np.diff(offsets.astype(np.int64)) < 0).any()):
            raise self.corrupt("the id offsets do not span the id text")
        bounds = offsets.astype(np.int64).tolist()
        result: List[str] = []
        for row in range(self.row_count):
            try:
                result.append(text[bounds[row]:bounds[row + 1]].decode("utf-8"))
            except UnicodeDecodeError:
                raise self.corrupt("the id is not valid UTF-8", row=row) from None
        return result

    # -- verify -----------------------------------------------------------------------------

    def verify(self) -> Dict[str, int]:
        """Checks the whole file, as ``datagen cache verify``: every CRC, every unit decoding to its
        exact size, the tables' order, the statistics, and zero padding between units and tables."""
        data_extents: List[Tuple[int, int]] = []
        table_extents: List[Tuple[int, int]] = []
        units_checked = stored_total = raw_total = 0
        for column in self.columns:
            tables = [t for t in (column.units, column.first_rows, column.row_offsets, column.row_shapes)
                      if t is not None]
            for table in tables:
                self.table_bytes(table, force=True)
                table_extents.append((table.offset, table.nbytes))
            offsets, lengths, crcs, is_raw, first, ends, raw_lengths = self.unit_plan(column, force=True)
            expected = 0
            for u in range(column.unit_count):
                if first[u] != expected:
                    raise self.corrupt(f"unit {u} starts at row {int(first[u])}, expected {expected}", column.name,
                                       int(first[u]))
                expected = int(ends[u])
                unit = self.decode_unit(column, u, int(offsets[u]), int(lengths[u]), int(crcs[u]), bool(is_raw[u]),
                                        int(first[u]), int(ends[u]), int(raw_lengths[u]))
                if len(unit) != raw_lengths[u]:
                    raise self.corrupt(f"unit {u} does not decode to its {int(raw_lengths[u])} bytes", column.name)
                data_extents.append((int(offsets[u]), int(lengths[u])))
            if expected != self.row_count:
                raise self.corrupt(f"the units hold {expected} rows, the cache has {self.row_count}", column.name)
            stored, raw = int(lengths.sum()), int(raw_lengths.sum())
            if stored != column.stored_bytes or raw != column.raw_bytes:
                raise self.corrupt(f"the units hold {stored} stored and {raw} raw bytes; the metadata says "
                                   f"{column.stored_bytes} and {column.raw_bytes}", column.name)
            if column.row_shapes is not None:
                self.row_shapes_array(column, force=True)
            units_checked += column.unit_count
            stored_total += stored
            raw_total += raw
        if stored_total != self.statistics["bytesOut"] or raw_total != self.statistics["bytesIn"]:
            raise self.corrupt("the statistics' byte counts disagree with the units")
        for extra in (self.id_offsets, self.id_text, self.source_stamps):
            if extra is not None:
                self.table_bytes(extra, force=True)
                table_extents.append((extra.offset, extra.nbytes))
        if self.id_offsets is not None:
            self.ids()
        self._check_padding(data_extents, HEADER_SIZE, self.index_offset, "data section")
        self._check_padding(table_extents, self.index_offset, self.tables_end, "index tables")
        return {"units_checked": units_checked, "stored_bytes": stored_total, "raw_bytes": raw_total}

    def _check_padding(self, extents: List[Tuple[int, int]], start: int, end: int, region: str) -> None:
        position = start
        for offset, length in sorted(extents):
            if offset < position:
                raise self.corrupt(f"{region}: regions overlap at offset {offset}")
            self._check_zero(position, offset, region)
            position = offset + length
        if position > end:
            raise self.corrupt(f"{region}: a region ends after {end}")
        self._check_zero(position, end, region)

    def _check_zero(self, start: int, end: int, region: str) -> None:
        if end <= start:
            return
        chunk = 1 << 24
        for base in range(start, end, chunk):
            view = np.frombuffer(self.buffer[base:min(end, base + chunk)], dtype=np.uint8)
            nonzero = np.flatnonzero(view)
            if nonzero.size:
                raise self.corrupt(f"{region}: padding byte at offset {base + int(nonzero[0])} is not zero")
