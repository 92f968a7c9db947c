"""Records per second of ``datagen.build`` with the seed MNIST example's encoder (read a
``numpy.savetxt`` text file, parse it, scale it), measured in one run and printed as ratios:
2 workers against 1, and a 1-worker build against the same encoder called in a bare loop.

    datagen demo --records 20000 --dir /tmp/digits
    python python/benchmarks/bench_build.py /tmp/digits [--repeat 3]

The encoder is the seed's ``encode_image_file`` (examples/mnist_with_generator.py) behind a
``transform(record)`` that opens ``DIR/<id>.txt``, as its ``FileDataEncoder`` does. Each figure is
the best of ``--repeat`` runs (a build is forced each time); the page cache is warm (the bare loop
runs first, once unmeasured).
"""

import argparse
import os
import resource
import tempfile
import time

import numpy as np

import datagen


def encode_image_file(file_handle):
    """The seed MNIST example's data encoder."""
    image_data = np.loadtxt(file_handle).reshape((784,)).astype("float32")
    image_data /= 255
    return image_data


class MnistFileEncoder:
    """The seed's FileDataEncoder(encode_image_file, DIR, id_mapper=lambda id: id + '.txt')."""

    def __init__(self, directory):
        self.directory = directory

    def transform(self, record):
        with open(os.path.join(self.directory, record["id"] + ".txt"), "r") as handle:
            return encode_image_file(handle)


def waiting(record):
    """An I/O-bound encoder: 1 ms of waiting, a few pixels."""
    time.sleep(0.001)
    return np.full(4, len(record["id"]), dtype=np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="a folder `datagen demo --dir` wrote (inventory.csv and the digits)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode; the best counts")
    arguments = parser.parse_args()
    import pandas

    inventory = pandas.read_csv(os.path.join(arguments.directory, "inventory.csv"), index_col=0)
    encoder = MnistFileEncoder(arguments.directory)
    count = len(inventory)

    def bare():
        for _, record in inventory.iterrows():
            encoder.transform(record)

    bare()  # warm the page cache
    modes = {"bare loop": None, "build, 1 worker": 1, "build, 2 workers": 2}
    best = {mode: float("inf") for mode in modes}
    cpu = {mode: 0.0 for mode in modes}
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "out.dgcache")
        for _ in range(arguments.repeat):  # the modes alternate, so that the machine's drift hits each alike
            for mode, workers in modes.items():
                before = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                start = time.perf_counter()
                if workers is None:
                    bare()
                else:
                    datagen.build(inventory, output, encoder, target="onehot", workers=workers, progress=False,
                                  force=True)
                best[mode] = min(best[mode], time.perf_counter() - start)
                after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                cpu[mode] += sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(before, after))
    rates = {mode: count / seconds for mode, seconds in best.items()}
    per_record = {mode: cpu[mode] / (count * arguments.repeat) * 1e6 for mode in modes}
    for mode in modes:
        print(f"{mode:>17}: {rates[mode]:8.0f} records/s (best of {arguments.repeat}), "
              f"{per_record[mode]:6.0f} CPU us/record (this process and its workers)")
    print(f"2 workers / 1 worker: {rates['build, 2 workers'] / rates['build, 1 worker']:.2f}x "
          "(aim 1.8x, 1.6x accepted on 2 cores)")
    print(f"1-worker build / bare loop: {rates['build, 1 worker'] / rates['bare loop']:.2f}x (aim >= 0.8x); "
          f"CPU per record, bare loop / build: {per_record['bare loop'] / per_record['build, 1 worker']:.2f}x")
    # The pipeline alone (not the machine's free CPU): an encoder that waits 1 ms a record, as one
    # reading from a slow disk or the network would, on the first 2,000 records.
    head = inventory.head(2000)
    waits = {}
    with tempfile.TemporaryDirectory() as scratch:
        for workers in (1, 2):
            start = time.perf_counter()
            datagen.build(head, os.path.join(scratch, "wait.dgcache"), waiting, workers=workers, progress=False,
                          force=True)
            waits[workers] = len(head) / (time.perf_counter() - start)
    print(f"an encoder waiting 1 ms a record: 2 workers / 1 worker: {waits[2] / waits[1]:.2f}x "
          f"({waits[1]:.0f} and {waits[2]:.0f} records/s)")
    print(f"records: {count}, CPUs this process may use: {datagen._build.default_workers()}, "
          f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
