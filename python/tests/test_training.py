"""Training through the adapters: PyTorch DataLoader (0 and 2 workers) and Keras 3 (torch backend)."""

import os

import numpy as np
import pytest

import datagen

os.environ.setdefault("KERAS_BACKEND", "torch")
torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'torch==2.13.0+cpu')")

from datagen._batches import make_plan  # noqa: E402
from datagen.torch import CacheIterable  # noqa: E402

BACKENDS = ["numpy"] + (["engine"] if datagen.engine_available() else [])
_SHUFFLED = np.random.default_rng(0).permutation(1797)
TRAIN, VALIDATION = _SHUFFLED[:1500], _SHUFFLED[1500:]
torch.set_num_threads(1)  # small models: threads only contend for the machine's cores


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workers", [0, 2])
def test_a_dataloader_serves_each_epochs_batches_in_order_without_overlap(caches, backend, workers):
    path = caches["big-float-lz4"]
    data = CacheIterable(path, 64, shuffle="full", seed=3, backend=backend)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=workers)
    reference = datagen.open(path, backend="numpy")
    for epoch in (0, 2):
        data.set_epoch(epoch)
        served = list(loader)
        expected = list(reference.batches(batch_size=64, shuffle="full", seed=3, epoch=epoch))
        assert len(served) == len(expected) == len(loader)
        for (x, y), batch in zip(served, expected):
            np.testing.assert_array_equal(x.numpy(), batch["data"])
            np.testing.assert_array_equal(y.numpy(), batch["target"])


def test_ranks_split_the_epoch_between_processes_of_a_job(caches):
    path = caches["big-float-lz4"]
    whole = datagen.open(path, backend="numpy").to_numpy()
    shares = []
    for rank in range(2):
        data = CacheIterable(path, 50, shuffle="window", seed=1, rank=rank, world_size=2, x=None)
        batches = list(data)
        # The rows this rank must get: its shard of the epoch's window order.
        plan = make_plan(len(whole["target"]), 50, "window", 1, rank, 2, False)
        rows = plan.epoch_rows(0)
        assert len(rows) == 350
        np.testing.assert_array_equal(np.concatenate([b["data"].numpy() for b in batches]), whole["data"][rows])
        np.testing.assert_array_equal(np.concatenate([b["target"].numpy() for b in batches]), whole["target"][rows])
        shares.append(set(rows.tolist()))
    assert not shares[0] & shares[1]
    assert len(shares[0] | shares[1]) == 700


def _accuracy(model, cache):
    whole = cache.to_numpy()
    with torch.no_grad():
        predicted = model(torch.from_numpy(whole["data"][VALIDATION])).argmax(1).numpy()
    return float((predicted == whole["target"][VALIDATION].argmax(1)).mean())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workers", [0, 2])
def test_a_pytorch_loop_learns_the_digits(digits, backend, workers):
    torch.manual_seed(0)
    data = CacheIterable(digits, 32, shuffle="full", seed=0, rows=TRAIN, backend=backend)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=workers)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    for epoch in range(10):
        data.set_epoch(epoch)
        for x, y in loader:
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y.argmax(1))
            loss.backward()
            optimiser.step()
    assert _accuracy(model, datagen.open(digits, backend="numpy")) > 0.9


keras = pytest.importorskip("keras", reason="keras is not installed")
from datagen.keras import CacheDataset  # noqa: E402


class _Recording(CacheDataset):
    """Records the epoch and index of every batch served."""

    served = None

    def __getitem__(self, index):
        self.served.append((self.epoch, index))
        return super().__getitem__(index)


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_keras_model_learns_the_digits_and_each_fit_epoch_serves_one_cache_epoch(digits, backend):
    train = _Recording(digits, 32, shuffle="full", seed=0, rows=TRAIN, backend=backend)
    train.served = []
    validation = CacheDataset(digits, 100, shuffle="none", rows=VALIDATION, backend=backend)
    history = _model().fit(train, epochs=6, validation_data=validation, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.9
    per_epoch = {}
    for epoch, index in train.served:
        per_epoch.setdefault(epoch, set()).add(index)
    assert sorted(per_epoch) == [0, 1, 2, 3, 4, 5]
    assert all(indices == set(range(len(train))) for indices in per_epoch.values())
    first = train[0]
    np.testing.assert_array_equal(first[0], next(iter(datagen.open(digits, backend="numpy").batches(
        batch_size=32, shuffle="full", seed=0, rows=TRAIN, epoch=train.epoch)))["data"])


@pytest.mark.parametrize("use_multiprocessing", [False, True])
def test_keras_workers_and_multiprocessing_train(digits, use_multiprocessing):
    backend = BACKENDS[-1]
    train = CacheDataset(digits, 32, shuffle="full", seed=0, rows=TRAIN, backend=backend, workers=2,
                         use_multiprocessing=use_multiprocessing)
    validation = CacheDataset(digits, 100, shuffle="none", rows=VALIDATION, backend=backend)
    history = _model().fit(train, epochs=5, validation_data=validation, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.9
    assert train.epoch == 5
