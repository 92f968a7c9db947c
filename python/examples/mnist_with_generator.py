"""The seed's MNIST example (numblr/datagenerator, examples/mnist_with_generator.py) on Keras 3 and
datagen.compat: trains a small dense network on digit images stored one text file per image,
first with the seed's uncached generators, then with the same batches served from a cache file
(``GeneratorDataSet.cached``), and prints the epoch times of both.

What changed from the seed's example, and why:

* ``fit`` in place of ``fit_generator`` and ``evaluate`` in place of ``evaluate_generator``
  (removed in Keras 3), and ``keras.Input`` in place of ``input_shape=``;
* ``steps_per_epoch`` is the number of batches in the training set (``train.size // BATCH_SIZE``),
  not the batch size, and likewise ``validation_steps``;
* no download: the digits are drawn here (seven-segment digits with random position, size, stroke
  and noise) and written as the seed writes MNIST's: one ``np.savetxt`` file of 28 × 28 values
  (0–255) per image, named by ``mkstemp``, and ``inventory.csv`` (``DataFrame.to_csv``: an
  unnamed index column, then ``id`` and ``target``). ``--dir`` may also name a folder that
  ``datagen demo --dir DIR`` wrote (the same layout);
* the split is seeded, so that the cached run trains on the same records.

Run from the repository root (KERAS_BACKEND defaults to torch here):

    python python/examples/mnist_with_generator.py --records 12500 --epochs 4
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from os import fdopen, makedirs
from os.path import basename, exists, join, splitext
from tempfile import mkstemp

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from pandas import DataFrame  # noqa: E402

from datagen.compat import IntToOneHotEncoder, LabelEncoder, generator_for_files  # noqa: E402

logger = logging.getLogger()

MNIST_DIR = "mnist"
MNIST_PREFIX = "mnist_"
MNIST_SUFFIX = ".txt"
MNIST_CACHE = "mnist.dgcache"

BATCH_SIZE = 128
EPOCHS = 4
NUM_CLASSES = 10

# Seven-segment digits: segments top, top right, bottom right, bottom, bottom left, top left, middle.
SEGMENTS = {0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg", 5: "acdfg", 6: "acdefg", 7: "abc",
            8: "abcdefg", 9: "abcdfg"}


def draw_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """A 28 × 28 image (values 0–255) of ``digit``, drawn with random placement and noise."""
    image = np.zeros((28, 28))
    width, height, stroke = rng.integers(10, 16), rng.integers(16, 22), rng.integers(2, 4)
    left, top = rng.integers(2, 28 - width - 1), rng.integers(2, 28 - height - 1)
    middle, right, bottom = top + height // 2, left + width, top + height
    lines = {"a": (top, top, left, right), "b": (top, middle, right, right), "c": (middle, bottom, right, right),
             "d": (bottom, bottom, left, right), "e": (middle, bottom, left, left), "f": (top, middle, left, left),
             "g": (middle, middle, left, right)}
    for segment in SEGMENTS[digit]:
        y0, y1, x0, x1 = lines[segment]
        image[y0:y1 + stroke, x0:x1 + stroke] = rng.uniform(180, 255)
    image += rng.uniform(0, 40, image.shape) * (rng.random(image.shape) < 0.1)
    return np.clip(image, 0, 255).round()


def setupFiles(num_files: int, directory: str = MNIST_DIR, seed: int = 0) -> str:
    """Writes ``num_files`` digit images and the inventory (as the seed writes MNIST's) unless the
    folder exists; returns the inventory's path."""
    inventory_path = join(directory, "inventory.csv")
    try:
        makedirs(directory)
    except OSError:
        logger.info("Init: Example data is already setup. Remove '%s' directory to reset.", directory)
        return inventory_path

    rng = np.random.default_rng(seed)
    inventory_list = []
    for label in rng.integers(0, NUM_CLASSES, num_files):
        file_handle, path = mkstemp(prefix=MNIST_PREFIX, suffix=MNIST_SUFFIX, dir=directory, text=True)
        with fdopen(file_handle, "wb") as file:
            np.savetxt(file, draw_digit(int(label), rng))
        inventory_list.append({"id": splitext(basename(path))[0], "target": int(label)})

    inventory = DataFrame.from_records(inventory_list)
    inventory.to_csv(inventory_path)

    logger.info("Init: Setup example with %s files.", inventory.shape[0])
    return inventory_path


def simple_nn_model() -> keras.Model:
    model = keras.Sequential()
    model.add(keras.Input(shape=(784,)))
    model.add(keras.layers.Dense(512, activation="relu"))
    model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(512, activation="relu"))
    model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(NUM_CLASSES, activation="softmax"))

    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])

    return model


