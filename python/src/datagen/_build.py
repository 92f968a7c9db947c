"""``datagen.build``: a cache built from Python encoders, run in worker processes over contiguous row
groups and committed in order through the engine's writer (the C API's ``dg_writer_*``)."""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import functools
import hashlib
import inspect
import json
import math
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from ._build_worker import (ColumnSpec, EncoderState, GroupResult, encode_group, encoder_name, init_worker,
                            run_group, warm_up)
from ._errors import CacheError, OptionError, RecordError, WorkerDiedError
from ._protocol import Cache
from ._writer import GroupWriter, writer_library

__all__ = ["build", "default_workers", "encoder_identity"]

_TARGETS = {"label": "label", "onehot": "onehot", "categorical": "onehot", "int": "int", "float": "float"}
_CODECS = ("lz4", "lz4hc", "none")


def default_workers() -> int:
    """The CPUs this process may use: its affinity mask (``os.sched_getaffinity``), capped by a
    cgroup CPU quota where one is set (as the Swift engine counts them)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_quota() -> Optional[float]:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    quotas: List[float] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        files: Tuple[str, Optional[str]]
        if controllers == "":
            roots, files = ["/sys/fs/cgroup"], ("cpu.max", None)
        elif "cpu" in controllers.split(","):
            roots = [f"/sys/fs/cgroup/{controllers}", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]
            files = ("cpu.cfs_quota_us", "cpu.cfs_period_us")
        else:
            continue
        for root in roots:
            directory = Path(root + path)
            while True:
                quota = _read_quota(directory, files)
                if quota is not None:
                    quotas.append(quota)
                if str(directory) in (root, "/") or len(str(directory)) <= len(root):
                    break
                directory = directory.parent
    return min(quotas) if quotas else None


def _read_quota(directory: Path, files: Tuple[str, Optional[str]]) -> Optional[float]:
    try:
        if files[1] is None:
            fields = (directory / files[0]).read_text().split()
            if fields and fields[0] != "max" and len(fields) >= 2 and float(fields[0]) > 0:
                return float(fields[0]) / float(fields[1])
            return None
        quota = float((directory / files[0]).read_text())
        period = float((directory / files[1]).read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError, ZeroDivisionError):
        return None


# --- identities ---------------------------------------------------------------------------------

def _code_text(code: Any) -> str:
    consts = [_code_text(one) if inspect.iscode(one) else repr(one) for one in code.co_consts]
    return repr((code.co_code, consts, code.co_names, code.co_varnames))


def _source_hash(obj: Any) -> str:
    """A hash of ``obj``'s source (of a lambda's code: its source line may hold other code too)."""
    code = getattr(obj, "__code__", None)
    try:
        if code is not None and getattr(obj, "__name__", "") == "<lambda>":
            raise TypeError
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        if code is None:
            return ""
        source = _code_text(code)
    return hashlib.sha256(source.encode("utf-8", "replace")).hexdigest()[:16]


def _describe(value: Any, depth: int = 0, seen: Optional[set[int]] = None) -> str:
    """A description of ``value`` that stays the same across runs (no addresses): plain values by
    ``repr``, arrays by a hash of their bytes, functions and classes by qualified name and source
    hash (with a function's defaults and closure), objects by class and attributes."""
    seen = set() if seen is None else seen
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        text = repr(value)
        return text if len(text) <= 256 else f"{type(value).__name__}#{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    if depth > 4 or id(value) in seen:
        return f"<{type(value).__qualname__}>"
    seen = seen | {id(value)}
    if isinstance(value, np.ndarray):
        return f"ndarray({value.dtype},{value.shape},{hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]})"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(_describe(one, depth + 1, seen) for one in value) if isinstance(value, (set, frozenset)) \
            else [_describe(one, depth + 1, seen) for one in list(value)[:64]]
        return f"{type(value).__name__}[{len(value)}]({','.join(items)})"
    if isinstance(value, dict):
        items = sorted(f"{key!r}:{_describe(item, depth + 1, seen)}" for key, item in list(value.items())[:64])
        return "{" + ",".join(items) + "}"
    if isinstance(value, functools.partial):
        return (f"partial({_describe(value.func, depth + 1, seen)},{_describe(value.args, depth + 1, seen)},"
                f"{_describe(value.keywords, depth + 1, seen)})")
    if inspect.ismethod(value):
        return f"method({value.__func__.__qualname__},{_describe(value.__self__, depth + 1, seen)})"
    if inspect.isfunction(value):
        parts = [f"{value.__module__}.{value.__qualname__}", _source_hash(value)]
        if value.__defaults__:
            parts.append(_describe(value.__defaults__, depth + 1, seen))
        if value.__closure__:
            cells = []
            for cell in value.__closure__:
                try:
                    cells.append(_describe(cell.cell_contents, depth + 1, seen))
                except ValueError:
                    cells.append("<empty>")
            parts.append("closure(" + ",".join(cells) + ")")
        return "function(" + ",".join(parts) + ")"
    if inspect.isclass(value) or inspect.isbuiltin(value) or inspect.ismodule(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', getattr(value, '__name__', ''))}"
    cls = type(value)
    text = f"{cls.__module__}.{cls.__qualname__}@{_class_hash(cls)}"
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        text += _describe(attributes, depth + 1, seen)
    return text


_class_hashes: Dict[type, str] = {}


def _class_hash(cls: type) -> str:
    known = _class_hashes.get(cls)
    if known is None:
        hashes = [_source_hash(base) for base in cls.__mro__ if base.__module__ not in ("builtins", "abc")]
        known = _class_hashes[cls] = hashlib.sha256("".join(hashes).encode()).hexdigest()[:16]
    return known


def encoder_identity(encoder: Any) -> str:
    """What keys an encoder in the cache's fingerprint: its ``identity`` attribute when it has one,
    else its qualified name and a hash of its source, parameters and closure (where Python can
    read them)."""
    identity = getattr(encoder, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    described = _describe(encoder)
    return f"python:{encoder_name(encoder)}#{hashlib.sha256(described.encode()).hexdigest()[:32]}"


# --- inventory and targets ----------------------------------------------------------------------

def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise CacheError("datagen.build needs pandas, cloudpickle and tqdm: pip install 'datagen[build]'") from None
    return pandas


def _inventory(inventory: Any, pandas: Any, id_column: Optional[str]) -> Tuple[Any, Optional[str]]:
    """The inventory as a DataFrame (a CSV read as the CLI reads it: a first column without a name
    is pandas' index, ids stay text) and the CSV's path, if one."""
    if isinstance(inventory, pandas.DataFrame):
        return inventory, None
    if isinstance(inventory, (str, os.PathLike)):
        path = os.fspath(inventory)
        try:
            header = pandas.read_csv(path, nrows=0)
            first = str(header.columns[0]) if len(header.columns) else ""
            index_col = 0 if first == "" or first.startswith("Unnamed: 0") else None
            text = {id_column: str} if id_column is not None and id_column in header.columns else None
            return pandas.read_csv(path, index_col=index_col, dtype=text), path
        except FileNotFoundError:
            raise CacheError(f"the inventory {path} does not exist", path) from None
        except Exception as error:
            raise CacheError(f"cannot read the inventory {path}: {error}", path) from error
    if isinstance(inventory, (list, tuple)):
        return pandas.DataFrame.from_records(list(inventory)), None
    raise OptionError(f"inventory must be a pandas DataFrame, a CSV path or a list of dicts, not {type(inventory).__name__}")


def _labels(frame: Any, column: str, csv_path: Optional[str], pandas: Any) -> List[str]:
    """The target column's values as text, as the CLI reads them (the CSV's own text when the
    inventory is a file)."""
    if column not in frame.columns:
        raise CacheError(f"the inventory has no target column '{column}' (its columns: "
                         f"{', '.join(map(str, frame.columns))}); give target_column= or target=None")
    if csv_path is not None:
        raw = pandas.read_csv(csv_path, usecols=[column], dtype=str, keep_default_na=False)[column]
        return [str(one) for one in raw.tolist()]
    return ["" if one is None or (isinstance(one, float) and math.isnan(one)) else str(one)
            for one in frame[column].tolist()]


def _number(text: str) -> Optional[float]:
    stripped = text.strip(" \t")
    if not stripped or "_" in stripped or stripped != stripped.strip():
        return None
    try:
        return float(stripped)
    except ValueError:
        return None


def sorted_classes(labels: Iterable[str]) -> List[str]:
    """The CLI's class order: numerically when every label parses as a number, else by code points."""
    distinct = set(labels)
    numbers = {one: _number(one) for one in distinct}
    if distinct and all(value is not None and not math.isnan(value) for value in numbers.values()):
        return sorted(distinct, key=lambda one: (numbers[one], one))
    return sorted(distinct)


def _swift_strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(one, ensure_ascii=False) for one in values) + "]"


class _StringTarget:
    """A target the CLI could build (``label``, ``onehot``, ``int``, ``float``), computed in the
    parent over the whole column."""

    def __init__(self, kind: str, column: str, labels: List[str], ids: Optional[List[str]]):
        self.kind = kind
        self.classes: Optional[List[str]] = None

        def where(row: int) -> str:
            return f"row {row}" + (f" (id {ids[row]!r})" if ids is not None else "")

        if kind in ("label", "onehot"):
            for row, label in enumerate(labels):
                if label == "":
                    raise RecordError(f"the target column '{column}' is empty at {where(row)}", row=row,
                                      id=ids[row] if ids else None, encoder=kind)
            self.classes = sorted_classes(labels)
            codes = {label: code for code, label in enumerate(self.classes)}
            label_codes = np.fromiter((codes[label] for label in labels), dtype=np.int64, count=len(labels))
            chain = f"label(classes={_swift_strings(self.classes)})@1"
            if kind == "label":
                self.values: NDArray[Any] = label_codes
            else:
                self.values = np.zeros((len(labels), len(self.classes)), dtype=np.float32)
                self.values[np.arange(len(labels)), label_codes] = 1
                categories = "[" + ", ".join(str(one) for one in range(len(self.classes))) + "]"
                chain += f",onehot(categories={categories},dtype=float32)@1"
        else:
            dtype = np.int64 if kind == "int" else np.float32
            numbers = []
            for row, label in enumerate(labels):
                value = _number(label)
                if value is None:
                    raise RecordError(f"the target column '{column}' holds {label!r} at {where(row)}, not a number",
                                      row=row, id=ids[row] if ids else None, encoder=kind)
                numbers.append(value)
            array = np.array(numbers, dtype=np.float64)
            self.values = np.trunc(array).astype(np.int64) if kind == "int" else array.astype(dtype)
            chain = f"number(dtype={np.dtype(dtype).name})@1"
        self.identity = f"target(column={json.dumps(column)})[{chain}]"
        self.spec = ColumnSpec(self.values.dtype, self.values.shape[1:])


# --- the build ----------------------------------------------------------------------------------

def _field(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass") + b"\0"


def _rows_hasher(frame: Any, id_column: Optional[str], parts: Sequence[str]) -> Any:
    """The SHA-256 state of the rows' digest over the inventory and ``parts``; a shard's digest
    adds its ``shard K/N`` field to a copy."""
    hasher = hashlib.sha256()
    hasher.update(_field("datagen-python-build-v1"))
    hasher.update(len(frame.columns).to_bytes(8, "little"))
    hasher.update(len(frame).to_bytes(8, "little"))
    hasher.update(_field(id_column or ""))
    for name in frame.columns:
        hasher.update(_field(str(name)))
        hasher.update("\0".join(map(str, frame[name].tolist())).encode("utf-8", "surrogatepass") + b"\0\0")
    for part in parts:
        hasher.update(_field(part))
    return hasher


def _fresh(output: str, digest: str, codec: str) -> bool:
    """Whether ``output`` is a valid cache built from the same rows and encoders under ``codec``."""
    if not os.path.exists(output):
        return False
    from ._format import CacheFileReader
    try:
        reader = CacheFileReader(output)
    except CacheError:
        return False
    try:
        codecs = {str(column.get("codec")) for column in reader.metadata.get("columns", [])}
        return reader.fingerprint.get("rows") == digest and codecs <= {codec}
    except Exception:
        return False
    finally:
        reader.close()


def _rows_per_group(specs: Sequence[ColumnSpec], records: int) -> int:
    """Up to 1024 rows (about 16 MiB of fixed-size rows) a group, as the CLI, but at least 64
    groups for small inventories (so that workers share them); never depends on the workers."""
    row_bytes = sum(0 if spec.variable_length else spec.dtype.itemsize * int(np.prod(spec.shape, dtype=np.int64))
                    for spec in specs)
    default = max(1, min(1024, (16 << 20) // max(1, row_bytes)))
    return max(1, min(default, max(16, math.ceil(records / 64))))


def _show_progress() -> bool:
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None) if shell is not None else None
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


class _Progress:
    def __init__(self, enabled: bool, total: int, initial: int):
        self._bar: Any = None
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, initial=initial, unit="rec", unit_scale=True, file=sys.stderr,
                         desc="datagen build", dynamic_ncols=True)

    def update(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _check_encoder(encoder: Any, position: int) -> None:
    if not (callable(encoder) or hasattr(encoder, "transform") or hasattr(encoder, "transform_batch")):
        raise OptionError(f"data encoder {position} ({type(encoder).__name__}) has no transform(record), "
                          "transform_batch(records) and is not callable")


@dataclass
class Prepared:
    """A build's inputs, checked and read once: the inventory as a frame, the encoders and their
    identities, the ids, the target (a string target already computed over the whole column) and
    what keys the rows' digest. :func:`fit` then fits the encoders and finds the columns' specs;
    :func:`shard_job` cuts out one shard's work."""

    frame: Any
    csv_path: Optional[str]
    encoders: List[Any]
    names: List[str]
    specs: List[Optional[ColumnSpec]]
    declared: List[bool]
    ids: Optional[List[str]]
    id_column: Optional[str]
    string_target: Optional[_StringTarget]
    object_target: Any
    target_identity: str
    identities: List[str]
    target_column: str
    on_error: str
    codec: str
    _hasher: Any = None

    @property
    def records(self) -> int:
        """The inventory's record count."""
        return len(self.frame)

    def digest(self, shard: Optional[Tuple[int, int]]) -> str:
        """The rows' digest of the whole build (``shard`` None) or of shard ``(K, N)``: what the
        cache's fingerprint keeps as ``rows`` and a resumed journal must match."""
        if self._hasher is None:
            self._hasher = _rows_hasher(self.frame, self.id_column,
                                        [*self.names, *self.identities, repr(self.specs), self.target_identity,
                                         self.target_column])
        hasher = self._hasher.copy()
        if shard is not None:
            hasher.update(_field(f"shard {shard[0]}/{shard[1]}"))
        return str(hasher.hexdigest())


@dataclass
class ShardJob:
    """One cache's work, self-contained (it crosses to another process or node, pickled by
    cloudpickle): the encoders fitted and their specs known, the shard's rows of the inventory, its
    ids and string-target values, the schema, the rows' digest and the classes."""

    state: EncoderState
    frame: Any
    ids: Optional[List[str]]
    string_target: Optional[_StringTarget]
    schema: Dict[str, Any]
    digest: str
    classes: Optional[List[str]]
    codec: str
    first_row: int

    @property
    def records(self) -> int:
        """The shard's record count."""
        return int(self.schema["records"])


def prepare(inventory: Any, data: Any, target: Any = None, *, id_column: Optional[str] = "id",
            target_column: str = "target", on_error: str = "fail", codec: str = "lz4",
            workers: Optional[int] = None, output: Optional[str] = None) -> Prepared:
    """Checks the arguments of a build (and that the cache ``output`` can be written, when given)
    and reads its inventory (see :func:`build`); raises :class:`OptionError` or
    :class:`CacheError` before any record is encoded."""
    if on_error not in ("fail", "skip"):
        raise OptionError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    if codec not in _CODECS:
        raise OptionError(f"codec must be one of {', '.join(_CODECS)}, not {codec!r}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise OptionError(f"workers must be a positive int or None, not {workers!r}")
    if isinstance(target, str) and target not in _TARGETS:
        raise OptionError(f"unknown target {target!r}: use label, onehot (categorical), int, float, "
                          "a target encoder or None")
    if target is not None and not isinstance(target, str) and not hasattr(target, "transform"):
        raise OptionError(f"target must be a string, an object with transform(frame) or None, not {type(target).__name__}")
    writer_library()  # EngineUnavailableError first, before any work
    pandas = _pandas()
    if output is not None:
        _check_output(output)
    frame, csv_path = _inventory(inventory, pandas, id_column)
    records = len(frame)
    if records == 0:
        raise CacheError("the inventory has no records", csv_path)
    encoders = list(data) if isinstance(data, (list, tuple)) else [data]
    if not encoders:
        raise OptionError("data needs at least one encoder")
    for position, encoder in enumerate(encoders):
        _check_encoder(encoder, position)
    names = ["data"] if len(encoders) == 1 else [f"data{index}" for index in range(len(encoders))]
    declared = [getattr(encoder, "spec", None) for encoder in encoders]
    try:
        specs: List[Optional[ColumnSpec]] = [None if one is None else ColumnSpec.of(one) for one in declared]
    except (ValueError, TypeError, KeyError) as error:
        raise OptionError(f"an encoder's spec is not valid: {error}") from error

    has_ids = id_column is not None and id_column in frame.columns
    ids = [str(one) for one in frame[id_column].tolist()] if has_ids else None
    if ids is not None:
        first: Dict[str, int] = {}
        for row, one in enumerate(ids):
            if one in first:
                raise CacheError(f"the id {one!r} is used twice: rows {first[one]} and {row}", csv_path)
            first[one] = row

    string_target: Optional[_StringTarget] = None
    object_target: Any = None
    if isinstance(target, str):
        string_target = _StringTarget(_TARGETS[target], target_column,
                                      _labels(frame, target_column, csv_path, pandas), ids)
        target_identity = string_target.identity
    elif target is not None:
        object_target = target
        target_identity = encoder_identity(target)
    else:
        target_identity = "none"
    return Prepared(frame=frame, csv_path=csv_path, encoders=encoders, names=names, specs=specs,
                    declared=[one is not None for one in declared], ids=ids,
                    id_column=id_column if has_ids else None, string_target=string_target,
                    object_target=object_target, target_identity=target_identity,
                    identities=[encoder_identity(encoder) for encoder in encoders], target_column=target_column,
                    on_error=on_error, codec=codec)


def fit(prepared: Prepared, spec_file_of: str, digest: str) -> EncoderState:
    """Fits the encoders (and an object target) over the whole inventory and finds every column's
    spec (the probe; its side file is ``spec_file_of + ".partial.specs"``, keyed by ``digest``):
    the state every shard of the inventory encodes with."""
    frame = prepared.frame
    for encoder in prepared.encoders:
        if hasattr(encoder, "fit"):
            try:
                encoder.fit(frame)
            except Exception as error:
                raise CacheError(f"encoder {encoder_name(encoder)}.fit failed: {type(error).__name__}: {error}") from error
    target = prepared.object_target
    if target is not None and hasattr(target, "fit"):
        try:
            target.fit(frame)
        except Exception as error:
            raise CacheError(f"target encoder {encoder_name(target)}.fit failed: "
                             f"{type(error).__name__}: {error}") from error
    state = EncoderState(encoders=prepared.encoders, names=prepared.names, specs=list(prepared.specs),
                         declared=prepared.declared, target=target, target_spec=None, id_column=prepared.id_column,
                         skip=prepared.on_error == "skip")
    state.target_spec = _probe(state, frame, spec_file_of, digest, prepared.records)
    return state


def shard_job(prepared: Prepared, state: EncoderState, shard: Optional[Tuple[int, int]], digest: str) -> ShardJob:
    """The work of the whole build (``shard`` None) or of shard ``(K, N)``: its rows
    [K·R/N, (K+1)·R/N) of the R records, with ``state`` fitted over the whole inventory."""
    rows = range(prepared.records) if shard is None else _shard_rows(shard[0], shard[1], prepared.records)
    if shard is not None:
        state = dataclasses.replace(state, row_offset=rows.start)  # errors name the inventory's rows
    frame = prepared.frame
    ids = prepared.ids
    string_target = prepared.string_target
    if shard is not None:
        frame = frame.iloc[rows.start:rows.stop]
        ids = None if ids is None else ids[rows.start:rows.stop]
        if string_target is not None:
            string_target = copy.copy(string_target)
            string_target.values = string_target.values[rows.start:rows.stop]
    records = len(rows)
    target_spec = string_target.spec if string_target is not None else state.target_spec
    column_specs: List[ColumnSpec] = [spec for spec in state.specs if spec is not None]
    all_specs = column_specs + ([target_spec] if target_spec is not None else [])
    rows_per_group = _rows_per_group(all_specs, records)
    columns: List[Dict[str, Any]] = []
    for name, spec, identity in zip(prepared.names, column_specs, prepared.identities):
        columns.append({"name": name, "dtype": spec.dtype.name, "shape": list(spec.shape),
                        "variable_length": spec.variable_length, "encoder": identity})
    if target_spec is not None:
        columns.append({"name": "target", "role": "target", "dtype": target_spec.dtype.name,
                        "shape": list(target_spec.shape), "encoder": prepared.target_identity})
    schema = {"columns": columns, "records": records, "rows_per_group": rows_per_group, "codec": prepared.codec,
              "on_error": prepared.on_error}
    classes = string_target.classes if string_target is not None else _object_classes(state.target)
    return ShardJob(state=state, frame=frame, ids=ids, string_target=string_target, schema=schema, digest=digest,
                    classes=classes, codec=prepared.codec, first_row=rows.start)


def run_job(job: ShardJob, output: str, workers: int, show: bool = False) -> None:
    """Encodes ``job`` into the cache ``output``: in a pool of ``workers`` processes, or in this
    process when ``workers`` is 0 (a Ray task, where Ray gives the parallelism). Resumes the
    journal of an interrupted build of the same job."""
    _check_output(output)
    if workers == 0:
        _drive_inline(job, output, show)
    else:
        _drive(job.state, job.frame, output, job.schema, job.digest, int(job.schema["rows_per_group"]), workers,
               job.string_target, job.ids, job.classes, show)


def is_fresh(output: str, digest: str, codec: str) -> bool:
    """Whether ``output`` is a valid cache built from the same rows and encoders under ``codec``."""
    return _fresh(output, digest, codec)


def _check_output(output_path: str) -> None:
    parent = os.path.dirname(os.path.abspath(output_path))
    if not os.path.isdir(parent) or os.path.isdir(output_path):
        raise CacheError(f"cannot write the cache {output_path}: "
                         + ("it is a directory" if os.path.isdir(output_path) else f"no directory {parent}"), output_path)


def build(inventory: Any, output: Union[str, os.PathLike[str]], data: Any, target: Any = None, *,
          id_column: Optional[str] = "id", target_column: str = "target", workers: Optional[int] = None,
          on_error: str = "fail", codec: str = "lz4", progress: bool = True, force: bool = False,
          shard: Optional[Tuple[int, int]] = None) -> Cache:
    """Builds the cache ``output`` from ``inventory`` through Python encoders and returns it opened
    (``datagen.open(output)``). ``shard=(K, N)`` encodes only the rows [K·R/N, (K+1)·R/N) of the R
    records, with the encoders and classes fitted over the whole inventory. See docs/PYTHON.md,
    "Building caches from Python"."""
    checked_shard = _check_shard(shard)
    output_path = os.fspath(output)
    prepared = prepare(inventory, data, target, id_column=id_column, target_column=target_column,
                       on_error=on_error, codec=codec, workers=workers, output=output_path)
    digest = prepared.digest(checked_shard)
    if not force and _fresh(output_path, digest, codec):
        from . import open as open_cache
        return open_cache(output_path)
    state = fit(prepared, output_path, digest)
    job = shard_job(prepared, state, checked_shard, digest)
    count = workers if workers is not None else default_workers()
    run_job(job, output_path, count, progress and _show_progress())
    try:
        os.unlink(_spec_file(output_path))
    except OSError:
        pass
    from . import open as open_cache
    return open_cache(output_path)


def _check_shard(shard: Any) -> Optional[Tuple[int, int]]:
    """``shard=(K, N)`` checked (None for the whole inventory)."""
    if shard is None:
        return None
    if (not isinstance(shard, tuple) or len(shard) != 2
            or not all(isinstance(one, int) and not isinstance(one, bool) for one in shard)):
        raise OptionError(f"shard must be a tuple (K, N) of ints, not {shard!r}")
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise OptionError(f"shard=({index}, {count}): N must be at least 1 and K in 0..{count - 1} (shards count from 0)")
    return (index, count)


def _shard_rows(index: int, count: int, records: int) -> range:
    """Shard ``index`` of ``count``: the rows [K·R/N, (K+1)·R/N) of ``records`` (as the CLI's --shard)."""
    return range(index * records // count, (index + 1) * records // count)


def _object_classes(target: Any) -> Optional[List[str]]:
    classes = getattr(target, "classes_", None) if target is not None else None
    try:
        return None if classes is None else [str(one) for one in list(classes)]
    except Exception:
        return None


def _spec_file(output: str) -> str:
    return output + ".partial.specs"


def _probe(state: EncoderState, frame: Any, output: str, digest: str, records: int) -> Optional[ColumnSpec]:
    """Fills ``state.specs`` (and returns the target encoder's spec): from the side file of an
    interrupted build of the same inputs, else from the first record that encodes."""
    needs_target = state.target is not None
    if all(spec is not None for spec in state.specs) and not needs_target:
        return None
    try:
        saved = json.loads(Path(_spec_file(output)).read_text())
        if saved.get("digest") == digest:
            state.specs = [ColumnSpec.of(one) for one in saved["columns"]]
            return ColumnSpec.of(saved["target"]) if saved.get("target") else None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    reasons: List[str] = []
    for row in range(records):
        result = run_group(state, -1, row, frame.iloc[row:row + 1])
        if result.failure is not None:
            _raise_failure(result, output)
        if result.skipped:
            reasons.extend(str(entry["reason"]) for entry in result.skipped[:1] if len(reasons) < 3)
            continue
        found = list(result.specs[:len(state.specs)])
        state.specs = list(found)
        target_spec = result.specs[len(found)] if needs_target else None
        try:
            Path(_spec_file(output)).write_text(json.dumps({
                "digest": digest, "columns": [spec.to_json() for spec in found],
                "target": target_spec.to_json() if target_spec is not None else None}))
        except OSError as error:
            raise CacheError(f"cannot write {_spec_file(output)}: {error}", output) from error
        return target_spec
    raise CacheError(f"no record of the {records} encoded (each was skipped), so no column's spec is known; "
                     "the first reasons: " + "; ".join(reasons), output)


def _raise_failure(result: GroupResult, output: str, rows: Optional[range] = None, first_row: int = 0) -> None:
    """Raises the group's failure as a ``RecordError``; ``rows`` (the group's, counted in the
    frame) are given as the inventory's by adding ``first_row``, as the worker's row is."""
    failure = result.failure
    assert failure is not None
    if rows is not None:
        rows = range(rows.start + first_row, rows.stop + first_row)
    error = RecordError(failure.message, row=failure.row, id=failure.id, encoder=failure.encoder,
                        rows=rows, path=output)
    cause = failure.cause
    if cause is None and failure.cause_text:
        cause = RuntimeError(failure.cause_text)
    if cause is not None and failure.cause_text:
        try:
            cause.add_note("Traceback in the worker:\n" + failure.cause_text)
        except AttributeError:
            pass
    raise error from cause


def _put(writer: GroupWriter, group: int, rows: range, result: GroupResult, string_target: Optional[_StringTarget],
         output: str, first_row: int = 0) -> None:
    """Hands row group ``group`` (``rows``, encoded as ``result``) to the writer, with the string
    target's values of its kept rows; raises the group's failure."""
    if result.failure is not None:
        _raise_failure(result, output, rows, first_row)
    columns = list(result.columns)
    lengths = list(result.lengths)
    if string_target is not None:
        skipped_rows = {entry["row"] for entry in result.skipped}
        kept = [row for row in rows if row not in skipped_rows]
        values = string_target.values[rows.start:rows.stop] if len(kept) == len(rows) \
            else string_target.values[kept]
        columns.append(values)
        lengths.append(None)
    writer.put(group, columns, lengths, result.skipped)


def _drive_inline(job: ShardJob, output: str, show: bool) -> None:
    """Encodes the groups of ``job`` one after another in this process and commits them in order
    (a Ray task's build: the parallelism is Ray's, one task per shard)."""
    records = job.records
    rows_per_group = int(job.schema["rows_per_group"])
    groups = (records + rows_per_group - 1) // rows_per_group
    writer: Optional[GroupWriter] = GroupWriter(output, job.schema, job.digest)
    bar: Optional[_Progress] = None
    try:
        assert writer is not None
        done = writer.groups_done
        bar = _Progress(show, records, min(records, done * rows_per_group))
        for group in range(done, groups):
            start = group * rows_per_group
            rows = range(start, min(records, start + rows_per_group))
            result = run_group(job.state, group, start, job.frame.iloc[rows.start:rows.stop])
            _put(writer, group, rows, result, job.string_target, output, job.state.row_offset)
            bar.update(len(rows))
        bar.close()
        bar = None
        writer.finish(job.ids, job.classes)
        writer = None
    finally:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.abort()


def _drive(state: EncoderState, frame: Any, output: str, schema: Dict[str, Any], digest: str, rows_per_group: int,
           workers: int, string_target: Optional[_StringTarget], ids: Optional[List[str]],
           classes: Optional[List[str]], show: bool) -> None:
    """Runs the groups through a process pool (at most 2 × workers in flight) and commits them in order."""
    import cloudpickle
    records = int(schema["records"])
    groups = (records + rows_per_group - 1) // rows_per_group
    context = multiprocessing.get_context()
    slots = context.Array("q", 4 * workers + 4, lock=False)
    counter = context.Value("i", 0)
    try:
        payload = cloudpickle.dumps(state)
    except Exception as error:
        raise CacheError(f"the encoders cannot be sent to the worker processes (cloudpickle): "
                         f"{type(error).__name__}: {error}", output) from error
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker,
                                                  initargs=(payload, slots, counter))
    processes: Dict[int, Any] = {}

    def remember() -> None:
        processes.update(getattr(pool, "_processes", None) or {})

    writer: Optional[GroupWriter] = None
    bar: Optional[_Progress] = None
    try:
        # Start the workers before the writer takes its lock, so that forked workers never hold it.
        try:
            pool.submit(warm_up).result()
        except BrokenProcessPool:
            raise CacheError("the worker processes could not start (see the error above): the encoders must "
                             "load in a new process (cloudpickle), and their modules import there", output) from None
        remember()
        writer = GroupWriter(output, schema, digest)
        done = writer.groups_done
        bar = _Progress(show, records, min(records, done * rows_per_group))
        pending: Dict[int, concurrent.futures.Future[GroupResult]] = {}
        next_submit = done
        limit = 2 * workers
        for group in range(done, groups):
            while next_submit < groups and len(pending) < limit:
                start = next_submit * rows_per_group
                stop = min(records, start + rows_per_group)
                try:
                    pending[next_submit] = pool.submit(encode_group, next_submit, start, frame.iloc[start:stop])
                except BrokenProcessPool:  # a worker died since the last result: name its group
                    raise _worker_died(processes, slots, pending, group, rows_per_group, records, output) from None
                next_submit += 1
                remember()
            future = pending.pop(group)
            start = group * rows_per_group
            rows = range(start, min(records, start + rows_per_group))
            try:
                result = future.result()
            except BrokenProcessPool:
                raise _worker_died(processes, slots, pending, group, rows_per_group, records, output) from None
            except CacheError:
                raise
            except Exception as error:
                raise CacheError(f"row group {group} (rows {rows.start}..{rows.stop - 1}) failed in its worker: "
                                 f"{type(error).__name__}: {error}", output) from error
            _put(writer, group, rows, result, string_target, output, state.row_offset)
            bar.update(len(rows))
        bar.close()
        bar = None
        writer.finish(ids, classes)
        writer = None
        pool.shutdown(wait=True)
    except BaseException:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.abort()
        _stop(pool, processes)
        raise


def _stop(pool: concurrent.futures.ProcessPoolExecutor, processes: Dict[int, Any]) -> None:
    """Stops the workers at once (an error or Ctrl-C): their groups in flight are dropped."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes.values():
        try:
            if process.is_alive():
                process.terminate()
        except Exception:
            pass
    for process in processes.values():
        try:
            process.join(timeout=2)
            if process.is_alive():
                process.kill()
                process.join(timeout=2)
        except Exception:
            pass


def _exit_code(process: Any) -> Optional[int]:
    """The process's exit code, or None while it runs (or cannot be asked)."""
    try:
        code: Optional[int] = process.exitcode
        return code
    except Exception:
        return None


def _worker_died(processes: Dict[int, Any], slots: Any, pending: Dict[int, Any], group: int, rows_per_group: int,
                 records: int, output: str) -> WorkerDiedError:
    """The error naming the group whose worker died (the one that did not end by the pool's own
    SIGTERM), or the group the build waited for when that cannot be told."""
    # The pool's own thread reaps the workers while this one asks: a waitpid that loses that race
    # reads "no such child" and the exit code stays unknown for a moment. Wait until every worker's
    # code is known (the pool terminates the survivors of a broken pool), for at most 5 s.
    deadline = time.monotonic() + 5
    for process in processes.values():
        try:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:
            pass
    while time.monotonic() < deadline and any(_exit_code(process) is None for process in processes.values()):
        time.sleep(0.01)
    table = {int(slots[index]): int(slots[index + 1]) for index in range(0, len(slots) - 1, 2) if slots[index] > 0}
    dead: Optional[Tuple[int, int]] = None
    for pid, process in processes.items():
        code = process.exitcode
        if code is not None and code != 0 and code != -signal.SIGTERM and table.get(pid, -1) >= 0:
            dead = (table[pid], code)
            break
    if dead is None:
        for pid, process in processes.items():
            code = process.exitcode
            if code is not None and code != 0 and code != -signal.SIGTERM:
                dead = (group, code)
                break
    died_group, code = dead if dead is not None else (group, None)
    start = died_group * rows_per_group
    rows = range(start, min(records, start + rows_per_group))
    how = "" if code is None else (f" (killed by {signal.Signals(-code).name})" if code < 0 and -code in
                                    signal.valid_signals() else f" (exit status {code})")
    return WorkerDiedError(f"a worker process died{how} while encoding group {died_group}, rows "
                           f"{rows.start}..{rows.stop - 1}; the groups before it are journaled: "
                           "a rerun resumes after them", rows=rows, exitcode=code, path=output)
