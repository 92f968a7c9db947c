"""`datagen cache bench` (the engine's lending path) against numpy's in-process `X[idx]` on the same
cache, as medians of alternating pairs of processes, quiet and beside one busy process that this
script starts and stops itself (`sh -c 'while :; do :; done'`).

    python tools/bench/paired_numpy.py --datagen DATAGEN --work WORK [--pairs 9] [--epochs 6] [--workers N]

WORK holds f32-lz4.dgcache and the x.npy / y.npy that `tools/bench/bench.py tool prepare` writes.
A process's steady epoch is the median of its epochs after the first; a pair's ratio is numpy's
steady epoch over the engine's (speed); the engine runs first in even pairs, numpy in odd ones.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def steady(seconds):
    return statistics.median(seconds[1:])


def run(command):
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datagen", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--workers", type=int, default=None,
                        help="datagen's workers (default: its own, one fewer than the cores, at least 1)")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    here = os.path.dirname(os.path.abspath(__file__))
    engine = [args.datagen, "cache", "bench", os.path.join(args.work, "f32-lz4.dgcache"), "--json", "--batch-size", "128",
              "--epochs", str(args.epochs), "--seed", "0"] + ([] if args.workers is None else ["--workers", str(args.workers)])
    numpy = [sys.executable, os.path.join(here, "bench.py"), "tool", "numpy", "--work", args.work,
             "--epochs", str(args.epochs), "--batch-size", "128", "--workers", str(1 if args.workers is None else args.workers)]
    for busy in (False, True):
        competitor = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if busy else None
        if competitor:
            time.sleep(0.2)
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        ratios, digests = [], set()
        for pair in range(args.pairs):
            first, second = (engine, numpy) if pair % 2 == 0 else (numpy, engine)
            results = {id(first): run(first), id(second): run(second)}
            ours, theirs = results[id(engine)], results[id(numpy)]
            digests.update([ours["digest"], theirs["digest"]])
            ratios.append(steady(theirs["epoch_seconds"]) / steady(ours["epoch_seconds"]))
        if competitor:
            competitor.kill()
            competitor.wait()
        label = "beside one busy process" if busy else "quiet"
        print(f"{label}: datagen cache bench / numpy X[idx] (speed), median of {args.pairs} alternating pairs: "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); "
              f"same digest: {len(digests) == 1}; load average before: {load}")


if __name__ == "__main__":
    main()
