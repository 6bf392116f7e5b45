"""The HTML report: one self-contained page (inline CSS and SVG, no external resources)."""

from __future__ import annotations

from html import escape
from typing import Any

from aggregator.evals.report import (
    describe_config,
    efficiency_rows,
    quality_header,
    quality_rows,
)

COLOURS = {"A": "#2f6db5", "B": "#d9822b"}
CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f3f3f3;text-align:left}td{font-variant-numeric:tabular-nums}
.better{color:#176b2c;font-weight:600}.worse{color:#a4161a;font-weight:600}
code{background:#f3f3f3;padding:0 .2rem}
"""
LABEL_W, BAR_W, ROW_H, BAR_H = 230, 420, 46, 14


def _bar(label: str, y: float, entry: dict[str, Any], scale: float) -> str:
    """Return one bar (mean) with its whisker (95% interval) as SVG elements."""
    if not entry.get("n"):
        return ""
    x0 = LABEL_W

    def at(value: float) -> float:
        return x0 + BAR_W * max(0.0, min(1.0, value / scale))

    colour = COLOURS[label]
    mid = y + BAR_H / 2
    return (
        f'<rect x="{x0}" y="{y:.1f}" width="{at(entry["mean"]) - x0:.1f}" height="{BAR_H}" '
        f'fill="{colour}" opacity="0.85"><title>{label}: {entry["mean"]:.3f}</title></rect>'
        f'<line x1="{at(entry["low"]):.1f}" x2="{at(entry["high"]):.1f}" y1="{mid:.1f}" '
        f'y2="{mid:.1f}" stroke="#111" stroke-width="1.5"/>'
        f'<text x="{at(entry["high"]) + 6:.1f}" y="{mid + 4:.1f}" font-size="11">'
        f"{label} {entry['mean']:.2f}</text>"
    )


def render_chart(doc: dict[str, Any]) -> str:
    """Return an inline SVG bar chart of every quality metric's mean and 95% interval."""
    metrics = doc["metrics"]
    height = ROW_H * len(metrics) + 30
    width = LABEL_W + BAR_W + 90
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="Quality metrics, mean and 95% interval per configuration">'
    ]
    for i, metric in enumerate(metrics):
        top = 10 + i * ROW_H
        parts.append(f'<text x="0" y="{top + 18}" font-size="13">{escape(metric["label"])}</text>')
        for j, config in enumerate(doc["configs"]):
            entry = config["summary"]["quality"][metric["name"]]
            parts.append(_bar(config["label"], top + j * (BAR_H + 2), entry, metric["scale"]))
    axis = 10 + ROW_H * len(metrics)
    parts.append(
        f'<line x1="{LABEL_W}" x2="{LABEL_W + BAR_W}" y1="{axis}" y2="{axis}" '
        f'stroke="#888"/><text x="{LABEL_W}" y="{axis + 14}" font-size="11">0</text>'
        f'<text x="{LABEL_W + BAR_W - 20}" y="{axis + 14}" font-size="11">max</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _cell(text: str) -> str:
    css = ' class="better"' if text == "B better" else ' class="worse"' if text == "B worse" else ""
    return f"<td{css}>{escape(text)}</td>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cases(doc: dict[str, Any]) -> str:
    """Return the per-case table: the main metrics of each configuration."""
    names = [m["name"] for m in doc["metrics"]][:6]
    header = ["Case", *(f"{c['label']}" for c in doc["configs"])]
    rows = []
    for case in doc["cases"]:
        cells = [case["id"]]
        for result in case["results"]:
            if result["error"]:
                cells.append(f"no card: {result['error']}")
                continue
            values = (result["metrics"].get(n) for n in names)
            cells.append(" · ".join("–" if v is None else f"{v:.2f}" for v in values))
        rows.append(cells)
    legend = "Per case: " + ", ".join(m["label"] for m in doc["metrics"][:6])
    return f"<p>{escape(legend)}</p>" + _table(header, rows)


def render_html(doc: dict[str, Any]) -> str:
    """Return the report as one HTML page."""
    s = doc["set"]
    configs = "".join(f"<li>{escape(describe_config(c))}</li>" for c in doc["configs"])
    if doc["judge"]:
        configs += (
            f"<li>judge: {escape(doc['judge']['model'])} ({escape(doc['judge']['prompt'])})</li>"
        )
    title = f"Evaluation: {s['name']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body><h1>{escape(title)}</h1>
<p>{s["cases"]} cases · set sha256 <code>{escape(s["sha256"][:16])}…</code> ·
{escape(doc["created_at"])}</p>
<ul>{configs}</ul>
<h2>Quality</h2>
{render_chart(doc)}
{_table(quality_header(doc), quality_rows(doc))}
<p>A verdict appears only where a difference is significant at 5%: McNemar's test for yes/no
metrics, the paired bootstrap 95% interval for graded ones.</p>
<h2>Cost and latency</h2>
{_table(["", *(c["label"] for c in doc["configs"])], efficiency_rows(doc))}
<h2>Cases</h2>
{_cases(doc)}
</body></html>
"""