def encode_image_file(file_handle) -> np.ndarray:
    image_data = np.loadtxt(file_handle).reshape((784,)).astype("float32")
    image_data /= 255

    return image_data


class EpochTimes(keras.callbacks.Callback):
    """Records each training epoch's wall-clock time (validation included)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def train_and_test(train, validation, test, batch_size: int, epochs: int, verbose: int) -> tuple[list[float], list]:
    """Trains a new model on ``train`` (validating on ``validation``), tests it on ``test``:
    the epoch times and the test score."""
    keras.utils.set_random_seed(0)
    model = simple_nn_model()
    timer = EpochTimes()
    model.fit(train.batches(batch_size=batch_size),
              steps_per_epoch=train.size // batch_size,
              epochs=epochs,
              validation_data=validation.batches(batch_size=batch_size),
              validation_steps=validation.size // batch_size,
              callbacks=[timer],
              shuffle=False,  # the batches come from the generator in the data set's order
              verbose=verbose)
    score = model.evaluate(test.batches(batch_size=batch_size, truncate=False),
                           steps=-(-test.size // batch_size), verbose=0)
    return timer.times, score


def seconds(times: list[float]) -> str:
    return ", ".join(f"{value:.2f} s" for value in times)


def main(files: int = 12500, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE, directory: str = MNIST_DIR,
         cache: str = MNIST_CACHE, workers: int | None = None, verbose: int = 1) -> None:
    inventory_path = setupFiles(files, directory)

    data_encoder = encode_image_file
    target_encoders = [LabelEncoder(), IntToOneHotEncoder()]

    generator_data_set = generator_for_files(inventory_path, directory,
                                             data_encoder, target_encoders,
                                             id_mapper=lambda id: id + MNIST_SUFFIX,
                                             id="id", target="target", binary=False)

    train, validation, test = generator_data_set.split(validation=0.2, test=0.2, seed=0)
    logger.info("Loaded training (%s), validation (%s) and test (%s) data sets",
                train.size, validation.size, test.size)

    times, score = train_and_test(train, validation, test, batch_size, epochs, verbose)
    print(f"uncached epoch times: {seconds(times)}")
    print(f"uncached test loss {score[0]:.4f}, accuracy {score[1]:.4f}")

    # The same records from a cache file: built once (the encoder runs in worker processes), then
    # every epoch gathers the encoded rows; split with the same seed, it holds the same records.
    start = time.perf_counter()
    try:
        cached = generator_data_set.cached(cache, workers=workers, progress=False)
    except ImportError as error:  # datagen.EngineUnavailableError: no engine to write the cache with
        print(f"cached run skipped: {error}")
        return
    print(f"cache {cache}: {cached.size} rows, built or opened in {time.perf_counter() - start:.2f} s")
    train, validation, test = cached.split(validation=0.2, test=0.2, seed=0)

    times, score = train_and_test(train, validation, test, batch_size, epochs, verbose)
    print(f"cached epoch times: {seconds(times)}")
    print(f"cached test loss {score[0]:.4f}, accuracy {score[1]:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=12500, help="digit files to write (default 12500)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--dir", default=MNIST_DIR, help="the digits' folder (written when missing)")
    parser.add_argument("--cache", default=MNIST_CACHE, help="the cache file (built when missing or stale)")
    parser.add_argument("--workers", type=int, default=None, help="processes encoding the cache (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no Keras progress bars")
    arguments = parser.parse_args()

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s"))
    root.addHandler(handler)

    if exists(arguments.dir) and not exists(join(arguments.dir, "inventory.csv")):
        sys.exit(f"{arguments.dir} exists but holds no inventory.csv: remove it, or name another --dir")
    main(arguments.records, arguments.epochs, arguments.batch_size, arguments.dir, arguments.cache,
         arguments.workers, 0 if arguments.quiet else 2)
