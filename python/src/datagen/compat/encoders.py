"""The seed's encoders (``numblr.datagenerator.encoders``): data encoders that turn one inventory
record (a row as pandas' ``iterrows`` gives it) into an array, and target encoders that turn a batch
of records (a DataFrame) into the batch's targets.

A data encoder is any of: an object with ``transform_batch(records)`` (:class:`BatchDataEncoder`),
an object with ``transform(record)`` and optionally ``fit(inventory)`` and ``finalize_batch(records)``
(:class:`DataEncoder`), or a plain callable ``f(record)``. :class:`FileDataEncoder` and
:class:`UrlDataEncoder` load the record's file or URL and hand it to a function of yours.

``LabelEncoder`` is scikit-learn's ``sklearn.preprocessing.LabelEncoder``, as in the seed; it is
imported when first used, so that the rest of this module needs no scikit-learn.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
import urllib.request
from functools import reduce
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

import numpy as np

__all__ = [
    "BatchDataEncoder",
    "DataEncoder",
    "ResourceDataEncoder",
    "FileDataEncoder",
    "UrlDataEncoder",
    "IdentityEncoder",
    "IntToOneHotEncoder",
    "RecordTargetEncoder",
    "LabelRecordEncoder",
    "OneHotRecordEncoder",
    "LabelEncoder",
    "OneHotEncoder",
]

logger = logging.getLogger(__name__)

#: Seconds a URL request may wait for the server (connect, then each read) unless told otherwise.
DEFAULT_TIMEOUT = 30.0


def __getattr__(name: str) -> Any:
    """``LabelEncoder`` and ``OneHotEncoder``: scikit-learn's classes, imported on first use."""
    if name in ("LabelEncoder", "OneHotEncoder"):
        import sklearn.preprocessing
        return getattr(sklearn.preprocessing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _label_encoder() -> Any:
    import sklearn.preprocessing
    return sklearn.preprocessing.LabelEncoder()


class BatchDataEncoder:
    """A data encoder that encodes a whole batch at once: ``transform_batch(records)`` gets an
    iterable of the batch's records and returns one encoded item per record."""

    def fit(self, inventory: Any) -> None:
        """Learns what the encoder needs from the whole inventory (nothing by default)."""

    def transform_batch(self, records: Iterable[Any]) -> Any:
        """The batch's encoded items, one per record, in order."""
        raise NotImplementedError("a BatchDataEncoder implements transform_batch(records)")


class DataEncoder:
    """A data encoder of one record at a time: ``transform(record)``; calling the encoder is
    ``transform``. ``finalize_batch(items)`` may reshape a batch's items (pad them, say) before
    they are stacked into the batch's array."""

    def __call__(self, record: Any) -> Any:
        return self.transform(record)

    def fit(self, inventory: Any) -> None:
        """Learns what the encoder needs from the whole inventory (nothing by default)."""

    def transform(self, record: Any) -> Any:
        """The record's encoded item."""
        raise NotImplementedError("a DataEncoder implements transform(record)")

    def finalize_batch(self, records: List[Any]) -> Any:
        """The batch's items, given the items ``transform`` returned (unchanged by default)."""
        return records


class ResourceDataEncoder(DataEncoder):
    """A data encoder whose records name a resource (a file, a URL) with a path and a size."""

    def get_path(self, record: Any) -> str:
        """Where the record's resource is."""
        raise NotImplementedError("a ResourceDataEncoder implements get_path(record)")

    def get_size(self, record: Any) -> int:
        """The size in bytes of the record's resource."""
        raise NotImplementedError("a ResourceDataEncoder implements get_size(record)")


def _overrides(instance: object, base: type, method: str) -> bool:
    """Whether ``instance``'s class defines ``method`` below ``base``."""
    return getattr(type(instance), method) is not getattr(base, method)


def _finalize(data_encoder: Any, records: List[Any]) -> Any:
    finalize = getattr(data_encoder, "finalize_batch", None)
    return finalize(records) if callable(finalize) else records


class _WrappingResourceEncoder(ResourceDataEncoder):
    """What the file and URL encoders share: a ``data_encoder`` called on each record's data
    (``_transform_data``, which a subclass may override instead), the id column and its mapping."""

    _data_encoder: Optional[Callable[[Any], Any]]
    _id_mapper: Optional[Callable[[Any], Any]]
    _id: str

    @property
    def id_column(self) -> str:
        """The inventory column that names each record's file or URL."""
        return self._id

    def fit(self, inventory: Any) -> None:
        fit = getattr(self._data_encoder, "fit", None)
        if callable(fit):
            fit(inventory)

    def _mapped_name(self, record: Any) -> str:
        """The record's id through ``id_mapper``: a file name or a URL reference."""
        identifier = record[self._id]
        return str(identifier if self._id_mapper is None else self._id_mapper(identifier))

    def _transform_data(self, data: Any) -> Any:
        """Override to customize featurization: the encoded item of an open file or fetched data."""
        assert self._data_encoder is not None
        return self._data_encoder(data)

    def finalize_batch(self, records: List[Any]) -> Any:
        return _finalize(self._data_encoder, records)


class FileDataEncoder(_WrappingResourceEncoder):
    """Encodes the file a record names: opens ``data_path/id_mapper(record[id])`` (text, or bytes
    when ``binary``) and returns ``data_encoder(handle)``.

    ``id_mapper=None`` uses the id as the file name, ``data_path=None`` takes the (mapped) id as a
    path of its own. A subclass may override ``_transform_data(handle)`` instead of passing
    ``data_encoder``.
    """

    def __init__(self, data_encoder: Optional[Callable[[Any], Any]] = None,
                 data_path: Union[str, "os.PathLike[str]", None] = None,
                 id_mapper: Optional[Callable[[Any], Any]] = None, id: str = "id",  # noqa: A002 (the seed's name)
                 binary: bool = False):
        if data_encoder is None and not _overrides(self, FileDataEncoder, "_transform_data"):
            raise ValueError("data_encoder must be a callable (or a subclass overrides _transform_data): got None")
        if data_encoder is not None and not callable(data_encoder):
            raise ValueError(f"data_encoder must be a callable: got {type(data_encoder).__name__}")
        if data_path is not None and not isinstance(data_path, (str, os.PathLike)):
            raise ValueError(f"data_path must be a string or a path: got {type(data_path).__name__}")
        if id_mapper is not None and not callable(id_mapper):
            raise ValueError(f"id_mapper must be a callable or None: got {type(id_mapper).__name__}")
        if not isinstance(id, str):
            raise ValueError(f"id must be a string: got {type(id).__name__}")
        if not isinstance(binary, bool):
            raise ValueError(f"binary must be a boolean: got {type(binary).__name__}")
        self._data_encoder = data_encoder
        self._data_path = None if data_path is None else os.fspath(data_path)
        self._id_mapper = id_mapper
        self._id = id
        self._binary = binary

    def get_path(self, record: Any) -> str:
        name = self._mapped_name(record)
        return name if self._data_path is None else os.path.join(self._data_path, name)

    def get_size(self, record: Any) -> int:
        return os.path.getsize(self.get_path(record))

    def transform(self, record: Any) -> Any:
        with open(self.get_path(record), "rb" if self._binary else "r") as handle:
            return self._transform_data(handle)

class UrlDataEncoder(_WrappingResourceEncoder):
    """Encodes the resource at ``urljoin(base_url, id_mapper(record[id]))``: fetches it with the
    standard library's ``urllib`` (``headers`` sent with each request, ``timeout`` seconds at most
    to connect and for each read) and returns ``data_encoder(data)``, ``data`` being the body as
    text (``type="text"``, decoded with the response's charset, UTF-8 by default), parsed JSON
    (``"json"``) or bytes (``"binary"``). An HTTP error status raises ``urllib.error.HTTPError``.

    The joined URL must keep the base URL's scheme, host and port: an id that is an absolute URL
    elsewhere (``http://other/...``) or a network path (``//other/...``) raises ``ValueError``.
    """

    TYPES = ("text", "json", "binary")

    def __init__(self, data_encoder: Optional[Callable[[Any], Any]] = None, base_url: Optional[str] = None,
                 id_mapper: Optional[Callable[[Any], Any]] = None, headers: Optional[dict[str, str]] = None,
                 type: str = "text", id: str = "id", timeout: float = DEFAULT_TIMEOUT):  # noqa: A002
        if data_encoder is None and not _overrides(self, UrlDataEncoder, "_transform_data"):
            raise ValueError("data_encoder must be a callable (or a subclass overrides _transform_data): got None")
        if data_encoder is not None and not callable(data_encoder):
            raise ValueError(f"data_encoder must be a callable: got {type_name(data_encoder)}")
        if id_mapper is not None and not callable(id_mapper):
            raise ValueError(f"id_mapper must be a callable or None: got {type_name(id_mapper)}")
        if type not in self.TYPES:
            raise ValueError(f"type must be one of {', '.join(self.TYPES)}: got {type!r}")
        if not isinstance(id, str):
            raise ValueError(f"id must be a string: got {type_name(id)}")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds: got {timeout!r}")
        self._data_encoder = data_encoder
        self._base_url = base_url
        self._headers = dict(headers or {})
        self._id_mapper = id_mapper
        self._id = id
        self._type = type
        self._timeout = float(timeout)

    def get_path(self, record: Any) -> str:
        identifier = record[self._id]
        name = self._mapped_name(record)
        if self._base_url is None:
            return name
        url = urllib.parse.urljoin(self._base_url, name)
        base, joined = urllib.parse.urlsplit(self._base_url), urllib.parse.urlsplit(url)
        if (base.scheme, base.hostname, base.port) != (joined.scheme, joined.hostname, joined.port):
            raise ValueError(f"the record's URL {url} leaves the base URL {self._base_url} "
                             f"(id {identifier!r}): scheme, host and port must stay the base's")
        return url

    def _open(self, url: str, method: str) -> Any:
        request = urllib.request.Request(url, headers=self._headers, method=method)
        return urllib.request.urlopen(request, timeout=self._timeout)  # noqa: S310 (http(s) URLs given by the user)

    def get_size(self, record: Any) -> int:
        url = self.get_path(record)
        with self._open(url, "HEAD") as response:
            length = response.headers.get("Content-Length")
        if length is not None:
            return int(length)
        with self._open(url, "GET") as response:  # no Content-Length: count the body
            return len(response.read())

    def transform(self, record: Any) -> Any:
        with self._open(self.get_path(record), "GET") as response:
            body: bytes = response.read()
            charset = response.headers.get_content_charset() or "utf-8"
        data: Any
        if self._type == "text":
            data = body.decode(charset)
        elif self._type == "json":
            data = json.loads(body.decode(charset))
        else:
            data = body
        return self._transform_data(data)


def type_name(value: object) -> str:
    """The name of ``value``'s type, for messages."""
    return type(value).__name__


class IdentityEncoder:
    """A target encoder that leaves the targets as they are."""

    def fit(self, data: Any) -> None:
        """Nothing to learn."""

    def fit_transform(self, data: Any) -> Any:
        return data

    def transform(self, data: Any) -> Any:
        return data

    def inverse_transform(self, data: Any) -> Any:
        return data


class IntToOneHotEncoder:
    """Integer codes (a :class:`LabelEncoder`'s, say) to one-hot rows: one float64 column per code
    seen by ``fit`` in ascending order (``n_values=N``: the codes 0 … N−1). An unknown code gives
    a row of zeros (``handle_unknown="ignore"``, the default) or raises ``ValueError``
    (``"error"``). ``sparse=True`` returns a SciPy CSR matrix. ``inverse_transform`` takes the
    argmax of each row."""

    def __init__(self, sparse: bool = False, n_values: Union[str, int] = "auto", handle_unknown: str = "ignore"):
        if handle_unknown == "ingore":  # the seed's spelling of its own default
            handle_unknown = "ignore"
        if handle_unknown not in ("ignore", "error"):
            raise ValueError(f"handle_unknown must be 'ignore' or 'error': got {handle_unknown!r}")
        if n_values != "auto" and (isinstance(n_values, bool) or not isinstance(n_values, (int, np.integer))
                                   or int(n_values) < 1):
            raise ValueError(f"n_values must be 'auto' or a positive integer: got {n_values!r}")
        self.sparse = sparse
        self.n_values = n_values
        self.handle_unknown = handle_unknown
        self.categories_: Optional[np.ndarray] = None

    def fit(self, data: Any) -> IntToOneHotEncoder:
        values = self.__values(data)
        self.categories_ = np.arange(int(self.n_values)) if self.n_values != "auto" else np.unique(values)
        return self

    def fit_transform(self, data: Any) -> Any:
        return self.fit(data).transform(data)

    def transform(self, data: Any) -> Any:
        if self.categories_ is None:
            raise ValueError("IntToOneHotEncoder is not fitted: call fit first")
        values = self.__values(data)
        categories = self.categories_
        positions = np.searchsorted(categories, values)
        clipped = np.minimum(positions, max(len(categories) - 1, 0))
        known = (positions < len(categories)) & (categories[clipped] == values) if len(categories) else \
            np.zeros(len(values), dtype=bool)
        if not known.all() and self.handle_unknown == "error":
            raise ValueError(f"unknown value {values[~known].tolist()[0]!r}: the encoder knows {categories.tolist()}")
        encoded = np.zeros((len(values), len(categories)), dtype=np.float64)
        encoded[np.flatnonzero(known), clipped[known]] = 1.0
        if self.sparse:
            import scipy.sparse
            return scipy.sparse.csr_matrix(encoded)
        return encoded

    def inverse_transform(self, data: Any) -> np.ndarray:
        if hasattr(data, "toarray"):
            data = data.toarray()
        encoded = np.asarray(data)
        positions: np.ndarray = np.argmax(encoded, axis=1).flatten()
        return positions if self.categories_ is None else np.asarray(self.categories_[positions])

    @staticmethod
    def __values(data: Any) -> np.ndarray:
        values = np.asarray(data)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f"IntToOneHotEncoder encodes one value per row: got shape {values.shape}")
        return values


