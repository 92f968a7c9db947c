"""The side-by-side benchmark of issue 6; `tools/bench/run` prepares its environment and calls it.

    bench.py --datagen BIN --work DIR --repo REPO [--records 60000] [--epochs 3] [--workers 2]
    bench.py tool NAME --work DIR [...]        (one measured tool, in its own process; prints JSON)

The driver writes the data set, builds the caches, then runs every tool in a child process (so each
has its own peak RSS) on the same rows in the same order: epoch e of every tool visits
`datagen.epoch_permutation(EpochOrder("full"), seed, e, rows)` in batches of 128 (the last one
partial), delivering float32 features and int64 labels as contiguous arrays. It writes
docs/BENCHMARKS.md and docs/benchmarks.svg.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import report  # noqa: E402  (tools/bench/report.py)

SCALE = "0.00392156862745098"  # 1 / 255
SEED = 0


# ----------------------------------------------------------------------------------------------
# Helpers shared by the driver and the tools


def peak_rss_bytes():
    """VmHWM of this process, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def evict(paths):
    """Drops the files' pages from the page cache (posix_fadvise DONTNEED after fsync)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def file_bytes(paths):
    return sum(os.path.getsize(path) for path in paths)


# ----------------------------------------------------------------------------------------------
# The measured tools (child processes)


def orders(rows, epochs, shuffle):
    import datagen
    order = datagen.EpochOrder(shuffle)
    return [datagen.epoch_permutation(order, SEED, epoch, rows) for epoch in range(epochs)]


def timed_epochs(serve, epochs):
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        serve(epoch)
        times.append(time.perf_counter() - start)
    return times


def batches_of(order, size):
    return [order[start:start + size] for start in range(0, len(order), size)]


def digest_of(batches):
    sha = hashlib.sha256()
    for columns in batches:
        for column in columns:
            sha.update(column.tobytes())
    return sha.hexdigest()


def tool_numpy(args, mmap):
    import numpy as np
    start = time.perf_counter()
    x = np.load(os.path.join(args.work, "x.npy"), mmap_mode="r" if mmap else None)
    y = np.load(os.path.join(args.work, "y.npy"), mmap_mode="r" if mmap else None)
    opened = time.perf_counter() - start
    plans = [batches_of(order, args.batch_size) for order in orders(len(y), args.epochs, "full")]

    def serve(epoch):
        for index in plans[epoch]:
            xb = x[index]
            yb = y[index]
            del xb, yb

    times = timed_epochs(serve, args.epochs)
    peak = peak_rss_bytes()
    digest = digest_of((x[index], y[index]) for plan in plans for index in plan)
    return {"open_seconds": opened, "epoch_seconds": times, "peak_rss_bytes": peak, "digest": digest,
            "samples": len(y), "bytes_per_sample": x.itemsize * 784 + 8}


def tool_arrow(args):
    import numpy as np
    import pyarrow as pa
    import pyarrow.ipc
    path = os.path.join(args.work, "mnist-lz4.arrow")
    start = time.perf_counter()
    with pa.memory_map(path) as source:
        # One chunk per column, as a user serving random rows would: Table.take on a column of
        # several chunks (the file holds record batches of 8,192 rows) concatenates them all on
        # every call, copying the whole column per batch.
        table = pa.ipc.open_file(source).read_all().combine_chunks()
    opened = time.perf_counter() - start
    plans = [batches_of(order, args.batch_size) for order in orders(table.num_rows, args.epochs, "full")]

    def gather(index):
        taken = table.take(pa.array(index))
        x = taken.column("x").combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(-1, 28, 28)
        y = taken.column("y").to_numpy()
        return x, y

    def serve(epoch):
        for index in plans[epoch]:
            gather(index)

    times = timed_epochs(serve, args.epochs)
    peak = peak_rss_bytes()
    digest = digest_of(gather(index) for plan in plans for index in plan)
    del np
    return {"open_seconds": opened, "epoch_seconds": times, "peak_rss_bytes": peak, "digest": digest,
            "samples": table.num_rows, "bytes_per_sample": 784 * 4 + 8}


def tool_torch(args, batched=False):
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, Sampler, TensorDataset
    # One intra-op thread: with the default (one per core) the OpenMP workers of each small
    # gather spin against the machine's other jobs and the epochs run 10-25x slower.
    torch.set_num_threads(1)
    start = time.perf_counter()
    x = torch.from_numpy(np.load(os.path.join(args.work, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(args.work, "y.npy")))
    dataset = TensorDataset(x, y)
    opened = time.perf_counter() - start
    epoch_orders = orders(len(y), args.epochs, "full")

    class EpochBatches(Sampler):
        """The epoch's permutation in batches of indices (a batch sampler)."""

        def __init__(self):
            self.epoch = 0

        def __iter__(self):
            batches = batches_of(epoch_orders[self.epoch], args.batch_size)
            if batched:
                return iter([torch.from_numpy(index) for index in batches])
            return iter([index.tolist() for index in batches])

        def __len__(self):
            return -(-len(y) // args.batch_size)

    class WholeBatches(torch.utils.data.Dataset):
        """Indexed by a whole batch of indices: one gather per batch instead of one per row."""

        def __getitem__(self, index):
            return x[index], y[index]

        def __len__(self):
            return len(y)

    sampler = EpochBatches()
    if batched:
        loader = DataLoader(WholeBatches(), sampler=sampler, batch_size=None, num_workers=0)
    else:
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=0)

    def serve(epoch):
        sampler.epoch = epoch
        for xb, yb in loader:
            del xb, yb

    times = timed_epochs(serve, args.epochs)
    peak = peak_rss_bytes()

    def delivered():
        for epoch in range(args.epochs):
            sampler.epoch = epoch
            for xb, yb in loader:
                yield xb.numpy(), yb.numpy()

    return {"open_seconds": opened, "epoch_seconds": times, "peak_rss_bytes": peak, "digest": digest_of(delivered()),
            "samples": len(y), "bytes_per_sample": 784 * 4 + 8, "threads": torch.get_num_threads()}


