"""Comparisons and reports over hand-made cards (a pluggable card maker, no model)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli.eval import write_reports
from aggregator.evals.api import evaluate
from aggregator.evals.configs import EvalConfig, offline_config
from aggregator.evals.report import render_markdown
from aggregator.evals.sets import Case, EvalError, write_set

SENTENCES = [
    "Orison taped out an inference accelerator with 288 GB of memory on Monday.",
    "The company expects production units in customer data centers in the fourth quarter.",
    "Halo supports only 8-bit and 4-bit number formats and gives up training entirely.",
    "Two cloud providers have signed letters of intent according to the company.",
]
TEXT = "\n\n".join(SENTENCES)
FAKE = "This quote appears nowhere in the article text at all."


def card(citations: list[str], title: str = "Orison tapes out Halo") -> dict[str, Any]:
    points = [{"text": f"Point {i}", "citations": [c]} for i, c in enumerate(citations)]
    return {
        "title": title, "hook": "A memory-heavy chip for serving models.",
        "tldr": {"what_changed": "Tape-out.", "why_it_matters": "More users per chip.",
                 "what_to_do_next": ""},
        "key_takeaways": points[:3], "technical_deep_dive": [], "future_implications": points[3:],
        "topics": [{"slug": "hardware", "score": 0.9}], "entities": [], "timeliness": "time-bound",
    }  # fmt: skip


@pytest.fixture
def ten_cases(tmp_path: Path) -> Path:
    cases = [Case(id=f"case-{i}", title=f"Case {i}", text=TEXT, labels={"topics": ["hardware"]})
             for i in range(10)]  # fmt: skip
    write_set(tmp_path / "set", cases, name="ten", topics=[{"slug": "hardware", "name": "HW"}])
    return tmp_path / "set"


def maker(b_card: Any, b_cost: float = 0.002) -> Any:
    """Return a card maker: A always writes a perfect card, B what `b_card(case)` says."""

    def make(case: Case, config: EvalConfig) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        index = int(case.id.split("-")[1])
        if config.name == "A":
            return card(SENTENCES), {"cost_usd": 0.001, "latency_ms": 100 + index}
        made = b_card(index)
        meta = {"cost_usd": b_cost, "latency_ms": 100 + index}
        return (made, meta) if made is not None else (None, {**meta, "error": "model said no"})

    return make


def run(set_dir: Path, make: Any) -> dict[str, Any]:
    return evaluate(set_dir, [offline_config("A"), offline_config("B")], make_card=make)


def test_compare_verdict_where_mcnemar_is_significant(ten_cases: Path) -> None:
    doc = run(ten_cases, maker(lambda i: card(SENTENCES, title="x" * 120)))
    schema = doc["comparison"]["schema_valid"]
    assert schema["mcnemar"]["a_only"] == 10 and schema["mcnemar"]["method"] == "exact"
    assert schema["mcnemar"]["p_value"] == pytest.approx(2 / 1024)
    assert schema["verdict"] == "B worse"
    assert doc["comparison"]["citation_rate"]["verdict"] is None  # both fully grounded
    assert doc["comparison"]["cost_usd"]["verdict"] == "B worse"  # B costs twice as much
    assert doc["comparison"]["latency_ms"]["verdict"] is None  # same latency per case


def test_compare_no_verdict_when_few_cases_differ(ten_cases: Path) -> None:
    two_bad = maker(lambda i: card(SENTENCES, title="x" * 120 if i < 2 else "ok"), b_cost=0.001)
    doc = run(ten_cases, two_bad)
    schema = doc["comparison"]["schema_valid"]
    assert schema["mcnemar"]["p_value"] == pytest.approx(0.5)
    assert schema["verdict"] is None and schema["significant"] is False


def test_compare_graded_metric_uses_the_paired_interval(ten_cases: Path) -> None:
    doc = run(ten_cases, maker(lambda i: card([*SENTENCES[:2], FAKE, FAKE])))
    grounding = doc["comparison"]["citation_rate"]
    assert grounding["difference"]["mean"] == pytest.approx(-0.5)
    assert grounding["verdict"] == "B worse"
    b = doc["configs"][1]["summary"]["quality"]
    assert b["citation_rate"]["mean"] == pytest.approx(0.5) and b["citation_rate"]["pass_rate"] == 0


def test_compare_failed_cards_count_as_failures_and_are_listed(ten_cases: Path) -> None:
    doc = run(ten_cases, maker(lambda i: None if i == 3 else card(SENTENCES)))
    b = doc["configs"][1]["summary"]
    assert b["failed"] == 1
    assert b["quality"]["schema_valid"]["mean"] == pytest.approx(0.9)
    assert "case-3 (B): model said no" in render_markdown(doc)


def test_compare_reports_are_strict_json_markdown_and_self_contained_html(
    ten_cases: Path, tmp_path: Path
) -> None:
    doc = run(ten_cases, maker(lambda i: card([*SENTENCES[:2], FAKE, FAKE])))
    paths = write_reports(doc, tmp_path / "out")
    loaded = json.loads(paths["json"].read_text(), parse_constant=lambda c: pytest.fail(c))
    assert loaded["set"]["cases"] == 10 and len(loaded["cases"]) == 10
    markdown = paths["md"].read_text()
    assert "| Citations verified |" in markdown and "B worse" in markdown
    html = paths["html"].read_text()
    assert html.count("<svg") == 1 and "<rect" in html
    # No external resources: no scripts, links, remote images or CSS imports.
    assert not re.search(r"<script|<link|src=|href=|@import|url\(", html)


def test_compare_one_configuration_has_no_comparison(ten_cases: Path) -> None:
    doc = evaluate(ten_cases, [offline_config("A")], make_card=maker(lambda i: None))
    assert doc["comparison"] is None and len(doc["configs"]) == 1
    assert "Verdict" not in render_markdown(doc)


def test_compare_refuses_three_configurations(ten_cases: Path) -> None:
    with pytest.raises(EvalError, match="one configuration, or two"):
        evaluate(ten_cases, [offline_config()] * 3)
