"""The errors of the datagen package: every one derives from :class:`CacheError`.

Both backends raise the same class for the same fault (the engine maps the C API's
``DG_FAULT_*`` kinds onto these classes), and each class also derives from the standard exception
users catch for it: a missing file is a :class:`FileNotFoundError`, a bad argument a
:class:`ValueError`, a missing engine an :class:`ImportError`.
"""

from __future__ import annotations

import errno
import os
from typing import Any, Optional, TypeVar

__all__ = [
    "CacheError",
    "CacheFileNotFoundError",
    "NotACacheError",
    "TruncatedError",
    "UnsupportedVersionError",
    "CorruptError",
    "ChecksumError",
    "OptionError",
    "EngineUnavailableError",
    "RecordError",
    "WorkerDiedError",
]

_Error = TypeVar("_Error", bound="CacheError")


class CacheError(Exception):
    """Base class of every error raised by :mod:`datagen`.

    ``path`` is the cache file at fault (``None`` where no file is involved); the message names
    the region, column, row or offset, in the words of the Swift reader (``datagen cache …``).
    """

    path: Optional[str]

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    @classmethod
    def from_message(cls: type[_Error], message: str, path: str | None = None) -> _Error:
        """An error of this class with the message ``message`` as written elsewhere (the engine's
        C API); the subclass's detail attributes (``column``, ``offset``…) are ``None``."""
        error = cls.__new__(cls, message)
        CacheError.__init__(error, message, path)
        error._message_only()
        return error

    def _message_only(self) -> None:
        """Sets the detail attributes an error made by :meth:`from_message` does not know."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (from a DataLoader or Keras worker process) as its message, path and details.
        return (_restore, (type(self), str(self), self.path, dict(self.__dict__)))


def _restore(cls: type[CacheError], message: str, path: str | None, state: dict[str, Any]) -> CacheError:
    error = cls.from_message(message, path)
    error.__dict__.update(state)
    return error


class CacheFileNotFoundError(CacheError, FileNotFoundError):
    """The cache file does not exist; also a :class:`FileNotFoundError` (``errno`` is ``ENOENT``,
    ``filename`` the path)."""

    def __init__(self, path: str, message: str | None = None):
        CacheError.__init__(self, message or f"open {path}: {os.strerror(errno.ENOENT)}", path)
        self._message_only()

    def _message_only(self) -> None:
        self.errno = errno.ENOENT
        self.strerror = os.strerror(errno.ENOENT)
        self.filename = self.path

    def __str__(self) -> str:
        return CacheError.__str__(self)


class NotACacheError(CacheError):
    """The file is empty or does not start with the cache magic."""

    def __init__(self, path: str):
        super().__init__(f"{path} is not a DataGenerator cache file", path)


class TruncatedError(CacheError):
    """The file starts like a cache but has no valid trailer (an unfinished build or a cut-off copy)."""

    def __init__(self, path: str):
        super().__init__(
            f"{path} is truncated: it starts like a cache file but has no valid trailer "
            "(an unfinished build or a cut-off copy)",
            path,
        )


class UnsupportedVersionError(CacheError):
    """The file was written in a newer format version than this reader knows."""

    found: Optional[int]
    supported: Optional[int]

    def __init__(self, path: str, found: int, supported: int, what: str = "cache format"):
        super().__init__(
            f"{path} has set manifest version {found} (this reader reads {supported})" if what == "set manifest"
            else f"{path} has cache format version {found}; this reader supports version {supported} at most", path
        )
        self.found = found
        self.supported = supported

    def _message_only(self) -> None:
        self.found = self.supported = None


class CorruptError(CacheError):
    """The file's structure is inconsistent; ``column`` and ``row`` name the place when known."""

    column: Optional[str]
    row: Optional[int]
    reason: Optional[str]

    def __init__(self, path: str, reason: str, column: str | None = None, row: int | None = None):
        where = (f" in column '{column}'" if column is not None else "") + (f" at row {row}" if row is not None else "")
        super().__init__(f"{path} is corrupt{where}: {reason}", path)
        self.column = column
        self.row = row
        self.reason = reason

    def _message_only(self) -> None:
        self.column = self.row = self.reason = None


class ChecksumError(CacheError):
    """Stored bytes do not match their CRC-32: ``what`` names the region, ``offset`` its file offset."""

    what: Optional[str]
    column: Optional[str]
    offset: Optional[int]

    def __init__(self, path: str, what: str, offset: int, column: str | None = None):
        of_column = f" of column '{column}'" if column is not None else ""
        super().__init__(f"{path}: checksum mismatch in {what}{of_column} at offset {offset}", path)
        self.what = what
        self.column = column
        self.offset = offset

    def _message_only(self) -> None:
        self.what = self.column = self.offset = None


class OptionError(CacheError, ValueError):
    """An invalid argument: a shuffle mode, a shard, a batch size, a column, a row or a memory budget;
    also a :class:`ValueError`."""

    def __init__(self, message: str, path: str | None = None):
        CacheError.__init__(self, message, path)


class EngineUnavailableError(CacheError, ImportError):
    """The Swift engine library was not built into this installation; also an :class:`ImportError`."""

    def __init__(self, message: str):
        CacheError.__init__(self, message, None)


class RecordError(CacheError):
    """A record failed while a cache was built from Python (:func:`datagen.build`): its encoder
    raised (the original exception is ``__cause__``) or gave an array that disagrees with its
    column. ``row`` is the inventory row (0-based; ``None`` when the failure concerns a whole row
    group, ``rows`` then names it), ``id`` its id (``None`` without an id column), ``encoder`` the
    encoder's name."""

    row: Optional[int]
    id: Optional[str]
    encoder: Optional[str]
    rows: Optional[range]

    def __init__(self, message: str, row: int | None = None, id: str | None = None,  # noqa: A002 (the record's id)
                 encoder: str | None = None, rows: range | None = None, path: str | None = None):
        CacheError.__init__(self, message, path)
        self.row = row
        self.id = id
        self.encoder = encoder
        self.rows = rows

    def _message_only(self) -> None:
        self.row = self.id = self.encoder = self.rows = None


class WorkerDiedError(CacheError):
    """A worker process of :func:`datagen.build` died (a segfault, an out-of-memory kill,
    ``os._exit``) while it encoded the row group ``rows``; ``exitcode`` is its exit status
    (negative: the signal's number), ``None`` when unknown. The groups written before it stay
    journaled: a rerun resumes after them."""

    rows: Optional[range]
    exitcode: Optional[int]

    def __init__(self, message: str, rows: range | None = None, exitcode: int | None = None,
                 path: str | None = None):
        CacheError.__init__(self, message, path)
        self.rows = rows
        self.exitcode = exitcode

    def _message_only(self) -> None:
        self.rows = self.exitcode = None
