"""Statistics for comparisons: bootstrap intervals, paired differences, McNemar's test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 4000
ALPHA = 0.05
# Below this many discordant pairs the chi-square approximation is poor: use the exact test.
EXACT_BELOW = 25


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap confidence interval over n cases."""

    mean: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        """Return True when the whole interval lies on one side of zero."""
        return self.n > 0 and (self.low > 0 or self.high < 0)

    def as_dict(self) -> dict[str, Any]:
        """Return the interval as plain JSON data (None where undefined: strict JSON has no NaN)."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v
                for k, v in asdict(self).items()}  # fmt: skip


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on paired pass/fail outcomes of configurations A and B."""

    a_only: int  # cases A passes and B fails
    b_only: int  # cases B passes and A fails
    statistic: float | None
    p_value: float
    method: str  # exact | chi2 | none

    def as_dict(self) -> dict[str, Any]:
        """Return the test result as plain JSON data."""
        return asdict(self)


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Return the mean of values with a percentile-bootstrap interval (seeded, reproducible)."""
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(data.mean())
    if n == 1 or np.all(data == data[0]):
        return Interval(mean, mean, mean, n)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # Resample in blocks so a large set never needs resamples x n memory at once.
    block = max(1, 2_000_000 // n)
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        means[start:stop] = data[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(mean, float(low), float(high), n)


def paired_difference(
    a: Sequence[float | None], b: Sequence[float | None], *, seed: int = 0, **options: Any
) -> Interval:
    """Return mean(b - a) over the cases where both have a value, with its bootstrap interval."""
    diffs = [y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return bootstrap_ci(diffs, seed=seed, **options)


def binomial_two_sided(k: int, n: int) -> float:
    """Return the exact two-sided p-value of k successes in n fair coin flips."""
    if n == 0:
        return 1.0
    low = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(low + 1)) / 2**n
    return min(1.0, 2 * tail)


def chi2_sf_1df(statistic: float) -> float:
    """Return P(X > statistic) for a chi-square variable with one degree of freedom."""
    return math.erfc(math.sqrt(max(statistic, 0.0) / 2))


def mcnemar(a_pass: Sequence[bool | None], b_pass: Sequence[bool | None]) -> McNemar:
    """Return McNemar's test on paired outcomes (pairs with a missing outcome are skipped).

    Exact binomial when there are fewer than 25 discordant pairs, otherwise the
    chi-square statistic with Edwards' continuity correction.
    """
    pairs = [(x, y) for x, y in zip(a_pass, b_pass, strict=True) if x is not None and y is not None]
    a_only = sum(1 for x, y in pairs if x and not y)
    b_only = sum(1 for x, y in pairs if y and not x)
    discordant = a_only + b_only
    if discordant == 0:
        return McNemar(a_only, b_only, None, 1.0, "none")
    if discordant < EXACT_BELOW:
        return McNemar(a_only, b_only, None, binomial_two_sided(a_only, discordant), "exact")
    statistic = (abs(a_only - b_only) - 1) ** 2 / discordant
    return McNemar(a_only, b_only, statistic, chi2_sf_1df(statistic), "chi2")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (linear interpolation), or None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None
