"""The evaluation report: one JSON document, rendered as Markdown (and HTML, report_html)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aggregator.evals.compare import EFFICIENCY, applicable, compare_runs, summarize_run
from aggregator.evals.runner import ConfigRun
from aggregator.evals.sets import EvalSet

REPORT_FORMAT = "aggregator-eval-report/1"
LABELS = ("A", "B")


def _redact(url: str) -> str:
    """Return a URL without user info (a key must never reach a report)."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.hostname or ""))


def _config_entry(label: str, run: ConfigRun, summary: dict[str, Any]) -> dict[str, Any]:
    """Return a configuration's identity and summary for the report."""
    fingerprint = run.config.fingerprint()
    fingerprint.pop("topics", None)
    if fingerprint.get("base_url"):
        fingerprint["base_url"] = _redact(fingerprint["base_url"])
    path = str(run.config.path) if run.config.path else None
    return {"label": label, "name": run.config.name, "mode": run.config.mode, "path": path,
            "fingerprint": fingerprint, "summary": summary}  # fmt: skip


def build_document(eval_set: EvalSet, runs: list[ConfigRun], seed: int = 0) -> dict[str, Any]:
    """Return the report document of one or two runs over the same set."""
    metrics = applicable(runs)
    configs = [_config_entry(label, run, summarize_run(run, metrics, seed))
               for label, run in zip(LABELS, runs, strict=False)]  # fmt: skip
    comparison = compare_runs(runs[0], runs[1], metrics, seed) if len(runs) == 2 else None
    cases = []
    for i, case in enumerate(eval_set.cases):
        results = []
        for label, run in zip(LABELS, runs, strict=False):
            result = run.results[i]
            meta = {k: v for k, v in result.meta.items() if k != "draft"}
            results.append({"config": label, "metrics": result.metrics, "meta": meta,
                            "cached": result.cached, "error": result.error,
                            "card": result.card})  # fmt: skip
        cases.append({"id": case.id, "title": case.title, "sha256": case.sha256,
                      "results": results})  # fmt: skip
    return {
        "format": REPORT_FORMAT,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "set": {"name": eval_set.name, "path": str(eval_set.path), "sha256": eval_set.sha256,
                "cases": len(eval_set.cases)},
        "judge": runs[0].judge,
        "metrics": [{"name": m.name, "label": m.label, "threshold": m.threshold,
                     "scale": m.scale} for m in metrics],
        "efficiency": [{"name": m.name, "label": m.label} for m in EFFICIENCY],
        "configs": configs,
        "comparison": comparison,
        "cases": cases,
    }  # fmt: skip


def fmt(value: float | None, digits: int = 3) -> str:
    """Return a number for a table cell ('–' for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def fmt_ci(entry: dict[str, Any], digits: int = 3) -> str:
    """Return `mean [low, high]`."""
    if not entry.get("n"):
        return "–"
    return (
        f"{fmt(entry['mean'], digits)} [{fmt(entry['low'], digits)}, {fmt(entry['high'], digits)}]"
    )


def fmt_p(test: dict[str, Any] | None) -> str:
    """Return McNemar's p-value with the discordant counts (A-only/B-only)."""
    if not test:
        return "–"
    return f"{test['p_value']:.3g} ({test['a_only']}/{test['b_only']}, {test['method']})"


def quality_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Return the quality table: metric, each config's mean [CI] and pass rate, then B - A."""
    rows = []
    for metric in doc["metrics"]:
        row = [metric["label"]]
        for config in doc["configs"]:
            entry = config["summary"]["quality"][metric["name"]]
            row += [fmt_ci(entry), fmt(entry["pass_rate"], 2)]
        if doc["comparison"]:
            comp = doc["comparison"][metric["name"]]
            row += [fmt_ci(comp["difference"]), fmt_p(comp["mcnemar"]), comp["verdict"] or "–"]
        rows.append(row)
    return rows


def efficiency_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Return the cost and latency table."""
    rows = [
        ["$/card [95% CI]",
         *(fmt_ci(c["summary"]["cost_per_card_usd"], 5) for c in doc["configs"])],
        ["$ total", *(fmt(c["summary"]["cost_total_usd"], 4) for c in doc["configs"])],
        ["latency p50 (ms)", *(fmt(c["summary"]["latency_p50_ms"], 0) for c in doc["configs"])],
        ["latency p95 (ms)", *(fmt(c["summary"]["latency_p95_ms"], 0) for c in doc["configs"])],
        ["tokens in / out (mean)", *(f"{c['summary']['tokens_in_mean']:.0f} / "
                                     f"{c['summary']['tokens_out_mean']:.0f}"
                                     for c in doc["configs"])],
        ["failed / cached cards", *(f"{c['summary']['failed']} / {c['summary']['cached']}"
                                    for c in doc["configs"])],
    ]  # fmt: skip
    if doc["comparison"]:
        for metric in doc["efficiency"]:
            comp = doc["comparison"][metric["name"]]
            digits = 5 if metric["name"] == "cost_usd" else 1
            rows.append([f"B − A {metric['label']}", fmt_ci(comp["difference"], digits),
                         comp["verdict"] or "–"])  # fmt: skip
    return rows


def quality_header(doc: dict[str, Any]) -> list[str]:
    """Return the quality table's header."""
    header = ["Metric"]
    for config in doc["configs"]:
        header += [f"{config['label']} mean [95% CI]", f"{config['label']} pass"]
    if doc["comparison"]:
        header += ["B − A [95% CI]", "McNemar p (A-only/B-only)", "Verdict"]
    return header


def describe_config(config: dict[str, Any]) -> str:
    """Return a one-line description of a configuration."""
    fp = config["fingerprint"]
    what = f"{fp.get('model')}, prompt {fp.get('prompt')}" if config["mode"] == "llm" else "offline"
    return f"{config['label']} = {config['name']} ({config['mode']}: {what})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    width = max(len(header), *(len(r) for r in rows)) if rows else len(header)
    header = header + [""] * (width - len(header))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
    return lines


def render_markdown(doc: dict[str, Any]) -> str:
    """Return the report as Markdown."""
    s = doc["set"]
    lines = [
        f"# Evaluation: {s['name']}",
        "",
        f"{s['cases']} cases, set sha256 `{s['sha256'][:16]}…`, {doc['created_at']}",
        "",
    ]
    lines += [f"- {describe_config(c)}" for c in doc["configs"]]
    if doc["judge"]:
        lines.append(f"- judge: {doc['judge']['model']} ({doc['judge']['prompt']})")
    lines += ["", "## Quality", "", *_table(quality_header(doc), quality_rows(doc))]
    header = ["", *(c["label"] for c in doc["configs"])]
    lines += ["", "## Cost and latency", "", *_table(header, efficiency_rows(doc)), ""]
    if doc["comparison"]:
        lines += [
            "A verdict appears only where the difference is significant at 5% "
            "(McNemar for yes/no metrics, the paired 95% interval otherwise).",
            "",
        ]
    failures = [(c["id"], r["config"], r["error"]) for c in doc["cases"] for r in c["results"]
                if r["error"]]  # fmt: skip
    if failures:
        lines += ["## Cases without a card", ""]
        lines += [f"- {case} ({label}): {error}" for case, label, error in failures] + [""]
    return "\n".join(lines)
