"""What :func:`datagen.build` runs in its worker processes (and, for the schema probe, in the parent):
a row group's records through the encoders, into one buffer per column."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["ColumnSpec", "EncoderState", "GroupResult", "Failure", "encode_group", "run_group", "init_worker"]

_DTYPES = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
           "float16", "float32", "float64")


class ColumnSpec:
    """What one record of a column is: ``dtype``, ``shape`` and whether the first axis varies from
    record to record (``variable_length``; ``shape`` is then the shape after that axis).

    Give it to :func:`datagen.build` as an encoder's ``spec`` attribute to declare the column
    instead of inferring it from the first record (records are then cast to ``dtype``)::

        encoder.spec = datagen.ColumnSpec("int32", (), variable_length=True)
    """

    dtype: np.dtype[Any]
    shape: Tuple[int, ...]
    variable_length: bool

    def __init__(self, dtype: DTypeLike, shape: Sequence[int] = (), variable_length: bool = False):
        resolved = np.dtype(dtype)
        if resolved.name not in _DTYPES:
            raise ValueError(f"dtype {resolved} cannot be stored: use one of {', '.join(_DTYPES)}")
        self.dtype = resolved.newbyteorder("<") if resolved.byteorder == ">" else resolved
        self.shape = tuple(int(one) for one in shape)
        if any(one < 0 for one in self.shape):
            raise ValueError(f"shape {self.shape} has a negative dimension")
        self.variable_length = bool(variable_length)

    @classmethod
    def of(cls, value: Union[ColumnSpec, Tuple[Any, ...], Dict[str, Any]]) -> ColumnSpec:
        """A spec from a :class:`ColumnSpec`, a tuple ``(dtype, shape[, variable_length])`` or a
        dict with those keys."""
        if isinstance(value, ColumnSpec):
            return value
        if isinstance(value, dict):
            return cls(value["dtype"], value.get("shape", ()), value.get("variable_length", False))
        return cls(*value)

    def to_json(self) -> Dict[str, Any]:
        """The spec as the side file of a build keeps it."""
        return {"dtype": self.dtype.name, "shape": list(self.shape), "variable_length": self.variable_length}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ColumnSpec) and self.dtype == other.dtype and self.shape == other.shape
                and self.variable_length == other.variable_length)

    def __hash__(self) -> int:
        return hash((self.dtype.name, self.shape, self.variable_length))

    def __repr__(self) -> str:
        dims = (["*"] if self.variable_length else []) + [str(one) for one in self.shape]
        return f"{self.dtype.name}[{', '.join(dims)}]"


def as_record_array(value: Any) -> NDArray[Any]:
    """An encoder's output for one record as an array: bytes and str (UTF-8) become a
    variable-length ``uint8`` row; anything else goes through ``np.asarray`` (little-endian)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(value), dtype=np.uint8)
    if isinstance(value, str):
        return np.frombuffer(value.encode("utf-8"), dtype=np.uint8)
    if hasattr(value, "toarray"):  # a scipy sparse row (scikit-learn's encoders)
        value = value.toarray()
    array = np.asarray(value)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def inferred_spec(value: Any, array: NDArray[Any]) -> ColumnSpec:
    """The spec the first record gives: bytes and str are variable-length ``uint8``, arrays fixed."""
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return ColumnSpec(np.uint8, (), variable_length=True)
    return ColumnSpec(array.dtype, array.shape)


def conform(array: NDArray[Any], spec: ColumnSpec, declared: bool) -> Optional[NDArray[Any]]:
    """``array`` as a record of ``spec`` (cast when the spec was declared), or ``None`` when it
    disagrees."""
    shape_ok = (array.ndim == len(spec.shape) + 1 and array.shape[1:] == spec.shape) if spec.variable_length \
        else array.shape == spec.shape
    if not shape_ok:
        return None
    if array.dtype == spec.dtype:
        return array
    if declared and array.dtype.kind in "biuf":
        return array.astype(spec.dtype)
    return None


def record_spec_text(array: NDArray[Any]) -> str:
    """A record's array in the words of :class:`ColumnSpec`."""
    return f"{array.dtype.name}[{', '.join(str(one) for one in array.shape)}]"


@dataclass
class EncoderState:
    """What every worker holds: the data encoders with their names and specs, the target encoder
    (an object with ``transform(frame)``; string targets stay in the parent), the id column, the
    error policy and ``row_offset``: what errors add to a row number so that they name the
    inventory's row when the frame is a shard of it (0 otherwise)."""

    encoders: List[Any]
    names: List[str]
    specs: List[Optional[ColumnSpec]]
    declared: List[bool]
    target: Any
    target_spec: Optional[ColumnSpec]
    id_column: Optional[str]
    skip: bool
    row_offset: int = 0


@dataclass
class Failure:
    """A record (or a group) that failed under the ``fail`` policy; the parent raises it as a
    :class:`RecordError`."""

    message: str
    row: Optional[int]
    id: Optional[str]
    encoder: str
    cause: Optional[BaseException]
    cause_text: str


