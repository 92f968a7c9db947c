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
    rates = {}
    with tempfile.TemporaryDirectory() as scratch:
        def timed(body):
            best = float("inf")
            for _ in range(arguments.repeat):
                start = time.perf_counter()
                body()
                best = min(best, time.perf_counter() - start)
            return count / best

        rates["bare loop"] = timed(bare)
        cpu = {}
        for workers in (1, 2):
            output = os.path.join(scratch, f"w{workers}.dgcache")
            parent = resource.getrusage(resource.RUSAGE_SELF)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            rates[f"build, {workers} worker(s)"] = timed(
                lambda: datagen.build(inventory, output, encoder, target="onehot", workers=workers, progress=False,
                                      force=True))
            parent_after = resource.getrusage(resource.RUSAGE_SELF)
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[workers] = ((parent_after.ru_utime + parent_after.ru_stime - parent.ru_utime - parent.ru_stime),
                            (children_after.ru_utime + children_after.ru_stime - children.ru_utime - children.ru_stime))
    for mode, rate in rates.items():
        print(f"{mode:>22}: {rate:10.0f} records/s")
    for workers, (parent_cpu, workers_cpu) in cpu.items():
        print(f"build, {workers} worker(s): CPU seconds over {arguments.repeat} runs: parent (writer) "
              f"{parent_cpu:.2f}, workers {workers_cpu:.2f}")
    print(f"2 workers / 1 worker: {rates['build, 2 worker(s)'] / rates['build, 1 worker(s)']:.2f}x (aim 1.8x, 1.6x accepted)")
    print(f"1-worker build / bare loop: {rates['build, 1 worker(s)'] / rates['bare loop']:.2f}x (aim >= 0.8x)")
    print(f"2-worker build / (2 x bare loop): {rates['build, 2 worker(s)'] / (2 * rates['bare loop']):.2f}x")
    print(f"records: {count}, cpus: {datagen._build.default_workers()}")


if __name__ == "__main__":
    main()
