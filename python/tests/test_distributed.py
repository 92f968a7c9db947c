"""datagen.distributed.build on a real Ray cluster of two nodes on loopback (a head and a joined node,
token auth), tasks placed on both by custom resources; a task killed mid-build and retried by Ray
resumes its shard's journal; the set serves the digest of a single-file build of the same
inventory. The cluster's processes are recorded and stopped by PID (never `ray stop`, which kills
every Ray process of the machine by name)."""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Set

import numpy as np
import pytest

import datagen

pandas = pytest.importorskip("pandas")
cloudpickle = pytest.importorskip("cloudpickle")
# Token auth (Ray 2.60 turns it on for new clusters): the cluster and this driver share a token of
# their own, set before Ray loads (it reads the mode once), never written to ~/.ray.
TOKEN = secrets.token_hex(16)
os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)
os.environ.pop("RAY_ADDRESS", None)
if os.environ.get("DATAGEN_TEST_RAY") == "0":
    ray = pytest.importorskip("ray", reason="DATAGEN_TEST_RAY=0: Ray is not installed")
else:
    import ray  # python/run_tests.sh installs Ray: a missing Ray fails here, loudly, rather than skip

import datagen.distributed  # noqa: E402

pytestmark = pytest.mark.skipif(not datagen.engine_available(), reason="datagen.distributed needs the engine library")

# The encoders below travel to the Ray workers by value: the workers cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROWS = 240
LABELS = ["3", "1", "2", "10", "1", "0", "7"]


# --- the cluster ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children() -> Dict[int, int]:
    """Every process's parent, from /proc."""
    parents: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return parents


def _descendants(root: int) -> Set[int]:
    parents = _children()
    found: Set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if state[state.rindex(")") + 2] == "Z":  # a zombie: reap it when it is ours
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


