"""Rows per second of the Python backends against numpy ``X[idx]`` on the same data and the same
permutations, measured in one run and printed as ratios.

    python python/benchmarks/bench_python.py CACHE [--batch-size 128] [--epochs 3] [--workers 2]

``engine`` is the default engine path (its workers write each batch into a ring of numpy arrays
Python owns); ``engine_copy`` asks for new arrays per batch (``ring=False``), filled by a copy.

Each mode serves ``--epochs`` full-shuffle epochs (seed 0) after one warm-up epoch; the median
epoch counts. ``numpy X[idx]`` gathers the same batches from arrays already in memory. It also
prints what computing one epoch's permutation costs (full and window order, median of 5), as a
fraction of a numpy epoch.
"""

import argparse
import json
import statistics
import time

import numpy as np

import datagen


def _epochs(serve, epochs):
    serve(0)  # warm-up: page cache, decoded columns, threads
    times = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        serve(epoch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _timed(body):
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    reference = datagen.open(args.cache, backend="numpy")
    whole = reference.to_numpy()
    names = [name for name in reference.columns]
    rows, size = reference.rows, args.batch_size

    def numpy_gather(epoch):
        order = datagen.epoch_permutation(datagen.EpochOrder("full"), 0, epoch, rows)
        for start in range(0, rows, size):
            index = order[start:start + size]
            for name in names:
                whole[name][index]

    def backend(cache, **extra):
        def serve(epoch):
            for _ in cache.batches(batch_size=size, shuffle="full", seed=0, epoch=epoch, **extra):
                pass
        return serve

    results = {"rows": rows, "batch_size": size, "numpy_gather": rows / _epochs(numpy_gather, args.epochs)}
    results["numpy_backend"] = rows / _epochs(backend(reference), args.epochs)
    if datagen.engine_available():
        engine = datagen.open(args.cache, backend="engine")
        # Default: the engine's workers write into a ring of arrays Python owns.
        results["engine"] = rows / _epochs(backend(engine, workers=args.workers), args.epochs)
        # ring=False: new arrays per batch, filled by a copy of the engine's batch.
        results["engine_copy"] = rows / _epochs(backend(engine, workers=args.workers, ring=False), args.epochs)
        results["engine_ratio"] = results["engine"] / results["numpy_gather"]
        results["engine_copy_ratio"] = results["engine_copy"] / results["numpy_gather"]
    results["numpy_backend_ratio"] = results["numpy_backend"] / results["numpy_gather"]
    for name in ("full", "window"):
        seconds = statistics.median(_timed(lambda epoch=epoch: datagen.epoch_permutation(datagen.EpochOrder(name), 0, epoch, rows))
                                    for epoch in range(5))
        results[f"permutation_{name}_ms"] = seconds * 1000
        results[f"permutation_{name}_per_numpy_epoch"] = seconds * results["numpy_gather"] / rows
    for key, value in results.items():
        print(f"{key:>22}: {value:,.2f}" + (" rows/s" if key in ("numpy_gather", "numpy_backend", "engine", "engine_copy") else ""))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
