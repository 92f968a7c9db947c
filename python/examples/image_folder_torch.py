"""Trains a small CNN with PyTorch on a folder of images (DIR/<class>/<file>, as torchvision's
ImageFolder reads), through a datagen cache: the JPEG and PNG files are decoded once, when the
cache is built, and each epoch's random-resized crops, flips, normalisation and the HWC → CHW
layout run in the engine's worker threads (``transform=``): the DataLoader receives whole float32
batches of shape (batch, 3, size, size), with no per-image Python.

    datagen cache build --from-folders DIR --data image --max-side 96 --output images.dgcache
    python python/examples/image_folder_torch.py images.dgcache --epochs 3

or let the example build the cache (``--images DIR``; the ``datagen`` command from PATH or
``DATAGEN_CLI``). A folder to try it on: ``python tools/bench/make_image_set.py /tmp/photos
--images 600``. A fifth of the rows (seeded) is held out for validation, served with a centre
crop instead of random crops.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

import datagen
from datagen.torch import CacheIterable


def build_cache(images: str, cache: str, max_side: int) -> None:
    """``datagen cache build --from-folders IMAGES --data image --max-side N`` (skipped when the
    cache is up to date with the folder)."""
    binary = os.environ.get("DATAGEN_CLI") or shutil.which("datagen")
    if binary is None:
        sys.exit("no datagen command: put it on PATH or set DATAGEN_CLI (swift build --product datagen)")
    subprocess.run([binary, "cache", "build", "--from-folders", images, "--data", "image",
                    "--max-side", str(max_side), "--output", cache, "--quiet"], check=True)


def model_for(classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", help="the image cache (built here from --images when given)")
    parser.add_argument("--images", help="build the cache from this folder of class folders first")
    parser.add_argument("--max-side", type=int, default=96, help="longer side of the stored images (with --images)")
    parser.add_argument("--size", type=int, default=64, help="side of the crops the network sees")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.images:
        build_cache(args.images, args.cache, args.max_side)

    torch.manual_seed(args.seed)
    cache = datagen.open(args.cache)
    classes = len(cache.classes)
    order = np.random.default_rng(args.seed).permutation(cache.rows)
    held_out = max(1, cache.rows // 5)
    train_rows, validation_rows = np.sort(order[held_out:]), np.sort(order[:held_out])
    train = CacheIterable(args.cache, batch_size=args.batch_size, rows=train_rows, seed=args.seed, backend="engine",
                          transform=f"random-resized-crop({args.size}),flip,normalize(imagenet),chw")
    validation = CacheIterable(args.cache, batch_size=args.batch_size, rows=validation_rows, shuffle="none",
                               backend="engine",
                               transform=f"resize-shorter({args.size * 8 // 7}),center-crop({args.size}),"
                                         "normalize(imagenet),chw")
    # batch_size=None: the cache serves whole batches already.
    train_loader = torch.utils.data.DataLoader(train, batch_size=None)
    validation_loader = torch.utils.data.DataLoader(validation, batch_size=None)

    model = model_for(classes)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_function = nn.CrossEntropyLoss()
    started = time.perf_counter()
    accuracy = 0.0
    for epoch in range(args.epochs):
        train.set_epoch(epoch)  # a new order and new random crops each epoch
        model.train()
        total, seen = 0.0, 0
        for images, labels in train_loader:
            optimiser.zero_grad()
            loss = loss_function(model(images), labels)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(labels)
            seen += len(labels)
        model.eval()
        correct, counted = 0, 0
        with torch.no_grad():
            for images, labels in validation_loader:
                correct += int((model(images).argmax(dim=1) == labels).sum())
                counted += len(labels)
        accuracy = correct / max(1, counted)
        print(f"epoch {epoch + 1}: loss {total / max(1, seen):.3f}, validation accuracy {accuracy:.3f}")
    seconds = time.perf_counter() - started
    print(f"{len(train_rows)} training images, {classes} classes, {args.epochs} epochs in {seconds:.1f} s; "
          f"validation accuracy {accuracy:.3f} (chance {1 / classes:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
