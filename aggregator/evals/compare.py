"""Summaries and paired comparisons of configuration runs, as plain JSON-ready data."""

from __future__ import annotations

from typing import Any

from aggregator.evals.metrics import QUALITY_METRICS, Metric
from aggregator.evals.runner import ConfigRun
from aggregator.evals.stats import ALPHA, bootstrap_ci, mcnemar, paired_difference, percentile

# Cost and speed: lower is better; compared by their paired difference only.
EFFICIENCY = (
    Metric("cost_usd", "Cost per card (USD)", higher_is_better=False),
    Metric("latency_ms", "Latency per card (ms)", higher_is_better=False),
    Metric("tokens_in", "Input tokens per card", higher_is_better=False),
    Metric("tokens_out", "Output tokens per card", higher_is_better=False),
)


def applicable(runs: list[ConfigRun]) -> list[Metric]:
    """Return the quality metrics that have a value for at least one case in some run."""
    return [
        m for m in QUALITY_METRICS if any(v is not None for r in runs for v in r.values(m.name))
    ]


def _present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def summarize_run(run: ConfigRun, metrics: list[Metric], seed: int = 0) -> dict[str, Any]:
    """Return a run's per-metric mean with its bootstrap 95% interval and pass rate, plus costs."""
    quality = {}
    for metric in metrics:
        values = _present(run.values(metric.name))
        passes = [metric.passed(v) for v in values]
        quality[metric.name] = {
            **bootstrap_ci(values, seed=seed).as_dict(),
            "pass_rate": sum(bool(p) for p in passes) / len(passes) if passes else None,
        }
    costs = _present(run.values("cost_usd"))
    latency = _present(run.values("latency_ms"))
    return {
        "cases": len(run.results),
        "failed": sum(1 for r in run.results if r.card is None),
        "cached": sum(1 for r in run.results if r.cached),
        "quality": quality,
        "cost_per_card_usd": bootstrap_ci(costs, seed=seed).as_dict(),
        "cost_total_usd": round(sum(costs), 6),
        "latency_p50_ms": percentile(latency, 50),
        "latency_p95_ms": percentile(latency, 95),
        "tokens_in_mean": sum(_present(run.values("tokens_in"))) / max(1, len(run.results)),
        "tokens_out_mean": sum(_present(run.values("tokens_out"))) / max(1, len(run.results)),
    }


def _verdict(metric: Metric, significant: bool, delta: float) -> str | None:
    """Return "B better" / "B worse" for a significant difference, else None."""
    if not significant or delta == 0:
        return None
    better = delta > 0 if metric.higher_is_better else delta < 0
    return "B better" if better else "B worse"


def compare_metric(a: ConfigRun, b: ConfigRun, metric: Metric, seed: int = 0) -> dict[str, Any]:
    """Return B - A for one metric: the paired difference, McNemar on pass/fail, a verdict.

    Yes/no metrics are judged by McNemar's test; graded ones by whether the
    paired difference's 95% interval excludes zero.
    """
    xs, ys = a.values(metric.name), b.values(metric.name)
    diff = paired_difference(xs, ys, seed=seed)
    test = mcnemar([metric.passed(x) for x in xs], [metric.passed(y) for y in ys])
    if metric.threshold is None and metric in QUALITY_METRICS:
        significant = test.p_value < ALPHA
    else:
        significant = diff.excludes_zero()
    return {
        "difference": diff.as_dict(),
        "mcnemar": test.as_dict(),
        "significant": significant,
        "verdict": _verdict(metric, significant, diff.mean),
    }


def compare_runs(
    a: ConfigRun, b: ConfigRun, metrics: list[Metric], seed: int = 0
) -> dict[str, Any]:
    """Return every metric's comparison (quality, then cost and latency) of B against A."""
    ids_a = [r.case_id for r in a.results]
    if ids_a != [r.case_id for r in b.results]:
        raise ValueError("eval: runs to compare must cover the same cases in the same order")
    out: dict[str, Any] = {}
    for metric in metrics:
        out[metric.name] = compare_metric(a, b, metric, seed)
    for metric in EFFICIENCY:
        result = compare_metric(a, b, metric, seed)
        result.pop("mcnemar")
        out[metric.name] = result
    return out
