"""Cache sets (``NAME.dgset``) for the pure-numpy backend: a manifest naming ordinary cache files
(the shards) whose rows, one shard after another, are the set's rows (docs/FORMAT.md, "Cache sets").

Opening reads and checks the manifest only; each shard is opened on first use and checked then
against its manifest entry (size, fingerprint, rows, schema, classes). Errors name the shard.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from ._errors import CacheError, CacheFileNotFoundError, CorruptError, UnsupportedVersionError
from ._format import DTYPES
from ._numpy_backend import NumpyCache, NumpyServing
from ._protocol import Batch

__all__ = ["NumpyCacheSet", "SetManifest", "ShardEntry", "is_set_manifest", "set_fingerprint", "SET_VERSION"]

SET_FORMAT = "datagen-set"
#: What to do about a shard that is missing or was replaced (the Swift reader's words).
SHARD_REMEDY = "restore it, or rebuild it with --shard K/N and rerun `datagen cache set create`"

#: The newest manifest version this reader knows.
SET_VERSION = 1
#: The largest manifest read (as the Swift reader).
MAX_MANIFEST_BYTES = 1 << 30
_DIGEST = re.compile(r"[0-9a-f]{64}")


def set_fingerprint(shard_fingerprints: List[str]) -> str:
    """The set fingerprint of shards with these fingerprints, in manifest order: SHA-256 of
    ``datagen-set-v1\\n`` then ``<shard fingerprint>\\n`` per shard, lowercase hex."""
    sha = hashlib.sha256(b"datagen-set-v1\n")
    for value in shard_fingerprints:
        sha.update((value + "\n").encode("utf-8"))
    return sha.hexdigest()


def is_set_manifest(path: Union[str, os.PathLike[str]]) -> bool:
    """Whether ``path`` names a cache set manifest rather than a cache file: it ends in ``.dgset``
    (as the Swift reader decides)."""
    return os.fspath(path).endswith(".dgset")


class ShardEntry:
    """One shard of a manifest: its path (relative to the manifest's folder), rows, fingerprint
    and file size."""

    __slots__ = ("path", "rows", "fingerprint", "bytes")

    def __init__(self, path: str, rows: int, fingerprint: str, size: int):
        self.path, self.rows, self.fingerprint, self.bytes = path, rows, fingerprint, size


def _invalid(path: str, reason: str) -> CorruptError:
    """The error of a manifest that cannot be read (the Swift reader's ``invalidSet``)."""
    error = CorruptError.from_message(f"{path} is not a valid cache set manifest: {reason}", path)
    error.reason = reason
    return error


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _path_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot name a shard, or ``None``."""
    if not path:
        return "its path is empty"
    if path.startswith("/"):
        return "its path is absolute; shard paths are relative to the manifest's folder"
    if "\0" in path:
        return "its path holds a NUL byte"
    parts = path.split("/")
    if ".." in parts:
        return "its path climbs out of the manifest's folder with '..'"
    if any(part in ("", ".") for part in parts):
        return "its path has an empty or '.' component"
    return None


class SetManifest:
    """A parsed and checked manifest: version, fingerprint, rows, schema, classes, shards."""

    def __init__(self, path: Union[str, os.PathLike[str]]):
        self.path = os.fspath(path)
        try:
            with open(self.path, "rb") as handle:
                text = handle.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError as error:
            raise CacheFileNotFoundError(self.path, f"open {self.path}: {error.strerror or error}") from error
        except OSError as error:
            raise CacheError(f"open {self.path}: {error.strerror or error}", self.path) from error
        if len(text) > MAX_MANIFEST_BYTES:
            raise _invalid(self.path, f"the manifest holds more than {MAX_MANIFEST_BYTES} bytes")
        try:
            document = json.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise _invalid(self.path, "it is not valid JSON") from None
        self._parse(document)

    def _parse(self, document: Any) -> None:
        path = self.path
        if not isinstance(document, dict) or not isinstance(document.get("format"), str) \
                or not _integer(document.get("version")):
            raise _invalid(path, 'it is not a JSON object with a "format" and a "version"')
        if document["format"] != SET_FORMAT:
            raise _invalid(path, f'its "format" is {json.dumps(document["format"])}, not "{SET_FORMAT}"')
        version = document["version"]
        if version < 1:
            raise _invalid(path, f'its "version" {version} is not a version')
        if version > SET_VERSION:
            raise UnsupportedVersionError(path, version, SET_VERSION, what="set manifest")
        self.version: int = version
        for key, kind in (("fingerprint", str), ("rows", int), ("schema", list), ("shards", list)):
            value = document.get(key)
            if value is None:
                raise _invalid(path, f'"{key}" is missing or null')
            if (kind is int and not _integer(value)) or (kind is not int and not isinstance(value, kind)):
                raise _invalid(path, f'"{key}" is not {"an integer" if kind is int else "a " + kind.__name__}')
        self.fingerprint: str = document["fingerprint"]
        self.rows: int = document["rows"]
        if not _DIGEST.fullmatch(self.fingerprint):
            raise _invalid(path, 'its "fingerprint" is not a lowercase hex SHA-256')
        if self.rows < 0:
            raise _invalid(path, f'its "rows" {self.rows} is negative')
        self.shards = self._parse_shards(document["shards"])
        counts = np.fromiter((shard.rows for shard in self.shards), dtype=np.int64, count=len(self.shards))
        #: The first global row of every shard (rows of shards before it, added up), int64.
        self.starts: NDArray[np.int64] = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        total = int(counts.sum())
        if total != self.rows:
            raise _invalid(path, f'its shards hold {total} rows, but its "rows" says {self.rows}')
        if self.fingerprint != set_fingerprint([shard.fingerprint for shard in self.shards]):
            raise _invalid(path, 'its "fingerprint" is not the fingerprint of its shards\' fingerprints')
        self.schema: List[Dict[str, Any]] = self._parse_schema(document["schema"])
        classes = document.get("classes")
        if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
            raise _invalid(path, '"classes" is not a list of strings or null')
        self.classes: Optional[List[str]] = classes

    def _parse_shards(self, shards: List[Any]) -> List[ShardEntry]:
        if not shards:
            raise _invalid(self.path, "it lists no shards")
        entries = []
        for index, shard in enumerate(shards):
            if not isinstance(shard, dict):
                raise _invalid(self.path, f'"shards[{index}]" is not an object')
            where = f"shard {index} ({json.dumps(shard.get('path'))})"
            path, fingerprint = shard.get("path"), shard.get("fingerprint")
            rows: Any = shard.get("rows")
            size: Any = shard.get("bytes")
            if not isinstance(path, str):
                raise _invalid(self.path, f'"shards[{index}].path" is not a string')
            for key, value in (("rows", rows), ("bytes", size)):
                if not _integer(value):
                    raise _invalid(self.path, f'"shards[{index}].{key}" is not an integer')
                if value < 0:
                    raise _invalid(self.path, f"{where} has {value} {key}")
            if not isinstance(fingerprint, str) or not _DIGEST.fullmatch(fingerprint):
                raise _invalid(self.path, f"{where}: its fingerprint is not a lowercase hex SHA-256")
            problem = _path_problem(path)
            if problem is not None:
                raise _invalid(self.path, f"{where}: {problem}")
            entries.append(ShardEntry(path, rows, fingerprint, size))
        return entries

    def _parse_schema(self, schema: List[Any]) -> List[Dict[str, Any]]:
        if not schema:
            raise _invalid(self.path, 'its "schema" has no columns')
        names = set()
        for index, column in enumerate(schema):
            if not isinstance(column, dict) or not isinstance(column.get("name"), str):
                raise _invalid(self.path, f'"schema[{index}]" is not a column with a name')
            name = column["name"]
            if name in names:
                raise _invalid(self.path, f"its \"schema\" names column '{name}' twice")
            names.add(name)
            shape, row_shape = column.get("shape"), column.get("rowShape")
            if column.get("role") not in ("data", "target") or column.get("dtype") not in DTYPES \
                    or not isinstance(column.get("variableLength"), bool) \
                    or not isinstance(shape, list) or not all(_integer(d) and 0 <= d <= 1 << 40 for d in shape) \
                    or (row_shape is not None and (not isinstance(row_shape, list) or not row_shape
                                                   or not all(_integer(d) and -1 <= d <= 1 << 40 for d in row_shape))):
                raise _invalid(self.path, f"its \"schema\": column '{name}' is not valid")
        return schema

    def shard_path(self, index: int) -> str:
        """Shard ``index``'s path on this machine (relative to the manifest's folder)."""
        return os.path.join(os.path.dirname(self.path), *self.shards[index].path.split("/"))


class NumpyCacheSet(NumpyServing):
    """A cache set read by the pure-numpy backend (``datagen.open("x.dgset", backend="numpy")``):
    one cache of the shards' rows, global row ``g`` in the shard whose rows hold it.

    Opening reads the manifest only (memory in O(shards)); a shard is opened, and checked against
    its manifest entry, when a batch first needs one of its rows; its columns are then decoded
    whole on first use, as :class:`NumpyCache` does.
    """

    backend = "numpy"

    def __init__(self, path: Union[str, os.PathLike[str]]):
        self._manifest = SetManifest(path)
        self._open: List[Optional[NumpyCache]] = [None] * len(self._manifest.shards)

    # -- description ------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The manifest's path."""
        return self._manifest.path

    @property
    def rows(self) -> int:
        """The number of rows of every shard, added up."""
        return self._manifest.rows

    def __len__(self) -> int:
        return self.rows

    @property
    def shards(self) -> List[str]:
        """Every shard's path, in row order."""
        return [self._manifest.shard_path(index) for index in range(len(self._manifest.shards))]

    @property
    def columns(self) -> Dict[str, Tuple[np.dtype[Any], Tuple[Optional[int], ...]]]:
        """``{name: (numpy dtype, shape of one row)}`` in schema order (from the manifest)."""
        result: Dict[str, Tuple[np.dtype[Any], Tuple[Optional[int], ...]]] = {}
        for column in self._manifest.schema:
            row_shape = column.get("rowShape")
            if row_shape is not None:
                shape: Tuple[Optional[int], ...] = tuple(None if d < 0 else d for d in row_shape)
            else:
                shape = ((None,) if column["variableLength"] else ()) + tuple(column["shape"])
            result[column["name"]] = (DTYPES[column["dtype"]], shape)
        return result

    @property
    def roles(self) -> Dict[str, str]:
        """``{name: "data" or "target"}``."""
        return {column["name"]: column["role"] for column in self._manifest.schema}

    @property
    def classes(self) -> Optional[List[str]]:
        """The label classes every shard has, or ``None``."""
        return None if self._manifest.classes is None else list(self._manifest.classes)

    @property
    def fingerprint(self) -> str:
        """The set's fingerprint (of its shards' fingerprints, in order); checkpoints carry it."""
        return self._manifest.fingerprint

    @property
    def ids(self) -> Optional[List[str]]:
        """Every row's id, shard after shard (opens every shard), or ``None`` when the rows have none."""
        result: List[str] = []
        for index in range(len(self._open)):
            with self._naming(index):
                ids = self._shard(index).ids
            if ids is None:
                return None
            result.extend(ids)
        return result

    def verify(self) -> Optional[Dict[str, int]]:
        """Checks every shard against the manifest and every checksum of each (``datagen cache
        verify``): ``{"shards", "units_checked", "stored_bytes", "raw_bytes"}`` added up."""
        totals = {"shards": len(self._open), "units_checked": 0, "stored_bytes": 0, "raw_bytes": 0}
        for index in range(len(self._open)):
            with self._naming(index):
                checked = self._shard(index).verify() or {}
            for key, value in checked.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def close(self) -> None:
        """Releases every shard opened so far."""
        for index, cache in enumerate(self._open):
            if cache is not None:
                cache.close()
                self._open[index] = None

    def __enter__(self) -> NumpyCacheSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<datagen.Cache {self.path!r} backend=numpy set of {len(self._open)} shards rows={self.rows} "
                f"columns={list(self.columns)}>")

    # -- shards -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _naming(self, index: int) -> Iterator[None]:
        """Re-raises a :class:`CacheError` of shard ``index`` as the same class, its message
        prefixed with the set and the shard (``<set>: shard <i> (<path>): ``)."""
        try:
            yield
        except CacheError as error:
            path = self._manifest.shard_path(index)
            remedy = f"; {SHARD_REMEDY}" if isinstance(error, FileNotFoundError) else ""
            named = type(error).from_message(f"{self.path}: shard {index} ({path}): {error}{remedy}", path)
            named.__dict__.update({key: value for key, value in error.__dict__.items() if key not in ("path", "filename")})
            raise named from error

    def _shard(self, index: int) -> NumpyCache:
        cache = self._open[index]
        if cache is None:
            cache = self._open_shard(index)
            self._open[index] = cache
        return cache

    def _open_shard(self, index: int) -> NumpyCache:
        """Shard ``index`` opened (its own errors: missing, not a cache, truncated, corrupt) and
        checked against its entry (a difference: :class:`CacheError`, "stale", as the Swift
        reader's ``CacheError.stale``)."""
        path = self._manifest.shard_path(index)
        cache = NumpyCache(path)
        differences = self._differences(cache, self._manifest.shards[index])
        if differences:
            cache.close()
            raise CacheError(f"it was replaced since the set was written ({'; '.join(differences)}); {SHARD_REMEDY}", path)
        return cache

    def _differences(self, cache: NumpyCache, entry: ShardEntry) -> List[str]:
        """What differs between an opened shard and its entry, in the Swift reader's words."""
        found = []
        size = os.path.getsize(cache.path)
        if size != entry.bytes:
            found.append(f"its size is {size} bytes, the manifest recorded {entry.bytes}")
        if cache.fingerprint != entry.fingerprint:
            found.append(f"its fingerprint is {cache.fingerprint}, the manifest recorded {entry.fingerprint}")
        if cache.rows != entry.rows:
            found.append(f"it has {cache.rows} rows, the manifest recorded {entry.rows}")
        columns = cache.metadata.get("columns", [])
        if len(columns) != len(self._manifest.schema) or any(
                found_column.get(key) != value
                for expected, found_column in zip(self._manifest.schema, columns) for key, value in expected.items()):
            found.append("its columns differ from the set's schema")
        if cache.classes != self._manifest.classes:
            found.append("its label classes differ from the set's")
        return found

    # -- data -------------------------------------------------------------------------------

    def _digest_columns(self) -> List[Tuple[str, bool]]:
        return [(column["name"], bool(column["variableLength"])) for column in self._manifest.schema]

    def _gather(self, rows: NDArray[np.int64]) -> Batch:
        rows = np.asarray(rows, dtype=np.int64)
        starts = self._manifest.starts
        owners = np.searchsorted(starts, rows, side="right") - 1
        touched = np.unique(owners) if rows.size else np.zeros(1, dtype=np.int64)
        parts: List[Tuple[NDArray[np.intp], Batch]] = []
        for shard in touched.tolist():
            where = np.flatnonzero(owners == shard)
            with self._naming(shard):
                parts.append((where, self._shard(shard)._gather(rows[where] - starts[shard])))
        if len(parts) == 1:
            return parts[0][1]
        return _combine(parts, len(rows), self._manifest.schema)