def _apply(encoder: Any, data: Any) -> Any:
    transform = getattr(encoder, "transform", None)
    return transform(data) if callable(transform) else encoder(data)


class RecordTargetEncoder:
    """The targets of a batch of records: the ``target`` column (``target=None``: the whole
    records) through a chain of encoders (``encoders``: one, a list applied in order, or None for
    the targets as they are). Each encoder has ``transform`` (or is a callable) and may have
    ``fit`` and ``inverse_transform``, as scikit-learn's encoders do."""

    def __init__(self, encoders: Any = None, target: Optional[str] = "target"):
        if target is not None and not isinstance(target, str):
            raise ValueError(f"target must be a string or None: got {type_name(target)}")
        if encoders is None:
            self._delegates: Sequence[Any] = (IdentityEncoder(),)
        elif isinstance(encoders, (list, tuple)):
            self._delegates = tuple(encoders) or (IdentityEncoder(),)
        else:
            self._delegates = (encoders,)
        self._target = target

    @property
    def target(self) -> Optional[str]:
        """The inventory column holding the targets (None: whole records)."""
        return self._target

    @property
    def encoders(self) -> Sequence[Any]:
        """The chain of encoders, in the order they apply."""
        return tuple(self._delegates)

    def __call__(self, records: Any) -> Any:
        return self.transform(records)

    def fit(self, records: Any) -> RecordTargetEncoder:
        self.fit_transform(records)
        return self

    def fit_transform(self, records: Any) -> Any:
        def fit_then_transform(data: Any, encoder: Any) -> Any:
            fit = getattr(encoder, "fit", None)
            if callable(fit):
                fit(data)
            return _apply(encoder, data)
        return reduce(fit_then_transform, self._delegates, self.get_target_data(records))

    def transform(self, records: Any) -> Any:
        return reduce(lambda data, encoder: _apply(encoder, data), self._delegates, self.get_target_data(records))

    def inverse_transform(self, target_data: Any) -> Any:
        return reduce(lambda data, encoder: encoder.inverse_transform(data), self._delegates[::-1],
                      np.asarray(target_data))

    def get_target_data(self, records: Any) -> Any:
        return records if self._target is None else records[self._target]


class LabelRecordEncoder(RecordTargetEncoder):
    """The ``target`` column's labels as integer codes (scikit-learn's ``LabelEncoder``: classes
    sorted)."""

    def __init__(self, target: Optional[str] = "target"):
        super().__init__(_label_encoder(), target)

    @property
    def classes_(self) -> Any:
        """The labels, in code order."""
        return self._delegates[0].classes_


class OneHotRecordEncoder(RecordTargetEncoder):
    """The ``target`` column's labels as one-hot rows (float64, one column per class, classes
    sorted)."""

    def __init__(self, target: Optional[str] = "target"):
        super().__init__([_label_encoder(), IntToOneHotEncoder()], target)

    @property
    def classes_(self) -> Any:
        """The labels, in column order."""
        return self._delegates[0].classes_
