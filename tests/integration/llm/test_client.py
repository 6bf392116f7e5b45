"""The client against a real OpenAI-compatible HTTP server on 127.0.0.1 with scripted replies."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from aggregator.llm.cache import MemoryCache, MemoryModes
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.complete import acomplete_structured, complete_structured
from aggregator.llm.output import BudgetExceeded, LLMError
from aggregator.llm.pricing import DailyBudget
from aggregator.llm.prompts import load_prompt
from aggregator.llm.schema import CardDraft
from aggregator.settings import ModelPrice
from tests.integration.llm.conftest import API_KEY, FAST, fixture_json, fixture_text
from tests.servers.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.integration
PROMPT = load_prompt("summarize_item/v1")
VALID = fixture_json("card_inference_pricing_valid.json")
VARIABLES = {"title": "Lumen cuts prices", "text": fixture_text("article_inference_pricing.txt"),
             "topics": "  - inference-economics: Inference economics"}  # fmt: skip


def config(server: FakeOpenAI, **overrides: Any) -> ClientConfig:
    values = {
        "model": "test-model",
        "base_url": server.url,
        "api_key": API_KEY,
        "timeout": 2.0,
        "max_retries": 2,
        "price": ModelPrice(input=1.0, output=2.0),
        **FAST,
        **overrides,
    }
    return ClientConfig(**values)


def ask(server: FakeOpenAI, **options: Any):
    cfg = config(server, **options.pop("cfg", {}))
    return complete_structured(
        cfg, PROMPT, options.pop("variables", VARIABLES), CardDraft, **options
    )


def test_client_valid_card_in_json_schema_mode(openai_server: FakeOpenAI):
    openai_server.enqueue(VALID)
    result = ask(openai_server)
    assert result.value.title == VALID["title"]
    assert result.mode == "json_schema"
    [record] = result.records
    assert record.status == "ok" and record.tokens_in > 0 and record.cost_usd > 0
    sent = openai_server.requests[0]
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["body"]["response_format"]["json_schema"]["strict"] is True
    assert API_KEY not in repr(config(openai_server))


def test_client_invalid_json_is_repaired_once(openai_server: FakeOpenAI):
    openai_server.enqueue('{"title": "Lumen", "hook": ', VALID)
    result = ask(openai_server)
    assert result.value.title == VALID["title"]
    assert [r.status for r in result.records] == ["invalid", "ok"]
    repair = openai_server.requests[1]["body"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"title": "Lumen", "hook": '}
    assert "not valid" in repair[-1]["content"]


def test_client_schema_violation_is_repaired_with_the_error_quoted(openai_server: FakeOpenAI):
    broken = {**VALID, "key_takeaways": VALID["key_takeaways"][:2]}
    openai_server.enqueue(broken, VALID)
    result = ask(openai_server)
    assert len(result.value.key_takeaways) == 3
    assert "key_takeaways" in openai_server.requests[1]["body"]["messages"][-1]["content"]


def test_client_gives_up_after_one_failed_repair(openai_server: FakeOpenAI):
    openai_server.enqueue("no json here", "still no json")
    with pytest.raises(LLMError, match="invalid after repair") as info:
        ask(openai_server, cfg={"structured_output": "json_object"})
    assert [r.status for r in info.value.records] == ["invalid", "invalid"]
    assert len(openai_server.requests) == 2


def test_client_length_cutoff_retries_once_with_shorter_input(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(content='{"title": "Lumen', finish_reason="length"), VALID)
    shorten = lambda v: {**v, "text": v["text"].split("\n\n")[0]}  # noqa: E731
    result = ask(openai_server, shorten=shorten)
    assert result.value.title == VALID["title"]
    first, second = (r["body"]["messages"][1]["content"] for r in openai_server.requests)
    assert "open source later this year" in first and "open source later this year" not in second
    assert result.records[0].status == "truncated"


def after_overflow(server: FakeOpenAI, in_messages: int) -> tuple[dict, dict]:
    """Return the bodies of the two requests of an ask whose first answer is a 2048-token
    context overflow (OpenAI's wording, `in_messages` tokens of input), the second a card."""
    overflow = ("This model's maximum context length is 2048 tokens. However, you requested "
                f"{in_messages + 1200} tokens ({in_messages} in the messages, 1200 in the "
                "completion).")  # fmt: skip
    server.enqueue(Reply(status=400, error=overflow), VALID)
    shorten = lambda v: {**v, "text": v["text"].split("\n\n")[0]}  # noqa: E731
    assert ask(server, shorten=shorten).value.title == VALID["title"]
    first, second = (r["body"] for r in server.requests)
    return first, second


def test_client_fits_the_answer_into_a_small_context_before_cutting_the_input(
    openai_server: FakeOpenAI,
):
    # llama-cpp-python's server (n_ctx 2048 by default) words its overflow like OpenAI's:
    # v3 (1,600 output tokens) lost 14 of 18 eval cards to it.
    first, second = after_overflow(openai_server, in_messages=1127)
    assert first["max_tokens"] == 1200  # v1's own limit
    assert second["max_tokens"] == 2048 - 1127 - 8
    assert first["messages"] == second["messages"]  # the article was not cut


def test_client_cuts_the_input_when_too_little_room_is_left(openai_server: FakeOpenAI):
    first, second = after_overflow(openai_server, in_messages=2100)
    assert second["max_tokens"] == 1200 and first["messages"] != second["messages"]


def test_client_falls_back_from_json_schema_and_remembers_the_mode(openai_server: FakeOpenAI):
    openai_server.reject_formats = {"json_schema"}
    modes = MemoryModes()
    result = ask(openai_server, modes=modes)
    assert result.mode == "json_object"
    kinds = [r["body"].get("response_format", {}).get("type") for r in openai_server.requests]
    assert kinds == ["json_schema", "json_object"]
    assert "JSON Schema" in openai_server.requests[1]["body"]["messages"][0]["content"]
    assert list(modes.values()) == ["json_object"]
    ask(openai_server, modes=modes, variables={**VARIABLES, "title": "Another story"})
    assert openai_server.requests[2]["body"]["response_format"]["type"] == "json_object"
    assert openai_server.requests[2]["body"]["response_format"]["schema"]["type"] == "object"


def test_client_falls_back_to_plain_text_with_json_located(openai_server: FakeOpenAI):
    openai_server.reject_formats = {"json_schema", "json_object"}
    openai_server.enqueue(f"Sure! Here it is:\n```json\n{json.dumps(VALID)}\n```")
    result = ask(openai_server)
    assert result.mode == "text"
    assert "response_format" not in openai_server.requests[-1]["body"]


def test_client_honours_retry_after_on_429(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(status=429, headers={"Retry-After": "1"}), VALID)
    started = time.monotonic()
    result = ask(openai_server, cfg={"backoff_base": 0.01})
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in result.records] == ["error", "ok"]
    assert "HTTP 429" in result.records[0].error


