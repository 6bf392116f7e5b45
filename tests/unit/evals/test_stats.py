"""The statistics checked against SciPy on the same data, and against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from aggregator.evals.stats import (
    binomial_two_sided,
    bootstrap_ci,
    chi2_sf_1df,
    mcnemar,
    paired_difference,
    percentile,
)


def test_stats_bootstrap_matches_scipy_percentile_bootstrap() -> None:
    data = np.random.default_rng(7).normal(0.6, 0.2, size=120)
    ours = bootstrap_ci(data.tolist(), resamples=20000, seed=1)
    theirs = sp.bootstrap((data,), np.mean, confidence_level=0.95, n_resamples=20000,
                          method="percentile", random_state=2).confidence_interval  # fmt: skip
    assert ours.mean == pytest.approx(data.mean())
    # Two Monte Carlo estimates of the same interval: equal up to resampling noise.
    assert ours.low == pytest.approx(theirs.low, abs=0.004)
    assert ours.high == pytest.approx(theirs.high, abs=0.004)


def test_stats_bootstrap_agrees_with_normal_closed_form_for_large_n() -> None:
    data = np.random.default_rng(3).uniform(0, 1, size=2000)
    ours = bootstrap_ci(data.tolist(), resamples=4000, seed=0)
    half = 1.959964 * data.std(ddof=0) / math.sqrt(len(data))
    assert ours.low == pytest.approx(data.mean() - half, abs=0.002)
    assert ours.high == pytest.approx(data.mean() + half, abs=0.002)


def test_stats_bootstrap_is_reproducible_and_handles_degenerate_data() -> None:
    values = [0.0, 1.0, 1.0, 0.5, 0.25, 1.0]
    assert bootstrap_ci(values, seed=5) == bootstrap_ci(values, seed=5)
    constant = bootstrap_ci([1.0] * 8)
    assert (constant.mean, constant.low, constant.high, constant.n) == (1.0, 1.0, 1.0, 8)
    empty = bootstrap_ci([])
    assert empty.n == 0 and empty.as_dict()["mean"] is None


def test_stats_paired_difference_skips_missing_pairs() -> None:
    a = [0.5, None, 0.2, 0.9, 0.4]
    b = [0.7, 0.3, None, 1.0, 0.6]
    diff = paired_difference(a, b, seed=0)
    assert diff.n == 3
    assert diff.mean == pytest.approx((0.2 + 0.1 + 0.2) / 3)
    assert 0.1 - 1e-9 <= diff.low <= diff.mean <= diff.high <= 0.2 + 1e-9
    assert diff.excludes_zero()


@pytest.mark.parametrize("n", [1, 2, 5, 9, 10, 17, 24])
def test_stats_exact_binomial_matches_scipy_binomtest(n: int) -> None:
    for k in range(n + 1):
        expected = sp.binomtest(k, n, 0.5, alternative="two-sided").pvalue
        assert binomial_two_sided(k, n) == pytest.approx(expected, rel=1e-9), (k, n)


@pytest.mark.parametrize("statistic", [0.0, 0.5, 1.0, 3.841458820694124, 6.635, 20.0])
def test_stats_chi2_survival_matches_scipy(statistic: float) -> None:
    assert chi2_sf_1df(statistic) == pytest.approx(sp.chi2.sf(statistic, df=1), rel=1e-9)


def test_stats_mcnemar_exact_for_few_discordant_pairs() -> None:
    # A passes 8 cases B fails, B passes 1 case A fails; 11 cases agree.
    a = [True] * 8 + [False] + [True] * 6 + [False] * 5
    b = [False] * 8 + [True] + [True] * 6 + [False] * 5
    test = mcnemar(a, b)
    assert (test.a_only, test.b_only, test.method) == (8, 1, "exact")
    assert test.p_value == pytest.approx(sp.binomtest(1, 9, 0.5).pvalue)
    assert test.p_value == pytest.approx(20 / 512)  # 2 * (C(9,0) + C(9,1)) / 2^9


def test_stats_mcnemar_chi2_with_continuity_correction_for_many_pairs() -> None:
    a = [True] * 30 + [False] * 10 + [True] * 5
    b = [False] * 30 + [True] * 10 + [True] * 5
    test = mcnemar(a, b)
    assert (test.a_only, test.b_only, test.method) == (30, 10, "chi2")
    assert test.statistic == pytest.approx((abs(30 - 10) - 1) ** 2 / 40)  # 9.025
    assert test.p_value == pytest.approx(sp.chi2.sf(9.025, 1))


def test_stats_mcnemar_without_discordant_pairs_or_with_missing_outcomes() -> None:
    assert mcnemar([True, False], [True, False]).p_value == 1.0
    test = mcnemar([True, None, True], [False, False, None])
    assert (test.a_only, test.b_only) == (1, 0)


def test_stats_percentile_matches_numpy() -> None:
    values = [120.0, 80.0, 95.0, 300.0, 101.0]
    assert percentile(values, 50) == 101.0
    assert percentile(values, 95) == pytest.approx(np.percentile(values, 95))
    assert percentile([], 50) is None
