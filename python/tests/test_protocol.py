"""Both backends implement one interface (datagen.Cache, datagen.Batches) with the same signatures
and defaults, and take memory budgets with units."""

import inspect

import pytest

import datagen
from datagen._batches import BatchIterator
from datagen._protocol import Batches, Cache

BACKENDS = ["numpy", "engine"]


def _backend_classes():
    # The engine's classes import without the library: their signatures are checked all the same.
    from datagen._engine import EngineBatchIterator, EngineCache
    return {"numpy": (datagen.NumpyCache, BatchIterator), "engine": (EngineCache, EngineBatchIterator),
            "numpy-set": (datagen.NumpyCacheSet, BatchIterator)}


def _members(protocol):
    """The protocol's members: its public names and the dunder methods it declares."""
    return sorted(name for name, value in vars(protocol).items()
                  if (not name.startswith("_") or name in ("__len__", "__iter__", "__next__", "__enter__", "__exit__"))
                  and (callable(value) or isinstance(value, property)))


@pytest.mark.parametrize("protocol,index", [(Cache, 0), (Batches, 1)])
@pytest.mark.parametrize("backend", BACKENDS + ["numpy-set"])
def test_each_backend_has_every_member_of_the_protocol_with_its_signature(protocol, index, backend):
    implementation = _backend_classes()[backend][index]
    members = _members(protocol)
    assert "batches" in members or "seek" in members
    for name in members:
        declared = vars(protocol)[name]
        assert hasattr(implementation, name) or isinstance(declared, property), f"{implementation.__name__}.{name}"
        if isinstance(declared, property):
            continue
        signature, expected = inspect.signature(getattr(implementation, name)), inspect.signature(declared)
        # Parameters, kinds, defaults and annotations, all equal.
        assert signature.parameters == expected.parameters, f"{implementation.__name__}.{name}"
        # The return annotation too, except that ``with`` gives the backend's own class.
        returned = implementation.__name__ if name == "__enter__" else expected.return_annotation
        assert signature.return_annotation == returned, f"{implementation.__name__}.{name}"


def test_both_backends_have_the_same_batches_defaults():
    numpy_cache, engine_cache = datagen.NumpyCache, _backend_classes()["engine"][0]
    for name in ("batches", "digest", "to_numpy", "verify"):
        numpy_parameters = inspect.signature(getattr(numpy_cache, name)).parameters
        engine_parameters = inspect.signature(getattr(engine_cache, name)).parameters
        assert [(p.name, p.kind, p.default) for p in numpy_parameters.values()] == \
            [(p.name, p.kind, p.default) for p in engine_parameters.values()], name
    defaults = {p.name: p.default for p in inspect.signature(numpy_cache.batches).parameters.values()}
    assert defaults["batch_size"] == 128 and defaults["shuffle"] == "full" and defaults["epochs"] == 1