@dataclass
class GroupResult:
    """A row group encoded: per column the kept rows in one buffer (and the row lengths of a
    variable-length column), the skipped records, or the failure that stopped it. ``specs`` are
    the first kept record's (inferred) specs, for the probe."""

    group: int
    columns: List[NDArray[Any]] = field(default_factory=list)
    lengths: List[Optional[NDArray[np.int64]]] = field(default_factory=list)
    skipped: List[Dict[str, Any]] = field(default_factory=list)
    failure: Optional[Failure] = None
    specs: List[ColumnSpec] = field(default_factory=list)


def encoder_name(encoder: Any) -> str:
    """How errors name an encoder: its class or function's qualified name."""
    target = encoder if callable(encoder) and not hasattr(encoder, "transform") and hasattr(encoder, "__qualname__") \
        else type(encoder)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", repr(target))
    return f"{module}.{qualname}" if module and module != "builtins" else str(qualname)


def _portable(error: BaseException) -> Optional[BaseException]:
    """``error`` when it survives pickling (it crosses back to the parent), else ``None``."""
    import pickle
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return None


def _fail(message: str, row: Optional[int], record_id: Optional[str], encoder: str,
          error: Optional[BaseException]) -> Failure:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__)) if error else ""
    return Failure(message, row, record_id, encoder, _portable(error) if error else None, text)


def _record_id(record: Any, id_column: Optional[str]) -> Optional[str]:
    if id_column is None:
        return None
    try:
        return str(record[id_column])
    except Exception:
        return None


