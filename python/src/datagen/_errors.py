"""The errors of the datagen package: every one derives from :class:`CacheError`."""

from __future__ import annotations

__all__ = [
    "CacheError",
    "NotACacheError",
    "TruncatedError",
    "UnsupportedVersionError",
    "CorruptError",
    "ChecksumError",
    "OptionError",
    "EngineUnavailableError",
]


class CacheError(Exception):
    """Base class of every error raised by :mod:`datagen`.

    ``path`` is the cache file at fault (``None`` where no file is involved); the message names
    the region, column, row or offset, in the words of the Swift reader (``datagen cache …``).
    """

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


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

    def __init__(self, path: str, found: int, supported: int):
        super().__init__(
            f"{path} has cache format version {found}; this reader supports version {supported} at most", path
        )
        self.found = found
        self.supported = supported


class CorruptError(CacheError):
    """The file's structure is inconsistent; ``column`` and ``row`` name the place when known."""

    def __init__(self, path: str, reason: str, column: str | None = None, row: int | None = None):
        where = (f" in column '{column}'" if column is not None else "") + (f" at row {row}" if row is not None else "")
        super().__init__(f"{path} is corrupt{where}: {reason}", path)
        self.column = column
        self.row = row
        self.reason = reason


class ChecksumError(CacheError):
    """Stored bytes do not match their CRC-32: ``what`` names the region, ``offset`` its file offset."""

    def __init__(self, path: str, what: str, offset: int, column: str | None = None):
        of_column = f" of column '{column}'" if column is not None else ""
        super().__init__(f"{path}: checksum mismatch in {what}{of_column} at offset {offset}", path)
        self.what = what
        self.column = column
        self.offset = offset


class OptionError(CacheError, ValueError):
    """An invalid argument: a shuffle mode, a shard, a batch size, a column or a row."""

    def __init__(self, message: str, path: str | None = None):
        CacheError.__init__(self, message, path)


class EngineUnavailableError(CacheError, ImportError):
    """The Swift engine library was not built into this installation."""

    def __init__(self, message: str):
        CacheError.__init__(self, message, None)