def test_open_is_declared_to_return_the_protocol():
    assert inspect.signature(datagen.open).return_annotation == "Cache"
    assert datagen.Cache is Cache and datagen.Batches is Batches


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_returns_a_cache_and_batches_an_iterator_of_the_protocols(caches, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    with datagen.open(caches["raw-int-lz4"], backend=backend) as cache:
        assert isinstance(cache, Cache)
        assert cache.backend == backend
        run = cache.batches(batch_size=100, workers=0, prefetch=0, reuse=0, ring=True, remainder="drop")
        assert isinstance(run, Batches)
        assert len(run) == run.total == run.batches_per_epoch == 11
        next(run)
        assert run.position() == (0, 1)
        run.close()
        assert list(run) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_thread_arguments_are_checked_alike(caches, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    cache = datagen.open(caches["raw-int-lz4"], backend=backend)
    for name in ("workers", "prefetch", "reuse"):
        with pytest.raises(datagen.OptionError, match=f"{name} -1 must be a non-negative integer"):
            cache.batches(**{name: -1})


def test_the_engine_refuses_pad_naming_the_numpy_backend(caches):
    if not datagen.engine_available():
        pytest.skip("the engine library was not built")
    cache = datagen.open(caches["raw-int-lz4"], backend="engine")
    with pytest.raises(datagen.OptionError, match="backend='numpy'"):
        cache.batches(rank=1, world_size=3, remainder="pad")
    numpy_run = datagen.open(caches["raw-int-lz4"], backend="numpy").batches(rank=1, world_size=3, remainder="pad")
    assert numpy_run.batches_per_epoch == 3


# -- memory budgets ------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (None, None), (0, 0), (4096, 4096), ("512MB", 512 * 10 ** 6), ("2GiB", 2 * 2 ** 30), ("300KiB", 300 * 1024),
    ("300kib", 300 * 1024), ("1gb", 10 ** 9), ("64 MiB", 64 * 2 ** 20), ("1.5GiB", 3 * 2 ** 29), ("10B", 10),
    ("1.1GB", 1_100_000_000), ("2TiB", 2 * 2 ** 40), ("7kB", 7000),
    # the CLI's --memory-budget suffixes too: single letters are decimal, "Ki" binary
    ("2G", 2 * 10 ** 9), ("512m", 512 * 10 ** 6), ("3Ki", 3 * 1024), ("1Gi", 2 ** 30),
])
def test_memory_budgets_take_bytes_or_sizes_with_units(value, expected):
    assert datagen.parse_memory_budget(value) == expected


@pytest.mark.parametrize("value,message", [
    ("512", "'512' is not a size such as '512MB', '2GiB' or '300KiB'; write '512MiB', '512MB' or an int of bytes"),
    ("lots", "'lots' is not a size"),
    ("5 parsecs", "'5 parsecs' has an unknown unit 'parsecs'"),
    ("-1GB", "'-1GB' is not a size"),
    (-5, "-5 is negative"),
    (1.5, "1.5 is neither bytes (an int) nor a size"),
    (True, "True is neither bytes"),
])
def test_bad_memory_budgets_raise_option_errors_naming_the_value(value, message):
    with pytest.raises(datagen.OptionError) as raised:
        datagen.parse_memory_budget(value)
    assert isinstance(raised.value, ValueError)
    assert f"memory_budget {message}" in str(raised.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_takes_memory_budgets_with_units_and_refuses_bad_ones(caches, backend):
    if backend == "engine" and not datagen.engine_available():
        pytest.skip("the engine library was not built")
    path = caches["big-float-lz4"]
    reference = datagen.open(path, backend="numpy").digest(batch_size=64)
    for budget in ("300KiB", "1KB", "2GiB", 1 << 20):
        # A budget below the columns' size serves the same batches (rows decompressed each time).
        assert datagen.open(path, backend=backend, memory_budget=budget).digest(batch_size=64) == reference
    with pytest.raises(datagen.OptionError, match="memory_budget '2 GB of RAM'"):
        datagen.open(path, backend=backend, memory_budget="2 GB of RAM")


def test_the_adapters_take_memory_budgets_with_units(caches):
    torch_adapter = pytest.importorskip("datagen.torch", reason="torch is not installed")
    data = torch_adapter.CacheIterable(caches["big-float-lz4"], 64, memory_budget="1MiB")
    assert data.memory_budget == 2 ** 20
    with pytest.raises(datagen.OptionError, match="memory_budget '1 MiBs'"):
        torch_adapter.CacheIterable(caches["big-float-lz4"], 64, memory_budget="1 MiBs")
    keras_adapter = pytest.importorskip("datagen.keras", reason="keras is not installed")
    dataset = keras_adapter.CacheDataset(caches["big-float-lz4"], 64, memory_budget="512KB")
    assert dataset.memory_budget == 512_000
    with pytest.raises(datagen.OptionError, match="memory_budget 'much'"):
        keras_adapter.CacheDataset(caches["big-float-lz4"], 64, memory_budget="much")