def run_group(state: EncoderState, group: int, start: int, frame: Any) -> GroupResult:
    """Encodes the records of ``frame`` (inventory rows ``start, start + 1, …``) through every
    encoder: records that fail are skipped (policy ``skip``) or stop the group (``fail``)."""
    result = GroupResult(group)
    shown = start + state.row_offset  # the first row as messages name it (the inventory's, for a shard)
    records = [record for _, record in frame.iterrows()]
    count = len(records)
    ids = [_record_id(record, state.id_column) for record in records]
    outputs: List[List[Any]] = []
    reasons: Dict[int, str] = {}

    def failed(position: int, encoder: str, error: BaseException, message: str) -> Optional[Failure]:
        if state.skip:
            reasons.setdefault(position, message)
            return None
        return _fail(message, shown + position, ids[position], encoder, error)

    for encoder in state.encoders:
        name = encoder_name(encoder)
        column: List[Any] = [None] * count
        if hasattr(encoder, "transform_batch"):
            try:
                column = list(encoder.transform_batch(iter(records)))
            except Exception as error:
                message = f"{name}.transform_batch failed on rows {shown}..{shown + count - 1}: {type(error).__name__}: {error}"
                if not state.skip:
                    result.failure = _fail(message, None, None, name, error)
                    return result
                for position in range(count):
                    reasons.setdefault(position, message)
            if not reasons and len(column) != count:
                result.failure = _fail(f"{name}.transform_batch gave {len(column)} records for the {count} of rows "
                                       f"{shown}..{shown + count - 1}", None, None, name, None)
                return result
        else:
            transform = encoder.transform if hasattr(encoder, "transform") else encoder
            for position, record in enumerate(records):
                if position in reasons:
                    continue
                try:
                    column[position] = transform(record)
                except Exception as error:
                    where = f"row {shown + position}" + (f" (id {ids[position]!r})" if ids[position] is not None else "")
                    message = f"encoder {name} failed on {where}: {type(error).__name__}: {error}"
                    failure = failed(position, name, error, message)
                    if failure is not None:
                        result.failure = failure
                        return result
        outputs.append(column)

    kept = [position for position in range(count) if position not in reasons]
    for index, encoder in enumerate(state.encoders):
        if hasattr(encoder, "finalize_batch") and kept:
            name = encoder_name(encoder)
            batch = [outputs[index][position] for position in kept]
            try:
                finalized = encoder.finalize_batch(batch)
            except Exception as error:
                message = f"{name}.finalize_batch failed on rows {shown}..{shown + count - 1}: {type(error).__name__}: {error}"
                result.failure = _fail(message, None, None, name, error)
                return result
            if finalized is not batch:
                rows = list(finalized)
                if len(rows) != len(kept):
                    result.failure = _fail(f"{name}.finalize_batch gave {len(rows)} records for {len(kept)}",
                                           None, None, name, None)
                    return result
                for position, row in zip(kept, rows):
                    outputs[index][position] = row

    target_rows: Optional[NDArray[Any]] = None
    if state.target is not None:
        name = encoder_name(state.target)
        try:
            target_rows = as_record_array(state.target.transform(frame))
        except Exception as error:
            message = f"target encoder {name} failed on rows {shown}..{shown + count - 1}: {type(error).__name__}: {error}"
            result.failure = _fail(message, None, None, name, error)
            return result
        if target_rows.ndim == 0 or target_rows.shape[0] != count:
            result.failure = _fail(f"target encoder {name} gave {record_spec_text(target_rows)} for the {count} rows "
                                   f"{shown}..{shown + count - 1}", None, None, name, None)
            return result

    # Conform every kept record to its column's spec; a record that disagrees fails or is skipped.
    specs: List[Optional[ColumnSpec]] = list(state.specs)
    arrays: List[List[NDArray[Any]]] = [[] for _ in state.encoders]
    kept_rows: List[int] = []
    for position in kept:
        converted: List[NDArray[Any]] = []
        for index, encoder in enumerate(state.encoders):
            value = outputs[index][position]
            try:
                array = as_record_array(value)
                if array.dtype.name not in _DTYPES:
                    raise TypeError(f"{type(value).__name__} of dtype {array.dtype} is no array of "
                                    f"{', '.join(_DTYPES)}")
            except Exception as error:
                name = encoder_name(encoder)
                where = f"row {shown + position}" + (f" (id {ids[position]!r})" if ids[position] is not None else "")
                message = f"encoder {name} gave no storable array for {where}: {type(error).__name__}: {error}"
                if not state.skip:
                    result.failure = _fail(message, shown + position, ids[position], name, error)
                    return result
                reasons[position] = message
                break
            spec = specs[index]
            if spec is None:
                spec = specs[index] = inferred_spec(value, array)
            conformed = conform(array, spec, state.declared[index])
            if conformed is None:
                name = encoder_name(encoder)
                where = f"row {shown + position}" + (f" (id {ids[position]!r})" if ids[position] is not None else "")
                message = (f"encoder {name} gave {record_spec_text(array)} ({type(value).__name__}) for {where}, "
                           f"where column '{state.names[index]}' holds {spec}")
                if not state.skip:
                    result.failure = _fail(message, shown + position, ids[position], name, None)
                    return result
                reasons[position] = message
                break
            converted.append(conformed)
        else:
            kept_rows.append(position)
            for index, array in enumerate(converted):
                arrays[index].append(array)

    for index, spec in enumerate(specs):
        assert spec is not None or not kept_rows
        if spec is None:
            result.columns.append(np.empty(0, dtype=np.uint8))
            result.lengths.append(None)
            continue
        if spec.variable_length:
            rows = arrays[index]
            result.columns.append(np.concatenate(rows) if rows else np.empty((0,) + spec.shape, dtype=spec.dtype))
            result.lengths.append(np.fromiter((len(one) for one in rows), dtype=np.int64, count=len(rows)))
        else:
            buffer = np.empty((len(kept_rows),) + spec.shape, dtype=spec.dtype)
            for row, array in enumerate(arrays[index]):
                buffer[row] = array
            result.columns.append(buffer)
            result.lengths.append(None)
    if target_rows is not None:
        rows_kept = target_rows[kept_rows] if len(kept_rows) != count else target_rows
        if state.target_spec is not None and rows_kept.dtype != state.target_spec.dtype and rows_kept.dtype.kind in "biuf":
            rows_kept = rows_kept.astype(state.target_spec.dtype)
        result.columns.append(np.ascontiguousarray(rows_kept))
        result.lengths.append(None)
        if target_rows.size:
            specs.append(ColumnSpec(target_rows.dtype, target_rows.shape[1:]))
    result.specs = [spec for spec in specs if spec is not None]
    result.skipped = [{"row": start + position, "id": ids[position], "reason": reasons[position]}
                      for position in sorted(reasons)]
    return result


# The worker process's state, set by init_worker.
_state: Optional[EncoderState] = None
_slots: Any = None
_slot = -1


def init_worker(payload: bytes, slots: Any, counter: Any) -> None:
    """A worker's initializer: ignores Ctrl-C (the parent stops the workers), loads the encoders
    (cloudpickle), takes a slot in the shared table of which group each worker encodes, and exits
    when the parent dies."""
    global _state, _slots, _slot
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cloudpickle
    _state = cloudpickle.loads(payload)
    _slots = slots
    with counter.get_lock():
        _slot = int(counter.value)
        counter.value += 1
    if _slot * 2 + 1 < len(slots):
        slots[_slot * 2] = os.getpid()
        slots[_slot * 2 + 1] = -1
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="datagen-parent-watch", daemon=True).start()


def encode_group(group: int, start: int, frame: Any) -> GroupResult:
    """A worker's task: row group ``group`` (its first inventory row is ``start``)."""
    assert _state is not None, "init_worker has not run"
    tracked = 0 <= _slot and _slot * 2 + 1 < len(_slots)
    if tracked:
        _slots[_slot * 2 + 1] = group
    result = run_group(_state, group, start, frame)
    if tracked:
        _slots[_slot * 2 + 1] = -1
    return result


def warm_up() -> int:
    """A no-op task that makes the pool start its workers."""
    return os.getpid()
