"""``datagen.distributed.build``: a cache set built by Ray tasks, one shard a task.

>>> import datagen.distributed
>>> cache = datagen.distributed.build("inventory.csv", "out/train", data="npy", target="label", shards=8)

The driver reads the inventory once, fits the encoders and the label classes over all of it and
finds the columns' specs, so that every shard agrees; then one Ray task a shard encodes rows
[K·R/N, (K+1)·R/N) into the ordinary cache ``OUT/<name>-K-of-N.dgcache`` (journaled: a task that
Ray retries after its worker died resumes the groups already written); last, the manifest
``OUT/<name>.dgset`` is written (``datagen.create_set``) and the set is returned opened.

Ray is an optional extra (``pip install 'datagen[distributed]'``), imported only when a build
runs: ``import datagen`` never imports it. docs/SCALE.md tells the design and a Slurm recipe.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._errors import CacheError, OptionError, RecordError, WorkerDiedError
from ._protocol import Cache

__all__ = ["build", "shard_path", "ShardFailedError", "ShardInterruptedError", "BUILT_IN_DECODERS"]

#: The CLI's decoders (``datagen cache build --data NAME``): ``data=`` one of these runs the
#: engine's decoder, through the ``datagen`` CLI, in each task.
BUILT_IN_DECODERS = ("text", "npy", "raw", "utf8", "image")
_CLI_TARGETS = {"label": "label", "onehot": "onehot", "categorical": "onehot", "int": "int", "float": "float"}

Resources = Union[None, Mapping[str, float], Callable[[int], Mapping[str, float]]]


class _ShardError(CacheError):
    """An error of one shard's task: ``shard`` is K of ``shards`` N, ``path`` the shard's cache."""

    shard: Optional[int]
    shards: Optional[int]

    def __init__(self, message: str, shard: Optional[int] = None, shards: Optional[int] = None,
                 path: Optional[str] = None):
        CacheError.__init__(self, message, path)
        self.shard = shard
        self.shards = shards

    def _message_only(self) -> None:
        self.shard = self.shards = None


class ShardFailedError(_ShardError):
    """A shard's Ray task failed for a reason of Ray's (its worker or node died and the retries ran
    out, or it was cancelled); ``shard`` is K of ``shards`` N, ``path`` the shard's cache."""


class ShardInterruptedError(_ShardError):
    """A shard's build was cut off from outside (the CLI killed by a signal, an encoding worker
    process died): Ray retries the task, which resumes the shard's journal."""


def shard_path(output_dir: Union[str, "os.PathLike[str]"], shard: int, shards: int) -> str:
    """Where :func:`build` writes shard ``shard`` of ``shards``:
    ``OUT/<basename of OUT>-K-of-N.dgcache`` (K and N zero-padded to at least 5 digits)."""
    directory = os.fspath(output_dir)
    name = _set_name(directory)
    width = max(5, len(str(shards - 1)))
    return os.path.join(directory, f"{name}-{shard:0{width}d}-of-{shards:0{width}d}.dgcache")


def _set_name(directory: str) -> str:
    name = os.path.basename(os.path.normpath(os.path.abspath(directory)))
    if not name:
        raise OptionError(f"the output folder {directory!r} has no name to give the set")
    return name


@dataclass
class _ShardTask:
    """What one Ray task receives besides its job: where to write and how to name itself."""

    shard: int
    shards: int
    path: str
    first_row: int
    rows: int
    cpus: int
    force: bool


