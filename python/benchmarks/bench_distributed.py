"""Records per second of ``datagen.distributed.build`` on Ray with 1 and with 2 workers (tasks
running at once), in one run, printed as their ratio.

    datagen demo --records 20000 --dir /tmp/d20k
    python python/benchmarks/bench_distributed.py /tmp/d20k [--shards 8] [--repeat 2]

The encoder is the seed MNIST example's ``encode_image_file`` (``np.loadtxt`` of a
``numpy.savetxt`` file, reshape to 784, float32, / 255) behind a ``transform(record)`` that opens
``DIR/<id>.txt``, as the seed's ``FileDataEncoder`` does (the encoder of bench_build.py); one-hot
targets. One local Ray cluster (2 CPUs, a custom resource ``slot: 2``) serves both modes: each
task asks for 2 slots (1 worker: the tasks run one after another) or 1 slot (2 workers), over the
same ``--shards`` shards. A figure is the whole ``distributed.build`` call (reading the inventory,
fitting, the tasks, the manifest's verification of every shard, the opened set), Ray's start
excepted; each is the best of ``--repeat`` forced builds, the modes alternating. Last, the same
with an encoder that waits 2 ms a record (2,000 records): the pipeline's scaling apart from the
machine's free CPU.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from typing import Any, Dict

import numpy as np

import datagen
import datagen.distributed


def encode_image_file(file_handle: Any) -> Any:
    """The seed MNIST example's data encoder."""
    image_data = np.loadtxt(file_handle).reshape((784,)).astype("float32")
    image_data /= 255
    return image_data


class MnistFileEncoder:
    """The seed's FileDataEncoder(encode_image_file, DIR, id_mapper=lambda id: id + '.txt')."""

    def __init__(self, directory: str):
        self.directory = directory

    def transform(self, record: Any) -> Any:
        with open(os.path.join(self.directory, record["id"] + ".txt"), "r") as handle:
            return encode_image_file(handle)


def waiting(record: Any) -> Any:
    """An I/O-bound encoder: 2 ms of waiting, a few pixels."""
    time.sleep(0.002)
    return np.full(4, len(record["id"]), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", help="a folder `datagen demo --dir` wrote (inventory.csv and the digits)")
    parser.add_argument("--shards", type=int, default=8, help="shards (tasks) of each build")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each mode; the best counts")
    arguments = parser.parse_args()
    import pandas
    if not any(os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
        # Token auth with a token of this run's own, set before Ray loads: Ray would otherwise
        # write one to ~/.ray/auth_token, which every Ray of this user would then pick up.
        os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    import ray

    inventory = pandas.read_csv(os.path.join(arguments.directory, "inventory.csv"), index_col=0)
    count = len(inventory)
    encoder = MnistFileEncoder(arguments.directory)
    for _, record in inventory.iterrows():  # warm the page cache
        encoder.transform(record)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    ray.init(address="local", num_cpus=2, resources={"slot": 2}, include_dashboard=False)
    print(f"ray.init (local, 2 CPUs): {time.perf_counter() - started:.1f} s")
    modes: Dict[str, int] = {"1 worker": 2, "2 workers": 1}  # slots a task asks for
    best = {mode: float("inf") for mode in modes}
    head = inventory.head(2000)
    waits: Dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for _ in range(arguments.repeat):
                for mode, slots in modes.items():
                    start = time.perf_counter()
                    datagen.distributed.build(inventory, os.path.join(scratch, "digits"), encoder, "onehot",
                                              shards=arguments.shards, resources={"slot": slots}, force=True)
                    best[mode] = min(best[mode], time.perf_counter() - start)
            # The pipeline alone (not the machine's free CPU): an encoder that waits 2 ms a record.
            for mode, slots in modes.items():
                start = time.perf_counter()
                datagen.distributed.build(head, os.path.join(scratch, "waits"), waiting, shards=arguments.shards,
                                          resources={"slot": slots}, force=True)
                waits[mode] = len(head) / (time.perf_counter() - start)
    finally:
        ray.shutdown()
    rates = {mode: count / seconds for mode, seconds in best.items()}
    for mode in modes:
        print(f"{mode:>9}: {rates[mode]:8.0f} records/s ({best[mode]:.2f} s, best of {arguments.repeat})")
    print(f"2 Ray workers / 1: {rates['2 workers'] / rates['1 worker']:.2f}x (aim 1.8x, 1.6x accepted on 2 cores)")
    print(f"an encoder waiting 2 ms a record (2,000 records): 2 Ray workers / 1: "
          f"{waits['2 workers'] / waits['1 worker']:.2f}x ({waits['1 worker']:.0f} and {waits['2 workers']:.0f} records/s)")
    print(f"records: {count}, shards: {arguments.shards}, encoder: the seed's encode_image_file, "
          f"load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