def tool_package(args, backend):
    import datagen
    path = os.path.join(args.work, "f32-lz4.dgcache")
    start = time.perf_counter()
    cache = datagen.open(path, backend=backend)
    opened = time.perf_counter() - start
    extra = {"workers": args.workers} if backend == "engine" else {}

    def serve(epoch):
        for batch in cache.batches(batch_size=args.batch_size, shuffle="full", seed=SEED, epoch=epoch, **extra):
            del batch

    times = timed_epochs(serve, args.epochs)
    peak = peak_rss_bytes()
    digest = cache.digest(batch_size=args.batch_size, epochs=args.epochs, shuffle="full", seed=SEED)
    # numpy X[idx] in this same process, on the same epochs, after the timed ones: the ratio the
    # Python issue asks for (engine against numpy in one interpreter).
    import numpy as np
    x, y = np.load(os.path.join(args.work, "x.npy")), np.load(os.path.join(args.work, "y.npy"))
    plans = [batches_of(order, args.batch_size) for order in orders(len(y), args.epochs, "full")]

    def gather(epoch):
        for index in plans[epoch]:
            xb, yb = x[index], y[index]
            del xb, yb

    # Pairs of epochs, the package's then numpy's, alternating: the machine is shared and its speed
    # drifts by tens of percent within a minute, so each pair's ratio is taken close in time and
    # the median of the pairs is reported.
    ratios = []
    for epoch in range(1, 8):
        ours = timed_epochs(lambda _: serve(epoch % args.epochs), 1)[0]
        theirs = timed_epochs(lambda _: gather(epoch % args.epochs), 1)[0]
        ratios.append(theirs / ours)
    return {"open_seconds": opened, "epoch_seconds": times, "peak_rss_bytes": peak, "digest": digest,
            "samples": cache.rows, "bytes_per_sample": 784 * 4 + 8, "same_process_ratios": ratios}


