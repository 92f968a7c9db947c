"""Epoch orders: SplitMix64, Feistel permutations, window order and shards (docs/EPOCHS.md)."""


import numpy as np
import pytest

import datagen
from datagen._order import (BatchPlan, EpochOrder, Feistel, Shard, STREAM_BLOCKS, STREAM_WINDOW, epoch_permutation,
                            mix, mix_array, order_key)


def test_splitmix_mix_gives_the_reference_generator_outputs():
    # SplitMix64 seeded with 0 yields mix(φ), mix(2φ), …: the published reference sequence.
    golden = 0x9E3779B97F4A7C15
    outputs = [mix((golden * k) & (2**64 - 1)) for k in (1, 2, 3)]
    assert outputs == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_vectorised_mix_equals_the_scalar_mix():
    values = [0, 1, 2**63, 2**64 - 1, 0x123456789ABCDEF0]
    assert mix_array(np.array(values, dtype=np.uint64)).tolist() == [mix(v) for v in values]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 17, 64, 65, 1000, 4097])
def test_feistel_is_a_permutation_whose_vectorised_form_equals_the_scalar_one(count):
    permutation = Feistel(count, order_key(7, 3, 1))
    elements = permutation.elements()
    assert sorted(elements.tolist()) == list(range(count))
    assert elements.tolist() == [permutation.element(p) for p in range(count)]
    assert [permutation.position(e) for e in elements.tolist()] == list(range(count))


def test_feistel_depends_on_the_key():
    assert Feistel(1000, 1).elements().tolist() != Feistel(1000, 2).elements().tolist()


def test_full_order_differs_between_epochs_and_seeds_and_repeats_for_the_same_arguments():
    full = EpochOrder("full")
    first = epoch_permutation(full, 1, 0, 500)
    assert first.tolist() == epoch_permutation(full, 1, 0, 500).tolist()
    assert first.tolist() != epoch_permutation(full, 1, 1, 500).tolist()
    assert first.tolist() != epoch_permutation(full, 2, 0, 500).tolist()
    assert sorted(first.tolist()) == list(range(500))


def _swift_window_row(count, rows_per_block, blocks_per_window, seed, epoch, position):
    """A line-by-line port of the Swift WindowOrder.row(at:) (position at a time)."""
    block_count = (count + rows_per_block - 1) // rows_per_block
    block_order = Feistel(block_count, order_key(seed, epoch, STREAM_BLOCKS))
    remainder = count % rows_per_block
    shortfall = 0 if remainder == 0 else rows_per_block - remainder
    short_position = 0 if block_count == 0 else block_order.position(block_count - 1)

    def size(w):
        first = w * blocks_per_window
        blocks = min(blocks_per_window, block_count - first)
        s = blocks * rows_per_block
        if first <= short_position < first + blocks:
            s -= shortfall
        return s

    def start(w):
        first_block = w * blocks_per_window
        s = first_block * rows_per_block
        if short_position < first_block:
            s -= shortfall
        return s

    full = blocks_per_window * rows_per_block
    w = position // full
    if start(w) > position:
        w -= 1
    if w + 1 < (block_count + blocks_per_window - 1) // blocks_per_window and start(w + 1) <= position:
        w += 1
    local = position - start(w)
    offset = Feistel(size(w), order_key(seed, epoch, STREAM_WINDOW, w)).element(local)
    slot = w * blocks_per_window
    while True:
        block = block_order.element(slot)
        s = rows_per_block - shortfall if block == block_count - 1 else rows_per_block
        if offset < s:
            return block * rows_per_block + offset
        offset -= s
        slot += 1


@pytest.mark.parametrize("count,rows_per_block,blocks_per_window", [
    (0, 4, 2), (1, 4, 2), (10, 4, 2), (37, 4, 3), (64, 8, 2), (100, 7, 5), (333, 10, 4), (50, 100, 16)])
def test_window_order_equals_the_position_at_a_time_algorithm(count, rows_per_block, blocks_per_window):
    order = EpochOrder("window", rows_per_block, blocks_per_window)
    for seed, epoch in [(0, 0), (5, 2)]:
        rows = epoch_permutation(order, seed, epoch, count).tolist()
        assert sorted(rows) == list(range(count))
        assert rows == [_swift_window_row(count, rows_per_block, blocks_per_window, seed, epoch, p)
                        for p in range(count)]


def test_window_order_keeps_each_window_within_its_blocks():
    rows = epoch_permutation(EpochOrder("window", 10, 2), 3, 0, 200)
    for window in range(10):
        blocks = {r // 10 for r in rows[window * 20:(window + 1) * 20].tolist()}
        assert len(blocks) == 2


def test_window_order_defaults_are_the_swift_defaults():
    assert EpochOrder.parse("window") == EpochOrder("window", 512, 16)


def test_a_sixty_thousand_row_epoch_permutation_visits_every_row_once():
    # Its cost is measured by python/benchmarks/bench_python.py, not here: timed tests are noise.
    for name in ("full", "window"):
        rows = epoch_permutation(EpochOrder(name), 1, 0, 60_000)
        assert np.array_equal(np.sort(rows), np.arange(60_000)), name
        assert not np.array_equal(rows, np.arange(60_000)), name


def test_dropping_shards_are_disjoint_and_equal():
    plans = [BatchPlan(103, 10, EpochOrder("full"), 4, Shard(r, 4), False) for r in range(4)]
    served = [plan.epoch_rows(0) for plan in plans]
    assert {len(rows) for rows in served} == {25}
    together = np.concatenate(served)
    assert len(set(together.tolist())) == 100


def test_padding_shards_wrap_to_the_first_rows_of_the_epoch():
    plans = [BatchPlan(10, 2, EpochOrder("none"), 0, Shard(r, 4, "pad"), False) for r in range(4)]
    assert [plan.epoch_rows(0).tolist() for plan in plans] == [[0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1]]


def test_an_impossible_shard_is_an_error_naming_rank_and_world_size():
    with pytest.raises(datagen.CacheError, match="rank 4 does not exist in a world of size 4"):
        Shard(4, 4)


def test_an_unknown_shuffle_mode_is_an_error_naming_it():
    with pytest.raises(datagen.CacheError, match="'sideways'"):
        EpochOrder.parse("sideways")


def test_a_batch_larger_than_a_dropping_epoch_is_an_error_naming_both_sizes():
    with pytest.raises(datagen.CacheError, match="batch size 11 is larger than the data set \\(10 records\\)"):
        BatchPlan(10, 11, EpochOrder("none"), 0, Shard(), True)


def test_batches_cover_the_epoch_with_a_partial_last_batch_unless_dropped():
    kept = BatchPlan(10, 4, EpochOrder("none"), 0, Shard(), False)
    assert [kept.rows(0, i).tolist() for i in range(kept.batches_per_epoch)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = BatchPlan(10, 4, EpochOrder("none"), 0, Shard(), True)
    assert dropped.batches_per_epoch == 2