def build(inventory: Any, output_dir: Union[str, "os.PathLike[str]"], data: Any, target: Any = None, *,
          shards: int, ray_address: Optional[str] = None, num_cpus: Optional[int] = None, cpus_per_task: int = 1,
          resources: Resources = None, max_retries: int = 3, id_column: Optional[str] = "id",
          target_column: str = "target", on_error: str = "fail", codec: str = "lz4", force: bool = False,
          data_dir: Optional[str] = None, cli: Optional[str] = None, cli_options: Sequence[str] = (),
          runtime_env: Optional[Dict[str, Any]] = None, backend: Optional[str] = None) -> Cache:
    """Builds the cache set ``output_dir/<basename of output_dir>.dgset`` from ``inventory``, one
    Ray task a shard, and returns it opened (:func:`datagen.open` of the manifest).

    ``data``: Python encoders, exactly as :func:`datagen.build` takes them (fitted once, in this
    process, then sent to the tasks with cloudpickle), or the name of one of the CLI's decoders
    (:data:`BUILT_IN_DECODERS`: ``"image"``, ``"npy"``, ``"text"``…), which each task runs through
    the ``datagen`` CLI (``cli``, else ``$DATAGEN_CLI``, else ``datagen`` on PATH) as
    ``datagen cache build INVENTORY --shard K/N --classes-from CLASSES`` with ``data_dir``,
    ``codec``, ``on_error`` and ``cli_options`` (more CLI options, e.g. ``["--max-side", "256"]``);
    the inventory is then a CSV path every node reads (a DataFrame is written beside the shards).
    ``target``: as :func:`datagen.build` (with a CLI decoder: a string or None).

    ``shards``: N, the number of shards and tasks; a shard may get no rows (a valid 0-row cache).
    ``ray_address``: the cluster to run on (``"HOST:PORT"``, ``"ray://…"``, or ``"auto"``: the one
    ``$RAY_ADDRESS`` or the latest ``ray start`` names); without it, the Ray this process already
    joined, else a new local cluster started here with ``num_cpus`` CPUs (default: the CPUs this
    process may use) and shut down at the end (with token auth, its token kept in this process's
    environment rather than written to ``~/.ray``, when Ray was not loaded yet and no
    ``RAY_AUTH_*`` variable is set). ``cpus_per_task``: the CPUs each task asks Ray for (and its
    encoding processes when more than 1). ``backend``: the set's reader, as :func:`datagen.open`.
    ``resources``: custom Ray resources each task asks for, a mapping or a function of the shard
    number (to place shards on chosen nodes). ``max_retries``: how often Ray reruns a task whose
    worker or node died, or whose build was cut off; the rerun resumes the shard's journal.
    Shards already built from the same rows and encoders are kept unless ``force``.
    ``runtime_env`` is handed to ``ray.init``.

    Every error is a :class:`CacheError` naming the shard (``shard K/N (PATH)``): a failing
    record raises :class:`RecordError` with its inventory row and id, a task Ray gave up on
    :class:`ShardFailedError`.
    """
    if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
        raise OptionError(f"shards must be a positive int, not {shards!r}")
    if not isinstance(cpus_per_task, int) or isinstance(cpus_per_task, bool) or cpus_per_task < 1:
        raise OptionError(f"cpus_per_task must be a positive int, not {cpus_per_task!r}")
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise OptionError(f"max_retries must be an int of at least 0, not {max_retries!r}")
    if num_cpus is not None and (not isinstance(num_cpus, int) or num_cpus < 1):
        raise OptionError(f"num_cpus must be a positive int or None, not {num_cpus!r}")
    if isinstance(cli_options, str) or not all(isinstance(one, str) for one in cli_options):
        raise OptionError(f"cli_options must be a list of strings (one a CLI argument), not {cli_options!r}")
    directory = os.fspath(output_dir)
    name = _set_name(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise CacheError(f"cannot make the output folder {directory}: {error}", directory) from error
    manifest = os.path.join(directory, name + ".dgset")
    _check_ray()

    payloads: Sequence[Any]
    if isinstance(data, str):
        payloads, tasks = _cli_plan(inventory, directory, data, target, shards, id_column, target_column, on_error,
                                    codec, force, data_dir, cli, cli_options, cpus_per_task)
        runner: Callable[..., Dict[str, Any]] = _run_cli_shard
    else:
        payloads, tasks = _python_plan(inventory, directory, data, target, shards, id_column, target_column,
                                       on_error, codec, force, cpus_per_task)
        runner = _run_python_shard

    if tasks:
        ray, owned = _connect(ray_address, num_cpus, runtime_env)
        try:
            _run_tasks(ray, runner, payloads, tasks, resources, max_retries)
        finally:
            if owned:
                ray.shutdown()

    from . import open as open_cache
    from ._set_create import create_set
    create_set(manifest, [shard_path(directory, index, shards) for index in range(shards)])
    return open_cache(manifest, backend=backend)


# --- Ray ------------------------------------------------------------------------------------------

def _check_ray() -> None:
    import importlib.util
    if importlib.util.find_spec("ray") is None:
        raise CacheError("datagen.distributed needs Ray: pip install 'datagen[distributed]'")


def _connect(address: Optional[str], num_cpus: Optional[int],
             runtime_env: Optional[Dict[str, Any]]) -> Tuple[Any, bool]:
    """Ray, joined to the cluster at ``address`` or to a new local one, and whether this call
    joined it (False when this process already had: that cluster stays up)."""
    if address is None and "ray" not in sys.modules and not any(
            os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
        # A local cluster gets token auth (as Ray 2.60 gives new clusters) with a token of this
        # process's own, in its environment: Ray would otherwise write one to ~/.ray/auth_token,
        # which every Ray of this user (other clusters on the machine) would then pick up.
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    import ray
    if ray.is_initialized():
        return ray, False
    from ._build import default_workers
    options: Dict[str, Any] = {"runtime_env": runtime_env} if runtime_env else {}
    try:
        if address is None:  # "local": a new cluster, never one another process of this machine started
            ray.init(address="local", num_cpus=num_cpus or default_workers(), include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except Exception as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise CacheError(f"cannot start or join {where}: {type(error).__name__}: {error}") from error
    return ray, True


def _run_tasks(ray: Any, runner: Callable[..., Dict[str, Any]], payloads: Sequence[Any], tasks: List[_ShardTask],
               resources: Resources, max_retries: int) -> None:
    """Runs one task a shard and waits for all; the first failure cancels the others and raises
    (its shard named)."""
    remote = ray.remote(runner)
    payload_refs = [ray.put(one) for one in payloads]
    if len(payload_refs) == 1:  # one payload shared by every task (the CLI's command)
        payload_refs = payload_refs * len(tasks)
    pending: Dict[Any, _ShardTask] = {}
    for task, payload in zip(tasks, payload_refs):
        wanted = resources(task.shard) if callable(resources) else resources
        options: Dict[str, Any] = {"num_cpus": task.cpus, "max_retries": max_retries,
                                   "retry_exceptions": [ShardInterruptedError]}
        if wanted:
            options["resources"] = dict(wanted)
        ref = remote.options(**options).remote(payload, task)
        pending[ref] = task
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as error:
                    raise _driver_error(error, task) from _cause(error)
    except BaseException:
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:
                pass
        raise


def _cause(error: BaseException) -> Optional[BaseException]:
    """What the driver's error chains to: the task error's own cause (carried across by
    :func:`_named`, as pickling drops ``__cause__``), or Ray's error."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, CacheError):
        carried = cause.__dict__.get("_task_cause")
        return carried if isinstance(carried, BaseException) else cause.__cause__
    return cause if isinstance(cause, BaseException) else error


def _driver_error(error: BaseException, task: _ShardTask) -> CacheError:
    """A task's failure as the driver raises it: the task's own :class:`CacheError` (it names
    the shard already), else a :class:`ShardFailedError` naming the shard."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, CacheError):
        return cause
    if isinstance(error, CacheError) and type(error).__module__.startswith("datagen"):
        return error
    what = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else f"{type(error).__name__}: {error}"
    return ShardFailedError(f"{_where(task)}: the Ray task failed: {what}", task.shard, task.shards, task.path)


def _where(task: _ShardTask) -> str:
    last = task.first_row + task.rows - 1
    rows = f"inventory rows {task.first_row}..{last}" if task.rows else "no rows"
    return f"shard {task.shard}/{task.shards} ({task.path}; {rows})"


def _named(error: CacheError, task: _ShardTask, cause: Optional[BaseException] = None) -> CacheError:
    """``error`` with the shard named first in its message, ``shard`` and ``shards`` set, its row
    ranges counted in the inventory's rows, and ``cause`` (when it pickles) kept to chain it to
    again in the driver."""
    if cause is not None:
        import pickle
        try:
            pickle.loads(pickle.dumps(cause))
            error.__dict__["_task_cause"] = cause
        except Exception:
            pass
    prefix = _where(task) + ": "
    message = str(error)
    if not message.startswith(prefix):
        error.args = (prefix + message,) + tuple(error.args[1:])
    error.shard = task.shard  # type: ignore[attr-defined]
    error.shards = task.shards  # type: ignore[attr-defined]
    if error.path is None:
        error.path = task.path
    return error


# --- Python encoders ------------------------------------------------------------------------------

def _python_plan(inventory: Any, directory: str, data: Any, target: Any, shards: int, id_column: Optional[str],
                 target_column: str, on_error: str, codec: str, force: bool,
                 cpus: int) -> Tuple[List[bytes], List[_ShardTask]]:
    """Reads the inventory, fits the encoders and probes the specs once, and cuts one job a shard
    still to build (pickled with cloudpickle)."""
    from ._build import fit, is_fresh, prepare, shard_job
    prepared = prepare(inventory, data, target, id_column=id_column, target_column=target_column,
                       on_error=on_error, codec=codec)
    todo = [index for index in range(shards)
            if force or not is_fresh(shard_path(directory, index, shards), prepared.digest((index, shards)), codec)]
    if not todo:
        return [], []
    import cloudpickle
    probe_file = os.path.join(directory, _set_name(directory))
    state = fit(prepared, probe_file, prepared.digest(None))
    payloads: List[bytes] = []
    tasks: List[_ShardTask] = []
    for index in todo:
        job = shard_job(prepared, state, (index, shards), prepared.digest((index, shards)))
        try:
            payloads.append(cloudpickle.dumps(job))
        except Exception as error:
            raise CacheError(f"the encoders cannot be sent to the Ray tasks (cloudpickle): "
                             f"{type(error).__name__}: {error}") from error
        tasks.append(_ShardTask(index, shards, os.path.abspath(shard_path(directory, index, shards)), job.first_row,
                                job.records, cpus, force))
    try:
        os.unlink(probe_file + ".partial.specs")
    except OSError:
        pass
    return payloads, tasks


def _run_python_shard(payload: bytes, task: _ShardTask) -> Dict[str, Any]:
    """A Ray task: encodes one shard's job (in this worker, or a pool of ``task.cpus`` processes)."""
    import cloudpickle

    from ._build import run_job
    try:
        job = cloudpickle.loads(payload)
        run_job(job, task.path, 0 if task.cpus == 1 else task.cpus)
    except WorkerDiedError as error:
        raise _named(ShardInterruptedError(str(error), task.shard, task.shards, task.path), task) from error
    except CacheError as error:
        raise _named(error, task, error.__cause__) from error.__cause__
    except Exception as error:
        raise _named(CacheError(f"{type(error).__name__}: {error}", task.path), task, error) from error
    return {"path": task.path, "rows": task.rows}


# --- the CLI's decoders ---------------------------------------------------------------------------

@dataclass
class _CliJob:
    """One CLI build command, less the shard and output: the same for every task."""

    cli: Optional[str]
    arguments: List[str]


def _cli_plan(inventory: Any, directory: str, data: str, target: Any, shards: int, id_column: Optional[str],
              target_column: str, on_error: str, codec: str, force: bool, data_dir: Optional[str], cli: Optional[str],
              cli_options: Sequence[str], cpus: int) -> Tuple[List[_CliJob], List[_ShardTask]]:
    """The CLI command every task runs, with the label classes fitted here once over the whole
    inventory and written to a class list (``--classes-from``)."""
    from ._build import _inventory, _labels, _pandas, _shard_rows, sorted_classes
    if data not in BUILT_IN_DECODERS:
        raise OptionError(f"unknown decoder {data!r}: the CLI's are {', '.join(BUILT_IN_DECODERS)} "
                          "(or give Python encoders)")
    if target is not None and not (isinstance(target, str) and target in _CLI_TARGETS):
        raise OptionError(f"with the CLI's decoder {data!r}, target must be one of "
                          f"{', '.join(_CLI_TARGETS)} or None, not {target!r}")
    if on_error not in ("fail", "skip"):
        raise OptionError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    if codec not in ("lz4", "lz4hc", "none"):
        raise OptionError(f"codec must be one of lz4, lz4hc, none, not {codec!r}")
    pandas = _pandas()
    frame, csv_path = _inventory(inventory, pandas, id_column)
    name = _set_name(directory)
    if csv_path is None:
        if data_dir is None:
            raise OptionError("an inventory given as a DataFrame or records needs data_dir= (where the ids' files are)")
        csv_path = os.path.join(directory, name + ".inventory.csv")
        frame.to_csv(csv_path, index=False)
    records = len(frame)
    if records == 0:
        raise CacheError("the inventory has no records", csv_path)
    arguments = [os.path.abspath(csv_path), "--data", data, "--codec", codec, "--on-error", on_error,
                 "--target-column", target_column, "--workers", str(cpus),
                 "--target-encoding", _CLI_TARGETS[target] if isinstance(target, str) else "none"]
    if id_column is not None:
        arguments += ["--id-column", id_column]
    if data_dir is not None:
        arguments += ["--data-dir", os.path.abspath(data_dir)]
    if isinstance(target, str) and _CLI_TARGETS[target] in ("label", "onehot"):
        classes = sorted_classes(_labels(frame, target_column, csv_path, pandas))
        bad = [one for one in classes if "\n" in one or "\r" in one or one == ""]
        if bad:
            raise CacheError(f"the class {bad[0]!r} cannot be written to a class list (a line each)", csv_path)
        classes_file = os.path.join(directory, name + ".classes.txt")
        _write_atomically(classes_file, "".join(one + "\n" for one in classes))
        arguments += ["--classes-from", os.path.abspath(classes_file)]
    arguments += list(cli_options)
    if force:
        arguments.append("--force")
    tasks = []
    for index in range(shards):
        rows = _shard_rows(index, shards, records)
        tasks.append(_ShardTask(index, shards, os.path.abspath(shard_path(directory, index, shards)), rows.start,
                                len(rows), cpus, force))
    return [_CliJob(cli, arguments)], tasks


def _write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _find_cli(cli: Optional[str], task: _ShardTask) -> str:
    for candidate in (cli, os.environ.get("DATAGEN_CLI"), shutil.which("datagen")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise _named(CacheError("no datagen CLI on this node: give cli=, set DATAGEN_CLI or put datagen on PATH "
                            "(swift build -c release --product datagen)", task.path), task)


def _run_cli_shard(job: _CliJob, task: _ShardTask) -> Dict[str, Any]:
    """A Ray task: ``datagen cache build … --shard K/N -o SHARD``; a CLI killed by a signal raises
    :class:`ShardInterruptedError` (Ray retries, the journal resumes)."""
    command = [_find_cli(job.cli, task), "cache", "build", *job.arguments, "--shard", f"{task.shard}/{task.shards}",
               "-o", task.path, "--quiet"]
    process = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if process.returncode == 0:
        return {"path": task.path, "rows": task.rows}
    text = process.stderr.decode("utf-8", "replace").strip()
    if process.returncode < 0:
        name = signal.Signals(-process.returncode).name if -process.returncode in signal.valid_signals() else \
            str(-process.returncode)
        raise _named(ShardInterruptedError(f"datagen cache build was killed by {name}" + (f": {text}" if text else ""),
                                           task.shard, task.shards, task.path), task)
    message = f"datagen cache build failed (exit status {process.returncode}): {text}"
    record = re.search(r"\brow (\d+)(?: \(line \d+\))?(?:, id '([^']*)')?", text) if process.returncode == 1 else None
    if record is None:
        raise _named(CacheError(message, path=task.path), task)
    # The CLI names a shard's record by its row within the shard (and its inventory line).
    raise _named(RecordError(message, row=task.first_row + int(record[1]), id=record[2], path=task.path), task)
