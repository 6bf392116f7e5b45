"""A comparison of two model configurations against a scripted OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.evals.api import evaluate
from aggregator.evals.configs import load_eval_config
from aggregator.evals.sets import bundled_set_path, load_set
from tests.integration.evals.conftest import API_KEY, write_config
from tests.servers.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration


STARTER_CASES = len(load_set(bundled_set_path()).cases)


def test_llm_run_finds_the_worse_model_and_caches_outputs(
    tmp_path: Path, model_server: FakeOpenAI, server_env: dict[str, str]
) -> None:
    good = load_eval_config(write_config(tmp_path, "good", "fake-good"), server_env)
    bad = load_eval_config(write_config(tmp_path, "bad", "fake-bad"), server_env)
    cache = tmp_path / "cache"
    doc = evaluate(bundled_set_path(), [good, bad], cache_dir=cache, workers=4)
    a, b = (c["summary"] for c in doc["configs"])
    assert a["failed"] == b["failed"] == 0
    # B's invented quotes: two of four citations fail, and grounding leaves too few takeaways.
    assert b["quality"]["citation_rate"]["mean"] < a["quality"]["citation_rate"]["mean"]
    assert doc["comparison"]["claim_support"]["verdict"] == "B worse"
    assert doc["comparison"]["length_ok"]["verdict"] == "B worse"
    assert a["cost_per_card_usd"]["mean"] > 0 and a["latency_p95_ms"] >= a["latency_p50_ms"]
    assert doc["configs"][0]["fingerprint"]["model"] == "fake-good"
    assert API_KEY not in str(doc)
    calls = len(model_server.requests)

    again = evaluate(bundled_set_path(), [good, bad], cache_dir=cache, workers=4)
    assert len(model_server.requests) == calls  # every card came from the cache
    assert [c["summary"]["cached"] for c in again["configs"]] == [STARTER_CASES, STARTER_CASES]
    assert again["configs"][0]["summary"]["cost_per_card_usd"] == a["cost_per_card_usd"]


def test_llm_run_with_judge_scores_every_card(
    tmp_path: Path, model_server: FakeOpenAI, server_env: dict[str, str]
) -> None:
    good = load_eval_config(write_config(tmp_path, "good", "fake-good"), server_env)
    doc = evaluate(bundled_set_path(), [good], judge=good, workers=4)
    quality = doc["configs"][0]["summary"]["quality"]
    assert quality["judge_faithfulness"]["mean"] == 4.0
    assert quality["judge_usefulness"]["pass_rate"] == 0.0  # 3 is below the pass mark of 4
    assert doc["judge"]["model"] == "fake-judge" and doc["judge"]["prompt"] == "eval_judge/v1"
    judged = [r for r in model_server.requests if r["body"]["model"] == "fake-judge"]
    assert len(judged) == STARTER_CASES


def test_llm_run_model_without_usable_answers_fails_its_cases(
    tmp_path: Path, model_server: FakeOpenAI, server_env: dict[str, str]
) -> None:
    broken = load_eval_config(write_config(tmp_path, "broken", "fake-broken"), server_env)
    doc = evaluate(bundled_set_path(), [broken], cache_dir=tmp_path / "cache", workers=4)
    summary = doc["configs"][0]["summary"]
    assert summary["failed"] == STARTER_CASES
    assert summary["quality"]["schema_valid"]["mean"] == 0.0
    assert summary["cost_total_usd"] > 0  # failed attempts are still paid for
    assert all(c["results"][0]["error"].startswith("summarize:") for c in doc["cases"])
    assert not list((tmp_path / "cache").rglob("*.json"))  # failures are not cached
