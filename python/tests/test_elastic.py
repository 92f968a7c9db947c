"""Elastic resume: a checkpoint taken with W ranks restores with another world size when the global
batch (batch_size × world_size), seed, order, drop_last and fingerprint agree; the position is the
epoch's global samples served. Anything else is refused naming the field."""

import pytest

import datagen

BACKENDS = ["numpy", pytest.param("engine", marks=pytest.mark.skipif(
    not datagen.engine_available(), reason="the engine library was not built (no Swift toolchain at install time)"))]

# text-none-lz4: 25 rows, data row i = [i, i + 0.5, -i], so a batch names its rows.
KIND = "text-none-lz4"
ROWS = 25
GLOBAL_BATCH = 4
CONSUMED = 2
# (old world size, new world size): 2 → 1, 1 → 2, 2 → 4.
CHANGES = [(2, 1), (1, 2), (2, 4)]


def _rows(batch):
    return [int(v) for v in batch["data"][:, 0]]


def _run(cache, world, rank, drop_last, **changes):
    arguments = dict(batch_size=GLOBAL_BATCH // world, shuffle="full", seed=5, rank=rank, world_size=world,
                     drop_last=drop_last, epochs=2)
    arguments.update(changes)
    return cache.batches(**arguments)


def _checkpoint(cache, world, drop_last):
    """Rank 0's state after every rank of a ``world``-rank run served ``CONSUMED`` batches."""
    run = _run(cache, world, 0, drop_last)
    for _ in range(CONSUMED):
        next(run)
    return run.state()


def _remaining_of_epoch(cache, world, drop_last, state=None):
    """For each remaining batch index of the epoch, the rows all ``world`` ranks serve together."""
    per_index = {}
    for rank in range(world):
        run = _run(cache, world, rank, drop_last)
        if state is None:
            for _ in range(CONSUMED):
                next(run)
        else:
            run.restore(state)
        epoch = run.position()[0]
        while run.position()[0] == epoch and len(run):
            index = run.position()[1]
            per_index.setdefault(index, []).extend(_rows(next(run)))
    return {index: sorted(rows) for index, rows in per_index.items()}


def _epoch_order(cache):
    """The global order of epoch 0 (one rank serves every position)."""
    return _rows(next(cache.batches(batch_size=ROWS, shuffle="full", seed=5, epochs=1)))


@pytest.mark.parametrize("old,new", CHANGES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_with_drop_last_every_remaining_global_batch_is_the_one_the_old_world_would_serve(caches, backend, old, new):
    cache = datagen.open(caches[KIND], backend=backend)
    state = _checkpoint(cache, old, drop_last=True)
    assert state["samples"] == CONSUMED * GLOBAL_BATCH
    resumed = _remaining_of_epoch(cache, new, True, state)
    uninterrupted = _remaining_of_epoch(cache, old, True)
    assert resumed == uninterrupted
    # Together they are the epoch's global positions [samples, ⌊rows / global batch⌋ · global batch).
    order = _epoch_order(cache)
    served = sorted(row for rows in resumed.values() for row in rows)
    assert served == sorted(order[CONSUMED * GLOBAL_BATCH:(ROWS // GLOBAL_BATCH) * GLOBAL_BATCH])


@pytest.mark.parametrize("old,new", CHANGES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_keeping_the_last_partial_batch_the_new_world_serves_the_rest_of_the_epoch_under_its_remainder(
        caches, backend, old, new):
    cache = datagen.open(caches[KIND], backend=backend)
    state = _checkpoint(cache, old, drop_last=False)
    resumed = _remaining_of_epoch(cache, new, False, state)
    order = _epoch_order(cache)
    served = sorted(row for rows in resumed.values() for row in rows)
    # Positions from the saved sample up to the new world's share of the epoch (remainder dropped).
    assert served == sorted(order[CONSUMED * GLOBAL_BATCH:(ROWS // new) * new])
    # Ranks stay disjoint.
    assert len(served) == len(set(served))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_resumed_run_goes_on_into_the_next_epoch_as_a_fresh_run_of_the_new_world(caches, backend):
    cache = datagen.open(caches[KIND], backend=backend)
    state = _checkpoint(cache, 2, drop_last=False)
    run = _run(cache, 4, 3, False).restore(state)
    resumed = [(run.position(), _rows(batch)) for batch in run]
    fresh = _run(cache, 4, 3, False)
    expected = [(fresh.position(), _rows(batch)) for batch in fresh]
    assert len(resumed) < len(expected)  # the restore skipped the batches served before the checkpoint
    assert resumed == [entry for entry in expected if entry[0] >= resumed[0][0]]
    assert resumed[-1] == expected[-1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_checkpoint_past_the_new_worlds_last_batch_of_the_epoch_resumes_at_the_next_epoch(caches, backend):
    cache = datagen.open(caches[KIND], backend=backend)
    # One rank, batches of 4, 25 rows: 7 batches, the last of one row; after 6, sample 24.
    run = _run(cache, 1, 0, False)
    for _ in range(6):
        next(run)
    state = run.state()
    assert state["samples"] == 24
    # Four ranks of one: each serves 6 positions (24 in all), so sample 24 is past the epoch.
    assert _run(cache, 4, 2, False).restore(state).position() == (1, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_checkpoint_of_another_run_is_refused_naming_the_field(caches, backend):
    cache = datagen.open(caches[KIND], backend=backend)
    state = _checkpoint(cache, 2, drop_last=False)
    refusals = {"global batch": dict(batch_size=3), "seed": dict(seed=6), "shuffle 'full' \\(this run: 'none'\\)": dict(shuffle="none"),
                "drop_last": dict(drop_last=True), "end_epoch": dict(epochs=3)}
    for field, change in refusals.items():
        arguments = dict(drop_last=False)
        arguments.update(change)
        with pytest.raises(datagen.OptionError, match=field):
            _run(cache, 1, 0, **arguments).restore(state)
    with pytest.raises(datagen.OptionError, match="batch_size"):
        _run(cache, 2, 1, False, batch_size=4).restore(state)
    other = datagen.open(caches["text-label-lz4"], backend=backend)
    with pytest.raises(datagen.OptionError, match="fingerprint"):
        _run(other, 1, 0, False).restore(state)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_shuffle_refusal_names_the_shuffle_values_as_the_user_spells_them(caches, backend):
    cache = datagen.open(caches[KIND], backend=backend)
    state = _checkpoint(cache, 2, drop_last=False)
    with pytest.raises(datagen.OptionError) as refused:
        _run(cache, 2, 0, False, shuffle="window").restore(state)
    assert "shuffle 'full' (this run: 'window')" in str(refused.value)
    assert "rowsPerBlock" not in str(refused.value) and "order" not in str(refused.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_version_1_checkpoint_still_restores_and_a_newer_one_is_refused(caches, backend):
    cache = datagen.open(caches[KIND], backend=backend)
    state = _checkpoint(cache, 2, drop_last=False)
    expected = [_rows(batch) for batch in _run(cache, 1, 0, False).restore(state)]
    old = {key: value for key, value in state.items() if key not in ("version", "samples")}
    assert [_rows(batch) for batch in _run(cache, 1, 0, False).restore(old)] == expected
    with pytest.raises(datagen.OptionError, match="version 3"):
        _run(cache, 1, 0, False).restore(dict(state, version=3))
    with pytest.raises(datagen.OptionError, match="samples"):
        _run(cache, 1, 0, False).restore(dict(state, samples=5))