def tool_torch_cache(args, workers):
    """PyTorch's DataLoader over the cache (``datagen.torch.CacheIterable``, engine backend)."""
    import torch
    from torch.utils.data import DataLoader
    from datagen.torch import CacheIterable
    torch.set_num_threads(1)
    path = os.path.join(args.work, "f32-lz4.dgcache")
    start = time.perf_counter()
    dataset = CacheIterable(path, args.batch_size, shuffle="full", seed=SEED)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers)
    opened = time.perf_counter() - start

    def serve(epoch):
        dataset.set_epoch(epoch)
        for batch in loader:
            del batch

    times = timed_epochs(serve, args.epochs)
    peak = peak_rss_bytes()

    def delivered():
        for epoch in range(args.epochs):
            dataset.set_epoch(epoch)
            for features, labels in loader:  # CacheIterable yields (x, y) tensors
                yield features.numpy(), labels.numpy()

    return {"open_seconds": opened, "epoch_seconds": times, "peak_rss_bytes": peak, "digest": digest_of(delivered()),
            "samples": _rows(path), "bytes_per_sample": 784 * 4 + 8}


def tool_torch_transfer(args, workers):
    """PyTorch's DataLoader with ``workers`` processes over batches of the cache's shapes that are
    never filled: what moving each batch from a worker to the main process costs, alone."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, IterableDataset
    torch.set_num_threads(1)
    rows, batch_size = _rows(os.path.join(args.work, "f32-lz4.dgcache")), args.batch_size

    class Empty(IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            worker, count = (0, 1) if info is None else (info.id, info.num_workers)
            for start in range(worker * batch_size, rows, count * batch_size):
                size = min(batch_size, rows - start)
                yield (torch.from_numpy(np.empty((size, 28, 28), np.float32)),
                       torch.from_numpy(np.empty(size, np.int64)))

    loader = DataLoader(Empty(), batch_size=None, num_workers=workers)

    def serve(epoch):
        for batch in loader:
            del batch

    times = timed_epochs(serve, args.epochs)
    return {"open_seconds": 0.0, "epoch_seconds": times, "peak_rss_bytes": peak_rss_bytes(), "digest": "",
            "samples": rows, "bytes_per_sample": 784 * 4 + 8}


def _rows(path):
    import datagen
    return datagen.open(path, backend="numpy").rows


def tool_keras(args, source):
    """Keras 3 (torch backend) ``fit`` of one small model, over the cache (``CacheDataset``) or
    over the same arrays in memory; reports each epoch's seconds (steps/s = batches / seconds)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np
    keras.utils.set_random_seed(1)
    path = os.path.join(args.work, "f32-lz4.dgcache")
    start = time.perf_counter()
    if source == "cache":
        from datagen.keras import CacheDataset
        data = CacheDataset(path, args.batch_size, x="data", y="target", shuffle="full", seed=SEED)
        # The cache's epochs are already fully shuffled; Keras's own shuffle=True would only permute
        # the batch indices, which defeats prefetching (docs/PYTHON.md).
        fit = dict(x=data, shuffle=False)
        rows = _rows(path)
    else:
        x, y = np.load(os.path.join(args.work, "x.npy")), np.load(os.path.join(args.work, "y.npy"))
        fit = dict(x=x, y=y, batch_size=args.batch_size, shuffle=True)
        rows = len(y)
    opened = time.perf_counter() - start
    def new_model():
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                  keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    model = new_model()
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(epochs=args.epochs, verbose=0, callbacks=[Timer()], **fit)
    result = {"open_seconds": opened, "epoch_seconds": times, "peak_rss_bytes": peak_rss_bytes(), "digest": "",
              "samples": rows, "bytes_per_sample": 784 * 4 + 8, "steps": -(-rows // args.batch_size)}
    if source == "cache":
        # The goal's ratio in one process: one-epoch fits over the cache and over the arrays in
        # memory, alternating, each model already traced. The machine is shared and other jobs
        # stall it in bursts, so each fit is timed by its median step: the interval between two
        # ends of training steps (fetching the batch, then training on it), times the steps. The
        # median pair is reported.
        x, y = np.load(os.path.join(args.work, "x.npy")), np.load(os.path.join(args.work, "y.npy"))
        in_memory = new_model()
        in_memory.fit(x[:1280], y[:1280], batch_size=args.batch_size, epochs=1, verbose=0)

        class Steps(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.ends = [time.perf_counter()]

            def on_train_batch_end(self, batch, logs=None):
                self.ends.append(time.perf_counter())

            def median_step(self):
                intervals = sorted(b - a for a, b in zip(self.ends, self.ends[1:]))
                return intervals[len(intervals) // 2]

        steps = Steps()
        ratios = []
        for _ in range(7):
            model.fit(epochs=1, verbose=0, callbacks=[steps], **fit)
            cached = steps.median_step()
            in_memory.fit(x, y, batch_size=args.batch_size, shuffle=True, epochs=1, verbose=0, callbacks=[steps])
            ratios.append(steps.median_step() / cached)
        result["same_process_ratios"] = ratios
    return result


def tool_prepare(args):
    """x.npy / y.npy (the float32 cache's columns, decoded by the Python package), the raw bytes
    compressed by the lz4 command, and pyarrow's LZ4 IPC file."""
    facts, notes = {}, []
    import numpy as np
    import datagen
    columns = datagen.open(os.path.join(args.work, "f32-lz4.dgcache"), backend="numpy").to_numpy()
    x, y = np.ascontiguousarray(columns["data"], dtype=np.float32), columns["target"].astype(np.int64)
    np.save(os.path.join(args.work, "x.npy"), x)
    np.save(os.path.join(args.work, "y.npy"), y)
    facts["zero_fraction"] = float((x == 0).mean())
    facts["decompressed_bytes"] = x.nbytes + y.nbytes
    raw = {"f32": x.tobytes() + y.tobytes(), "u8": np.rint(x * 255).astype(np.uint8).tobytes() + y.tobytes()}
    sizes = {}
    if shutil.which("lz4"):
        for kind, data in raw.items():
            for level in ("1", "9"):
                result = subprocess.run(["lz4", "-" + level, "-c"], input=data, capture_output=True, check=True)
                sizes[f"{kind}-lz4-{level}"] = len(result.stdout)
        sizes["raw-f32"], sizes["raw-u8"] = len(raw["f32"]), len(raw["u8"])
    else:
        notes.append("the lz4 command is missing: no comparison with lz4 -1 / -9")
    facts["lz4_cli"] = sizes
    # Like with like: liblz4's block compressors (what `lz4 -1` and `lz4 -9` run) on the cache's
    # own units: one row of features each, and the labels cut where the cache cuts its label units
    # (one per row group), read from the cache's first-row table. The system's liblz4 is called
    # (as the cache and the lz4 command do): python-lz4 bundles a liblz4 built with other settings,
    # whose fast compressor gives other sizes (on the uint8 rows, 1.2% fewer bytes in all).
    try:
        import ctypes
        import ctypes.util
        from datagen._format import CacheFileReader
        liblz4 = ctypes.CDLL(ctypes.util.find_library("lz4") or "liblz4.so.1")
        scratch = ctypes.create_string_buffer(1 << 20)

        def compressed(data, level):
            if level == 1:
                return liblz4.LZ4_compress_default(data, scratch, len(data), len(scratch))
            return liblz4.LZ4_compress_HC(data, scratch, len(data), len(scratch), level)

        units = {"f32": x, "u8": np.rint(x * 255).astype(np.uint8)}
        for kind, features in units.items():
            reader = CacheFileReader(os.path.join(args.work, f"{kind}-lz4.dgcache"))
            target = next(column for column in reader.columns if column.role == "target")
            _, _, _, _, firsts, ends, _ = reader.unit_plan(target)
            labels = [y[int(first):int(end)].tobytes() for first, end in zip(firsts, ends)]
            reader.close()
            rows = [row.tobytes() for row in features]
            fast = sum(compressed(unit, 1) for unit in rows + labels)
            high = sum(compressed(unit, 9) for unit in rows + labels)
            facts.setdefault("lz4_units", {})[f"{kind}-lz4-1"] = fast
            facts["lz4_units"][f"{kind}-lz4-9"] = high
    except OSError:
        notes.append("liblz4 could not be loaded: no per-unit comparison with lz4 -1 / -9")
    try:
        import pyarrow as pa
        import pyarrow.ipc
        table = pa.table({"x": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 784), "y": pa.array(y)})
        path = os.path.join(args.work, "mnist-lz4.arrow")
        with pa.OSFile(path, "wb") as sink:
            with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
                writer.write_table(table, max_chunksize=8192)
        facts["arrow_bytes"] = os.path.getsize(path)
    except ImportError:
        facts["arrow_bytes"] = None
    return {"facts": facts, "notes": notes}


def run_tool(argv):
    # No row uses BLAS; left at its default, OpenBLAS starts a thread per core at numpy's import
    # check, and they spin against the measured threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(prog="bench.py tool")
    parser.add_argument("name", choices=["prepare", "numpy", "memmap", "arrow", "torch", "torch-batched", "engine",
                                         "numpy-backend", "torch-cache-0", "torch-cache-2", "torch-transfer-2", "keras-cache",
                                         "keras-memory"])
    parser.add_argument("--work", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.name == "prepare":
        result = tool_prepare(args)
    elif args.name in ("numpy", "memmap"):
        result = tool_numpy(args, mmap=args.name == "memmap")
    elif args.name == "arrow":
        result = tool_arrow(args)
    elif args.name in ("torch", "torch-batched"):
        result = tool_torch(args, batched=args.name == "torch-batched")
    elif args.name.startswith("torch-transfer"):
        result = tool_torch_transfer(args, workers=int(args.name.rsplit("-", 1)[1]))
    elif args.name.startswith("torch-cache"):
        result = tool_torch_cache(args, workers=int(args.name.rsplit("-", 1)[1]))
    elif args.name.startswith("keras"):
        result = tool_keras(args, args.name.split("-")[1])
    else:
        result = tool_package(args, "engine" if args.name == "engine" else "numpy")
    print(json.dumps(result))


# ----------------------------------------------------------------------------------------------
# The driver


class Driver:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.data = os.path.join(args.work, "data")
        self.inventory = os.path.join(self.data, "inventory.csv")
        self.rows = []          # measured rows, in table order
        self.facts = {}         # sizes, build times, goal inputs
        self.notes = []
        self.commands = []

    def log(self, message):
        print(message, file=sys.stderr, flush=True)

    def command(self, argv):
        """Runs argv as a child; returns its standard output. Its peak RSS (from wait4's rusage:
        the child alone) is kept in self.child_peak."""
        shown = " ".join(argv).replace(self.args.repo + "/", "").replace(self.work + "/", "$WORK/")
        self.log("$ " + shown)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child = subprocess.Popen(argv, stdout=out, stderr=err)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            self.child_peak = usage.ru_maxrss * 1024
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
        if child.returncode != 0:
            raise RuntimeError(f"{shown} failed ({child.returncode}): {stderr.strip()[-2000:]}")
        return stdout

    def remember(self, argv):
        shown = " ".join(argv).replace(self.args.datagen, "datagen").replace(self.work, "$WORK")
        if shown not in self.commands:
            self.commands.append(shown)

    # -- data

    def make_data(self):
        marker = os.path.join(self.data, "records.txt")
        if os.path.exists(marker) and open(marker).read().strip() == str(self.args.records):
            self.log(f"data set of {self.args.records} records already in {self.data}")
        else:
            shutil.rmtree(self.data, ignore_errors=True)
            argv = [self.args.datagen, "demo", "--records", str(self.args.records), "--dir", self.data,
                    "--epochs", "1", "--workers", str(self.args.workers)]
            start = time.perf_counter()
            output = self.command(argv)
            self.facts["demo_seconds"] = time.perf_counter() - start
            self.facts["demo_output"] = output.strip()
            with open(marker, "w") as file:
                file.write(str(self.args.records))
        self.remember([self.args.datagen, "demo", "--records", str(self.args.records), "--dir", "$WORK/data",
                       "--epochs", "1"])
        self.text_files = [os.path.join(self.data, name) for name in os.listdir(self.data) if name.endswith(".txt")
                           and name != "records.txt"]
        self.facts["text_bytes"] = file_bytes(self.text_files)

    def source_options(self, dtype, scale):
        options = ["--data", "text", "--dtype", dtype, "--shape", "28,28", "--id-suffix", ".txt", "--target-encoding", "label"]
        if scale:
            options += ["--scale", SCALE]
        return options

    def build_caches(self):
        builds = {}
        for name, dtype, scale, codec in [("f32-lz4", "float32", True, "lz4"), ("f32-lz4hc", "float32", True, "lz4hc"),
                                          ("f32-none", "float32", True, "none"), ("u8-lz4", "uint8", False, "lz4"),
                                          ("u8-lz4hc", "uint8", False, "lz4hc")]:
            path = os.path.join(self.work, name + ".dgcache")
            argv = [self.args.datagen, "cache", "build", self.inventory, "-o", path, "--codec", codec,
                    "--workers", str(self.args.workers), "--force", "--json"] + self.source_options(dtype, scale)
            start = time.perf_counter()
            try:
                self.command(argv)
            except RuntimeError as error:
                self.notes.append(f"cache {name} not built: {error}")
                continue
            builds[name] = {"seconds": time.perf_counter() - start, "bytes": os.path.getsize(path), "path": path}
            # The compressed units alone (like with like against lz4 on the same units); the rest
            # of the file is the index, ids, source stamps and metadata.
            info = json.loads(self.command([self.args.datagen, "cache", "info", path, "--json"]))
            builds[name]["stored_bytes"] = sum(column["stored_bytes"] for column in info["columns"])
            self.remember(argv)
        self.facts["builds"] = builds

    def export_arrays(self):
        """Runs `tool prepare` in a child (the driver stays small: a child's peak RSS from wait4
        includes the driver's at the fork)."""
        argv = [sys.executable, os.path.abspath(__file__), "tool", "prepare", "--work", self.work]
        prepared = json.loads(self.command(argv))
        self.facts.update(prepared.pop("facts"))
        self.notes.extend(prepared["notes"])

    # -- runs

    def datagen_bench(self, label, cache, group="warm", extra=(), cold=False, uncached=False, epochs=None):
        epochs = epochs or self.args.epochs
        path = self.facts["builds"][cache]["path"]
        argv = [self.args.datagen, "cache", "bench", path, "--json", "--batch-size", str(self.args.batch_size),
                "--epochs", str(epochs), "--seed", str(SEED), "--workers", str(self.args.workers)] + list(extra)
        if uncached:
            argv += ["--uncached", self.inventory] + self.source_options("float32", True)
        if cold:
            evict(self.text_files if uncached else [path])
        self.remember(argv)
        result = json.loads(self.command(argv))
        dtype_bytes = 1 if cache.startswith("u8") and not uncached and "--serve-as" not in extra else 4
        disk = self.facts["text_bytes"] if uncached else os.path.getsize(path)
        self.add(label, group, result["open_seconds"], result["epoch_seconds"], result["samples"],
                 784 * dtype_bytes + 8, disk, result["peak_rss_bytes"] or self.child_peak, result["digest"],
                 extra_info={"rss_anon_bytes": result["rss_anon_bytes"], "rss_file_bytes": result["rss_file_bytes"]})
        return result

    def check_uncached_digest(self):
        """The uncached run serves fewer epochs: compares its digest with the cache's over as many."""
        uncached = next(row for row in self.rows if row["tool"].startswith("datagen uncached"))
        argv = [self.args.datagen, "cache", "bench", self.facts["builds"]["f32-lz4"]["path"], "--json",
                "--batch-size", str(self.args.batch_size), "--epochs", str(uncached["epochs"]), "--seed", str(SEED),
                "--workers", str(self.args.workers)]
        cached = json.loads(self.command(argv))["digest"]
        self.facts["uncached_digest_equal"] = cached == uncached["digest"]
        self.facts["uncached_epochs"] = uncached["epochs"]

    def python_tool(self, label, name, disk_paths, group="warm", cold=False):
        package = name.split("-")[0]
        if package in self.skipped_tools:
            self.notes.append(f"{label}: skipped ({self.skipped_tools[package]})")
            return None
        argv = [sys.executable, os.path.abspath(__file__), "tool", name, "--work", self.work, "--epochs",
                str(self.args.epochs), "--batch-size", str(self.args.batch_size), "--workers", str(self.args.workers)]
        if cold:
            evict(disk_paths)
        try:
            result = json.loads(self.command(argv))
        except (RuntimeError, ValueError) as error:
            self.notes.append(f"{label}: failed: {error}")
            return None
        self.remember(["python", "tools/bench/bench.py"] + argv[2:])
        extra = {key: result[key] for key in ("same_process_ratios", "steps") if key in result}
        self.add(label, group, result["open_seconds"], result["epoch_seconds"], result["samples"],
                 result["bytes_per_sample"], file_bytes(disk_paths), result["peak_rss_bytes"], result["digest"],
                 extra_info=extra)
        return result

    def add(self, label, group, opened, times, samples, bytes_per_sample, disk, peak, digest, extra_info=None):
        steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
        row = {"tool": label, "group": group, "open": opened, "first": times[0], "steady": steady,
               "epochs": len(times), "rate": samples / steady, "gbps": samples * bytes_per_sample / steady / 1e9,
               "disk": disk, "peak": peak, "digest": digest, "samples": samples}
        row.update(extra_info or {})
        self.rows.append(row)
        self.log(f"   {label}: open {opened:.3f}s, first {times[0]:.3f}s, steady {steady:.3f}s, "
                 f"{row['rate']:,.0f} samples/s, peak RSS {peak / 2**20:.0f} MB")

    def run(self):
        self.skipped_tools = {}
        if self.args.skipped and os.path.exists(self.args.skipped):
            for line in open(self.args.skipped):
                if ":" in line:
                    tool, reason = line.split(":", 1)
                    self.skipped_tools[tool.strip()] = reason.strip()
        if os.environ.get("DATAGEN_BIN"):
            self.notes.append(f"datagen and the engine library were prebuilt release builds given by DATAGEN_BIN / "
                              "DATAGEN_ENGINE_LIB, not built by this run")
        for tool, reason in self.skipped_tools.items():
            self.notes.append(f"{tool} skipped: {reason}")
        self.notes.append("uint8-stored caches are served as float32 (`cache bench --serve-as float32 --serve-scale "
                          "1/255`): the conversion runs inside the gather; their digests are compared with the "
                          "others' like every row's")
        self.notes.append("Python tools run with `OPENBLAS_NUM_THREADS=1`: no row uses BLAS, and numpy's import-time "
                          "check otherwise leaves OpenBLAS threads spinning on the two cores (seen in `perf`: they "
                          "slowed the engine's workers by a third)")
        self.make_data()
        # Every build and the uncached epochs read the text files warm: read them once first, so
        # that the first build does not pay for a cold page cache that later runs do not.
        for path in self.text_files + [self.inventory]:
            with open(path, "rb") as file:
                while file.read(1 << 20):
                    pass
        self.notes.append("the text files are read once before the builds, so that every build and the uncached "
                          "epochs start with them in the page cache")
        self.build_caches()
        self.export_arrays()
        npy = [os.path.join(self.work, "x.npy"), os.path.join(self.work, "y.npy")]
        arrow = [os.path.join(self.work, "mnist-lz4.arrow")]
        lz4 = [self.facts["builds"]["f32-lz4"]["path"]]
        workers = self.args.workers
        # Warm runs: the files were just written (in the page cache).
        self.python_tool("numpy in-memory X[idx]", "numpy", npy)
        for cache, label in [("f32-lz4", "lz4, float32"), ("f32-lz4hc", "lz4hc, float32"),
                             ("f32-none", "none, float32"), ("u8-lz4", "lz4, uint8 stored, served float32"),
                             ("u8-lz4hc", "lz4hc, uint8 stored, served float32")]:
            if cache in self.facts["builds"]:
                serve = ["--serve-as", "float32", "--serve-scale", SCALE] if cache.startswith("u8") else []
                self.datagen_bench(f"datagen cached ({label}), {workers} workers", cache, extra=serve)
        self.datagen_bench(f"datagen uncached (savetxt text), {workers} workers", "f32-lz4", uncached=True,
                           epochs=self.args.uncached_epochs)
        self.check_uncached_digest()
        self.python_tool("numpy memmap X[idx]", "memmap", npy)
        if "pyarrow" not in self.skipped_tools:
            self.python_tool("pyarrow LZ4 IPC file, take(idx)", "arrow", arrow)
        self.python_tool("PyTorch DataLoader (TensorDataset, batch sampler)", "torch", npy)
        self.python_tool("PyTorch DataLoader (sampler of index batches, X[idx])", "torch-batched", npy)
        self.python_tool(f"datagen Python, engine backend ({workers} workers)", "engine", lz4)
        self.python_tool("datagen Python, numpy backend", "numpy-backend", lz4)
        self.python_tool("PyTorch DataLoader over the cache (CacheIterable), num_workers=0", "torch-cache-0", lz4)
        self.python_tool("PyTorch DataLoader over the cache (CacheIterable), num_workers=2", "torch-cache-2", lz4)
        self.python_tool("PyTorch DataLoader, num_workers=2, empty batches of the same shapes (transfer cost alone)",
                         "torch-transfer-2", lz4)
        # Training: the same Keras model fitted over arrays in memory and over the cache.
        self.python_tool("Keras fit over numpy arrays in memory", "keras-memory", npy, group="training")
        self.python_tool("Keras fit over the cache (CacheDataset, engine)", "keras-cache", lz4, group="training")
        # Cold page cache: the files evicted with posix_fadvise(DONTNEED) just before each run.
        self.python_tool("numpy in-memory X[idx] (cold)", "numpy", npy, group="cold", cold=True)
        self.datagen_bench(f"datagen cached (lz4, float32), {workers} workers (cold)", "f32-lz4", group="cold", cold=True)
        self.python_tool("numpy memmap X[idx] (cold)", "memmap", npy, group="cold", cold=True)
        if "pyarrow" not in self.skipped_tools:
            self.python_tool("pyarrow LZ4 IPC file (cold)", "arrow", arrow, group="cold", cold=True)
        self.python_tool(f"datagen Python, engine backend (cold)", "engine", lz4, group="cold", cold=True)
        # Window shuffle, in budget and with a budget of a quarter of the decompressed size.
        budget_mb = max(1, self.facts["decompressed_bytes"] // 4 // 2**20)
        self.facts["budget_mb"] = budget_mb
        self.datagen_bench(f"datagen cached (lz4, float32), window shuffle", "f32-lz4", group="window",
                           extra=["--shuffle", "window"])
        self.datagen_bench(f"datagen cached (lz4, float32), window shuffle, --memory-budget {budget_mb} MB",
                           "f32-lz4", group="window", extra=["--shuffle", "window", "--memory-budget", str(budget_mb)])
        self.datagen_bench(f"datagen cached (lz4, float32), full shuffle, --memory-budget {budget_mb} MB",
                           "f32-lz4", group="window", extra=["--memory-budget", str(budget_mb)])
        report.write(self)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "tool":
        run_tool(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datagen", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--skipped")
    parser.add_argument("--records", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--uncached-epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="folder for BENCHMARKS.md and benchmarks.svg (default: REPO/docs)")
    args = parser.parse_args()
    args.work = os.path.abspath(args.work)
    args.repo = os.path.abspath(args.repo)
    args.out = os.path.abspath(args.out or os.path.join(args.repo, "docs"))
    args.platform = platform.platform()
    Driver(args).run()


if __name__ == "__main__":
    main()
