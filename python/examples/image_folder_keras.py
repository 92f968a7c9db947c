"""Trains a small CNN with Keras 3 on a folder of images (DIR/<class>/<file>, as torchvision's
ImageFolder reads), through a datagen cache: the JPEG and PNG files are decoded once, when the
cache is built, and each epoch's random-resized crops, flips and normalisation run in the
engine's worker threads (``transform=``), not in Python.

    datagen cache build --from-folders DIR --data image --max-side 96 --output images.dgcache
    python python/examples/image_folder_keras.py images.dgcache --epochs 3

or let the example build the cache (``--images DIR``; the ``datagen`` command from PATH or
``DATAGEN_CLI``). A folder to try it on: ``python tools/bench/make_image_set.py /tmp/photos
--images 600`` (crops of the photographs that scikit-learn, scikit-image and matplotlib bundle,
one class per photograph). A fifth of the rows (seeded) is held out for validation, served with
a centre crop instead of random crops.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import datagen  # noqa: E402
from datagen.keras import CacheDataset  # noqa: E402


def build_cache(images: str, cache: str, max_side: int) -> None:
    """``datagen cache build --from-folders IMAGES --data image --max-side N`` (skipped when the
    cache is up to date with the folder)."""
    binary = os.environ.get("DATAGEN_CLI") or shutil.which("datagen")
    if binary is None:
        sys.exit("no datagen command: put it on PATH or set DATAGEN_CLI (swift build --product datagen)")
    subprocess.run([binary, "cache", "build", "--from-folders", images, "--data", "image",
                    "--max-side", str(max_side), "--output", cache, "--quiet"], check=True)


def model_for(size: int, classes: int) -> keras.Model:
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


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

    cache = datagen.open(args.cache)
    classes = len(cache.classes)
    order = np.random.default_rng(args.seed).permutation(cache.rows)
    held_out = max(1, cache.rows // 5)
    train_rows, validation_rows = np.sort(order[held_out:]), np.sort(order[:held_out])
    # The same spec as `datagen cache bench --transform`; channels last (no `chw`) for Keras.
    train_transform = f"random-resized-crop({args.size}),flip,normalize(imagenet)"
    validation_transform = f"resize-shorter({args.size * 8 // 7}),center-crop({args.size}),normalize(imagenet)"
    train = CacheDataset(args.cache, batch_size=args.batch_size, rows=train_rows, seed=args.seed,
                         transform=train_transform, backend="engine")
    validation = CacheDataset(args.cache, batch_size=args.batch_size, rows=validation_rows, shuffle="none",
                              transform=validation_transform, backend="engine")

    keras.utils.set_random_seed(args.seed)
    model = model_for(args.size, classes)
    started = time.perf_counter()
    history = model.fit(train, validation_data=validation, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - started
    accuracy = history.history["val_accuracy"][-1]
    print(f"{len(train_rows)} training images, {classes} classes, {args.epochs} epochs in {seconds:.1f} s; "
          f"validation accuracy {accuracy:.3f} (chance {1 / classes:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