def test_client_long_retry_after_is_left_to_the_queue(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(LLMError) as info:
        ask(openai_server)
    assert info.value.transient and info.value.retry_after == 3600
    assert len(openai_server.requests) == 1


def test_client_retries_500_then_succeeds(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(status=500), Reply(status=503), VALID)
    result = ask(openai_server)
    assert [r.status for r in result.records] == ["error", "error", "ok"]


def test_client_500_past_the_retry_bound_is_transient(openai_server: FakeOpenAI):
    openai_server.enqueue(*[Reply(status=500)] * 3)
    with pytest.raises(LLMError) as info:
        ask(openai_server)
    assert info.value.transient and len(info.value.records) == 3
    assert len(openai_server.requests) == 3  # max_retries=2: three attempts, no more


def test_client_hang_past_the_timeout_is_retried_then_given_up(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(content=VALID, delay=1.5), Reply(content=VALID, delay=1.5))
    started = time.monotonic()
    with pytest.raises(LLMError, match="no answer within") as info:
        ask(openai_server, cfg={"timeout": 0.3, "max_retries": 1})
    assert time.monotonic() - started < 1.5
    assert info.value.transient
    assert [r.error for r in info.value.records] == ["timeout after 0.3s"] * 2


def test_client_dropped_connection_is_retried(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(drop=True), VALID)
    result = ask(openai_server)
    assert result.records[0].status == "error" and "connection" in result.records[0].error


def test_client_unauthorized_is_not_retried(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(status=401, error="Incorrect API key provided"))
    with pytest.raises(LLMError) as info:
        ask(openai_server)
    assert info.value.status == 401 and not info.value.transient
    assert len(openai_server.requests) == 1


def test_client_cache_hit_makes_no_request(openai_server: FakeOpenAI):
    cache = MemoryCache()
    openai_server.enqueue(VALID)
    first = ask(openai_server, cache=cache)
    second = ask(openai_server, cache=cache)
    assert len(openai_server.requests) == 1
    assert second.cached and second.value == first.value
    assert second.records[0].cached and second.records[0].cost_usd == 0


def test_client_budget_refuses_the_call_before_sending(openai_server: FakeOpenAI):
    with pytest.raises(BudgetExceeded):
        ask(openai_server, budget=DailyBudget(0.0001))
    assert openai_server.requests == []


def test_client_concurrency_is_bounded(openai_server: FakeOpenAI):
    openai_server.delay = 0.2

    async def many() -> float:
        async with LLMClient(config(openai_server, max_concurrency=3)) as client:
            started = time.monotonic()
            await asyncio.gather(*(
                acomplete_structured(client, PROMPT, {**VARIABLES, "title": f"t{i}"}, CardDraft)
                for i in range(6)
            ))  # fmt: skip
            return time.monotonic() - started

    elapsed = asyncio.run(many())
    assert 0.4 <= elapsed < 1.0  # two waves of three, not one wave of six nor six in a row


def test_client_records_cached_tokens_at_the_cached_rate(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(content=VALID, cached_tokens=400))
    cfg = {"price": ModelPrice(input=1.0, output=2.0, cached_input=0.25)}
    [record] = ask(openai_server, cfg=cfg).records
    assert record.tokens_cached == 400
    full = record.tokens_in * 1.0 + record.tokens_out * 2.0
    assert record.cost_usd == pytest.approx((full - 400 * 0.75) / 1_000_000)
