"""Stratified sampling for `eval freeze`: seeded, every stratum represented, proportional."""

from __future__ import annotations

import random
from collections import Counter

from aggregator.evals.freeze import allocate, stratified_sample

KEYS = ["feed-a|models"] * 60 + ["feed-a|policy"] * 20 + ["feed-b|models"] * 15 + ["reddit|-"] * 5


def test_sampling_is_reproducible_with_a_seed() -> None:
    assert stratified_sample(KEYS, 20, seed=4) == stratified_sample(KEYS, 20, seed=4)
    assert stratified_sample(KEYS, 20, seed=4) != stratified_sample(KEYS, 20, seed=5)


def test_sampling_represents_every_stratum_in_proportion() -> None:
    picked = stratified_sample(KEYS, 20, seed=1)
    counts = Counter(KEYS[i] for i in picked)
    assert len(picked) == len(set(picked)) == 20
    assert set(counts) == set(KEYS)  # the 5-story stratum is not lost
    # One each, then the 16 left split by spare size 59:19:14:4 (shares 9.83, 3.17, 2.33, 0.67):
    # floors 9, 3, 2, 0 and the two largest remainders (0.83, 0.67) get one more.
    assert counts == {"feed-a|models": 11, "feed-a|policy": 4, "feed-b|models": 3, "reddit|-": 2}


def test_sampling_takes_everything_when_the_sample_is_larger() -> None:
    assert stratified_sample(KEYS, 500, seed=0) == list(range(len(KEYS)))


def test_sampling_with_fewer_slots_than_strata_picks_distinct_strata() -> None:
    picked = stratified_sample(KEYS, 3, seed=2)
    assert len({KEYS[i] for i in picked}) == 3


def test_sampling_allocation_never_exceeds_a_stratum() -> None:
    rng = random.Random(0)
    for _ in range(200):
        sizes = {f"s{i}": rng.randint(1, 30) for i in range(rng.randint(1, 8))}
        sample = rng.randint(1, sum(sizes.values()))
        quotas = allocate(sizes, sample, random.Random(1))
        assert sum(quotas.values()) == sample
        assert all(0 <= quotas[k] <= sizes[k] for k in sizes)
