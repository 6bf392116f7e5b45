"""Token budgets, prices, the daily budget and the cache key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from aggregator.llm.cache import cache_key
from aggregator.llm.pricing import DailyBudget, call_cost, next_utc_day, price_for
from aggregator.llm.tokens import count_tokens, estimate_tokens, truncate_to_tokens
from aggregator.settings import ModelPrice

PARAGRAPHS = [f"Paragraph {i} " + "word " * 40 for i in range(10)]
TEXT = "\n\n".join(p.strip() for p in PARAGRAPHS)


def test_estimate_tokens_counts_about_four_ascii_characters_per_token():
    assert estimate_tokens("a" * 400) == 100
    assert estimate_tokens("") == 0
    assert estimate_tokens("日本語") == 2


def test_truncate_keeps_whole_paragraphs_and_the_lead():
    cut, truncated = truncate_to_tokens(TEXT, 200)
    assert truncated
    assert cut.startswith("Paragraph 0")
    assert cut.split("\n\n") == [p.strip() for p in PARAGRAPHS[: len(cut.split("\n\n"))]]
    assert count_tokens(cut) <= 200


def test_truncate_leaves_short_text_alone():
    assert truncate_to_tokens("short text", 100) == ("short text", False)


def test_truncate_shortens_an_overlong_lead_by_sentences():
    lead = " ".join(f"Sentence number {i} is here." for i in range(100))
    cut, truncated = truncate_to_tokens(lead + "\n\nSecond paragraph.", 50)
    assert truncated and cut.startswith("Sentence number 0") and cut.endswith(".")
    assert count_tokens(cut) <= 50


def test_price_for_matches_dated_snapshots_and_config_overrides():
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("gpt-4o-2024-08-06").input == 2.5  # not gpt-4o-mini's price
    custom = {"gpt-4o-mini": ModelPrice(input=1, output=1)}
    assert price_for("gpt-4o-mini", custom).input == 1


def test_price_for_unknown_model_is_free_with_a_warning(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="aggregator"):
        assert price_for("local-llama-unpriced") is None
    assert "no price" in caplog.text
    assert call_cost(None, 1000, 1000) == 0.0


def test_call_cost_bills_cached_input_at_the_cached_rate():
    price = ModelPrice(input=0.15, output=0.60, cached_input=0.075)
    assert call_cost(price, 1_000_000, 0) == pytest.approx(0.15)
    assert call_cost(price, 1_000_000, 1_000_000, 500_000) == pytest.approx(0.075 + 0.0375 + 0.6)


def test_daily_budget_never_admits_past_the_limit():
    budget = DailyBudget(1.0, spent_usd=0.5)
    assert budget.admit(0.4)
    assert not budget.admit(0.2)  # 0.5 spent + 0.4 reserved + 0.2 > 1.0
    budget.settle(0.4, 0.1)
    assert budget.admit(0.2)
    assert DailyBudget(1.0, 1.0).exhausted


def test_next_utc_day_is_the_coming_midnight():
    now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    assert next_utc_day(now) == datetime(2026, 11, 23, tzinfo=UTC)


def test_cache_key_ignores_whitespace_but_not_model_prompt_or_parameters():
    messages = [{"role": "user", "content": "Hello   world\n"}]
    key = cache_key("m", "sha", messages, {"t": 0.2})
    assert key == cache_key("m", "sha", [{"role": "user", "content": "Hello world"}], {"t": 0.2})
    assert key != cache_key("m2", "sha", messages, {"t": 0.2})
    assert key != cache_key("m", "sha2", messages, {"t": 0.2})
    assert key != cache_key("m", "sha", messages, {"t": 0.3})