class Cluster:
    """A head and one joined node, started by `ray start` with their own temp folder and ports, as
    subreaped descendants of this process so that every PID is known."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="dgray-", dir="/tmp")  # short: Ray's socket paths must fit
        self.token = TOKEN
        self.env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0")
        self.env.pop("RAY_ADDRESS", None)
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.pids: Set[int] = set()
        self.before = _descendants(os.getpid())
        self.ray = str(Path(sys.executable).with_name("ray"))
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us

    def _start(self, arguments: List[str], resource: str) -> None:
        command = [self.ray, "start", *arguments, "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
                   "--resources", json.dumps({resource: 1}), "--disable-usage-stats",
                   "--node-manager-port", str(_free_port()), "--object-manager-port", str(_free_port()),
                   "--dashboard-agent-listen-port", str(_free_port()), "--dashboard-agent-grpc-port",
                   str(_free_port()), "--metrics-export-port", str(_free_port()),
                   "--runtime-env-agent-port", str(_free_port()), "--object-store-memory", str(80 << 20)]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120)
        self.pids |= _descendants(os.getpid()) - self.before
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._start(["--head", "--port", str(self.port), "--temp-dir", self.root, "--include-dashboard", "false"],
                    "dg_node_a")
        self._start(["--address", self.address], "dg_node_b")

    def stop(self) -> None:
        """SIGTERM to every process the cluster started (those recorded, and the workers started
        since), SIGKILL after 10 s, each by PID."""
        self.pids |= _descendants(os.getpid()) - self.before
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in self.pids):
            time.sleep(0.2)
            self.pids |= _descendants(os.getpid()) - self.before  # orphans reparented to us meanwhile
        for pid in self.pids:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in self.pids):
            time.sleep(0.1)
        ctypes.CDLL(None, use_errno=True).prctl(36, 0, 0, 0, 0)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """The two-node cluster (this process's environment holds its token since the import)."""
    running = Cluster()
    try:
        running.start()
        yield running
    finally:
        if ray.is_initialized():
            ray.shutdown()
        running.stop()
    assert not any(_alive(pid) for pid in running.pids), "a process of the test's Ray cluster outlived it"


# --- data and encoders ----------------------------------------------------------------------------

def _inventory(directory: Path, count: int = ROWS, label=lambda row, count: LABELS[row % len(LABELS)]) -> Path:
    """``count`` numpy.savetxt files of a 4×4 array and an inventory in the pandas layout."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [",id,target"]
    for row in range(count):
        np.savetxt(directory / f"r{row}.txt", (np.arange(16, dtype=np.float64).reshape(4, 4) + row) % 251)
        lines.append(f"{row},r{row},{label(row, count)}")
    (directory / "inventory.csv").write_text("\n".join(lines) + "\n")
    return directory / "inventory.csv"


class TextEncoder:
    """Reads the record's text file; logs ``row pid node`` of each record it encodes to ``log``
    (when given) and kills its own process, once (the first to create ``marker``), at ``kill_at``."""

    def __init__(self, directory: Path, log: Path | None = None, kill_at: str | None = None,
                 marker: Path | None = None):
        self.directory = str(directory)
        self.log = None if log is None else str(log)
        self.kill_at = kill_at
        self.marker = None if marker is None else str(marker)

    def transform(self, record):  # type: ignore[no-untyped-def]
        identity = record["id"]
        if self.log is not None:
            node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "driver"
            with open(self.log, "a") as log:
                log.write(f"{identity} {os.getpid()} {node}\n")
        if identity == self.kill_at and self.marker is not None:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return np.loadtxt(os.path.join(self.directory, identity + ".txt"), dtype=np.float32)


class FailingEncoder(TextEncoder):
    """Fails on the record ``bad``."""

    def __init__(self, directory: Path, bad: str):
        super().__init__(directory)
        self.bad = bad

    def transform(self, record):  # type: ignore[no-untyped-def]
        if record["id"] == self.bad:
            raise ValueError("a bad record")
        return super().transform(record)


class DyingEncoder(TextEncoder):
    """Kills its own process at the record ``fatal``, every time."""

    def __init__(self, directory: Path, fatal: str):
        super().__init__(directory)
        self.fatal = fatal

    def transform(self, record):  # type: ignore[no-untyped-def]
        if record["id"] == self.fatal and ray.is_initialized():
            os.kill(os.getpid(), signal.SIGKILL)
        return super().transform(record)


def _placed(shard: int) -> Dict[str, float]:
    return {"dg_node_a" if shard % 2 == 0 else "dg_node_b": 1}


# --- tests ----------------------------------------------------------------------------------------

def test_a_set_built_on_two_nodes_resumes_a_killed_task_and_serves_the_single_file_digest(tmp_path, cluster):
    inventory = _inventory(tmp_path / "data")
    log, marker = tmp_path / "encoded.log", tmp_path / "killed"
    shards = 4
    # Shard 1 holds rows 60..119 in groups of 16: the kill at row 100 comes after 2 committed groups.
    encoder = TextEncoder(tmp_path / "data", log=log, kill_at="r100", marker=marker)
    out = tmp_path / "train"
    built = datagen.distributed.build(inventory, out, encoder, "label", shards=shards, ray_address=cluster.address,
                                      resources=_placed, max_retries=2)
    assert marker.exists(), "the encoder never killed its worker"
    manifest = out / "train.dgset"
    assert manifest.exists() and json.loads(manifest.read_text())["rows"] == ROWS
    assert [entry["path"] for entry in json.loads(manifest.read_text())["shards"]] == \
        [f"train-{index:05d}-of-{shards:05d}.dgcache" for index in range(shards)]

    single = datagen.build(inventory, tmp_path / "single.dgcache", TextEncoder(tmp_path / "data"), "label",
                           workers=1, progress=False)
    assert built.rows == single.rows == ROWS
    by_numpy = datagen.open(manifest, backend="numpy")  # the pure numpy reader of the same set
    for options in ({"batch_size": 16, "epochs": 2}, {"batch_size": 7, "shuffle": "none"}):
        assert built.digest(**options) == single.digest(**options) == by_numpy.digest(**options)

    entries = [line.split() for line in log.read_text().splitlines()]
    nodes = {node for _, _, node in entries if node != "driver"}
    assert len(nodes) == 2, f"the tasks ran on {len(nodes)} node(s), not on both"
    encoded = [int(identity[1:]) for identity, _, _ in entries]
    # Shard 1's first two groups (rows 60..91) were committed before the kill: the retry resumed
    # after them, so each of those rows was encoded once (row 0 once more: the driver's probe).
    assert all(encoded.count(row) == 1 for row in range(60, 92)), "the retried task did not resume the journal"
    assert encoded.count(100) == 2 and len({pid for identity, pid, _ in entries if identity == "r100"}) == 2


def test_shards_without_rows_are_empty_caches_of_the_set(tmp_path, cluster):
    inventory = _inventory(tmp_path / "data", count=3)
    out = tmp_path / "tiny"
    built = datagen.distributed.build(inventory, out, TextEncoder(tmp_path / "data"), "onehot", shards=5,
                                      ray_address=cluster.address)
    rows = [entry["rows"] for entry in json.loads((out / "tiny.dgset").read_text())["shards"]]
    assert rows == [0, 1, 0, 1, 1] and built.rows == 3
    empty = datagen.open(datagen.distributed.shard_path(out, 0, 5))
    assert empty.rows == 0
    single = datagen.build(inventory, tmp_path / "single.dgcache", TextEncoder(tmp_path / "data"), "onehot",
                           workers=1, progress=False)
    assert built.digest(batch_size=2) == single.digest(batch_size=2)


def test_a_failing_record_raises_a_record_error_naming_the_shard_and_the_inventory_row(tmp_path, cluster):
    inventory = _inventory(tmp_path / "data", count=40)
    with pytest.raises(datagen.RecordError) as caught:
        datagen.distributed.build(inventory, tmp_path / "bad", FailingEncoder(tmp_path / "data", "r25"), "label",
                                  shards=2, ray_address=cluster.address, max_retries=0)
    error = caught.value
    assert error.row == 25 and error.id == "r25" and getattr(error, "shard", None) == 1
    assert str(error).startswith("shard 1/2 (") and "row 25 (id 'r25')" in str(error)
    assert isinstance(error.__cause__, ValueError)


def test_a_task_whose_retries_run_out_raises_a_shard_failed_error_naming_the_shard(tmp_path, cluster):
    inventory = _inventory(tmp_path / "data", count=40)
    with pytest.raises(datagen.distributed.ShardFailedError) as caught:
        datagen.distributed.build(inventory, tmp_path / "dies", DyingEncoder(tmp_path / "data", "r30"), "label",
                                  shards=2, ray_address=cluster.address, max_retries=1)
    error = caught.value
    assert isinstance(error, datagen.CacheError) and error.shard == 1 and error.shards == 2
    assert str(error).startswith("shard 1/2 (") and "inventory rows 20..39" in str(error)
    assert error.path is not None and error.path.endswith("dies-00001-of-00002.dgcache")
    assert not (tmp_path / "dies" / "dies.dgset").exists()


def test_the_cli_decoders_build_a_set_with_classes_fitted_once_and_a_killed_cli_retried(tmp_path, cluster, cli):
    # Sorted labels 0..9: shard 0 of 3 holds labels 0..3 only.
    inventory = _inventory(tmp_path / "data", count=50, label=lambda row, count: str(row * 10 // count))
    out = tmp_path / "cli"
    # The CLI of shard 1 is killed by SIGKILL the first time: Ray retries the task.
    marker = tmp_path / "cli-killed"
    wrapper = tmp_path / "datagen-once-killed"
    wrapper.write_text(f"""#!/bin/sh
case "$*" in *"--shard 1/3"*) if mkdir {marker} 2>/dev/null; then kill -9 $$; fi;; esac
exec {cli.binary} "$@"
""")
    wrapper.chmod(0o755)
    built = datagen.distributed.build(inventory, out, "text", "label", shards=3, ray_address=cluster.address,
                                      resources=_placed, cli=str(wrapper), cli_options=["--id-suffix", ".txt"])
    assert marker.exists(), "the CLI was never killed"
    cli("cache", "build", inventory, "-o", tmp_path / "single.dgcache", "--id-suffix", ".txt", "--quiet")
    single = datagen.open(tmp_path / "single.dgcache")
    assert built.rows == single.rows == 50
    assert built.digest(batch_size=8, epochs=2) == single.digest(batch_size=8, epochs=2)
    classes = json.loads(cli("cache", "info", datagen.distributed.shard_path(out, 0, 3), "--json").stdout)["classes"]
    assert classes == [str(one) for one in range(10)]


def test_without_an_address_a_local_cluster_runs_the_build_and_shuts_down(tmp_path, cluster):
    inventory = _inventory(tmp_path / "data", count=30)
    assert not ray.is_initialized()
    built = datagen.distributed.build(inventory, tmp_path / "local", TextEncoder(tmp_path / "data"), "int",
                                      shards=2, num_cpus=1)
    assert not ray.is_initialized(), "the local cluster was left running"
    single = datagen.build(inventory, tmp_path / "single.dgcache", TextEncoder(tmp_path / "data"), "int",
                           workers=1, progress=False)
    assert built.digest(batch_size=4) == single.digest(batch_size=4)


def test_importing_datagen_does_not_import_ray():
    code = "import sys, datagen, datagen.distributed; print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