def _combine(parts: List[Tuple[NDArray[np.intp], Batch]], count: int, schema: List[Dict[str, Any]]) -> Batch:
    """One batch of ``count`` rows from the shards' batches, each placed at its positions; padded
    columns padded again to the batch's longest (largest) row."""
    batch: Batch = {}
    for column in schema:
        name = column["name"]
        arrays = [part[name] for _, part in parts]
        extra = name + "_shapes" if name + "_shapes" in parts[0][1] else \
            name + "_lengths" if name + "_lengths" in parts[0][1] else None
        if extra is None:
            out = np.empty((count,) + arrays[0].shape[1:], dtype=arrays[0].dtype)
            for (where, _), array in zip(parts, arrays):
                out[where] = array
            batch[name] = out
            continue
        largest = tuple(max(array.shape[axis] for array in arrays) for axis in range(1, arrays[0].ndim))
        padded = np.zeros((count,) + largest, dtype=arrays[0].dtype)
        sizes = np.zeros((count,) + parts[0][1][extra].shape[1:], dtype=np.int64)
        for (where, part), array in zip(parts, arrays):
            padded[(where,) + tuple(slice(0, d) for d in array.shape[1:])] = array
            sizes[where] = part[extra]
        batch[name], batch[extra] = padded, sizes
    return batch
