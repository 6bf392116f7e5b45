"""Output-mode detection against servers that differ the way real ones do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aggregator.llm.cache import MemoryModes
from aggregator.llm.client import ClientConfig
from aggregator.llm.complete import complete_structured
from aggregator.llm.output import LLMError
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
# What llama-cpp-python's FastAPI answers to response_format json_schema (HTTP 500).
LLAMA_CPP_PYTHON = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'),"
    " 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
)


def ask(server: FakeOpenAI, modes: MemoryModes | None = None, **cfg: Any):
    config = ClientConfig(model="m", base_url=server.url, api_key=API_KEY, timeout=2.0,
                          max_retries=3, price=ModelPrice(input=1.0, output=2.0),
                          **{**FAST, **cfg})  # fmt: skip
    return complete_structured(config, PROMPT, VARIABLES, CardDraft, modes=modes)


def kinds(server: FakeOpenAI) -> list[str | None]:
    return [(r["body"].get("response_format") or {}).get("type") for r in server.requests]


@pytest.mark.parametrize(("status", "message"), [
    (400, "response_format json_schema is not supported by this model"),
    (500, LLAMA_CPP_PYTHON),
    (422, "Unprocessable Entity: response_format.json_schema: extra inputs are not permitted"),
])  # fmt: skip
def test_refused_json_schema_steps_down_once_without_retrying(
    openai_server: FakeOpenAI, status: int, message: str
):
    openai_server.reject_formats = {"json_schema"}
    openai_server.reject_status, openai_server.reject_message = status, message
    modes = MemoryModes()
    result = ask(openai_server, modes)
    assert result.mode == "json_object" and kinds(openai_server) == ["json_schema", "json_object"]
    assert openai_server.requests[1]["body"]["response_format"]["schema"]["type"] == "object"
    refused = result.records[0]
    assert refused.status == "error" and f"HTTP {status}" in refused.error
    assert " ".join(message.split())[:200] in refused.error  # the server's words, one line
    assert "\n" not in refused.error and list(modes.values()) == ["json_object"]


def test_refused_schema_field_steps_down_to_plain_json_object(openai_server: FakeOpenAI):
    openai_server.reject_formats = {"json_schema", "json_object+schema"}
    openai_server.reject_status, openai_server.reject_message = 422, "unknown field: schema"
    result = ask(openai_server)
    assert result.mode == "json_object_only"
    assert openai_server.requests[-1]["body"]["response_format"] == {"type": "json_object"}


def test_server_without_any_response_format_gets_text_with_json_located(
    openai_server: FakeOpenAI,
):
    openai_server.reject_formats = {"json_schema", "json_object"}
    openai_server.reject_status = 500
    openai_server.reject_message = "response_format is not supported"
    openai_server.enqueue(f"Here you go:\n```json\n{json.dumps(VALID)}\n```\nEnjoy.")
    result = ask(openai_server)
    assert result.mode == "text" and result.value.title == VALID["title"]
    assert kinds(openai_server) == ["json_schema", "json_object", "json_object", None]


def test_server_ignoring_response_format_with_prose_is_asked_with_the_schema_in_the_prompt(
    openai_server: FakeOpenAI,
):
    def ignores(request: dict) -> Reply:
        system = request["messages"][0]["content"]
        # A model that never saw the schema writes prose; shown the schema, it writes JSON.
        return Reply(content=VALID if "JSON Schema" in system else "The article says prices fell.")

    openai_server.responder = ignores
    modes = MemoryModes()
    result = ask(openai_server, modes)
    assert result.mode == "json_object" and result.value.title == VALID["title"]
    assert [r.status for r in result.records] == ["invalid", "ok"]
    assert "response_format ignored" in result.records[0].error


def test_json_in_a_code_fence_is_located_in_json_schema_mode(openai_server: FakeOpenAI):
    openai_server.enqueue(f"```json\n{json.dumps(VALID)}\n```")
    modes = MemoryModes()
    result = ask(openai_server, modes)
    assert result.mode == "json_schema" and len(openai_server.requests) == 1
    assert result.value.title == VALID["title"] and list(modes.values()) == ["json_schema"]


def test_pinned_mode_is_used_from_the_first_request_and_never_left(openai_server: FakeOpenAI):
    result = ask(openai_server, structured_output="text")
    assert result.mode == "text" and kinds(openai_server) == [None]
    openai_server.reject_formats = {"json_schema"}
    with pytest.raises(LLMError, match="HTTP 400"):
        ask(openai_server, structured_output="json_schema")


def test_a_plain_500_is_still_a_server_fault_retried(openai_server: FakeOpenAI):
    openai_server.enqueue(Reply(status=500, error="internal error"), VALID)
    result = ask(openai_server)
    assert result.mode == "json_schema" and [r.status for r in result.records] == ["error", "ok"]


def test_remembered_mode_is_probed_again_after_its_time(llm_ctx):
    from datetime import timedelta

    from aggregator.clock import utcnow
    from aggregator.db.meta import set_meta
    from aggregator.llm.store import DbModeMemory

    memory = DbModeMemory(llm_ctx.sessions, reprobe_after=3600)
    memory.set("server-a", "text")
    assert memory.get("server-a") == "text"
    found = (utcnow() - timedelta(hours=2)).isoformat()
    with llm_ctx.session() as session:
        set_meta(session, "llm.output_mode.server-a", f"text|{found}")
    assert DbModeMemory(llm_ctx.sessions, reprobe_after=3600).get("server-a") is None
    assert DbModeMemory(llm_ctx.sessions, reprobe_after=3 * 3600).get("server-a") == "text"


def test_mode_is_remembered_once_the_server_answers_in_it_even_with_bad_json(
    openai_server: FakeOpenAI,
):
    openai_server.reject_formats = {"json_schema"}
    openai_server.reject_status, openai_server.reject_message = 500, LLAMA_CPP_PYTHON
    openai_server.enqueue("{ not json", "{ still not json")
    modes = MemoryModes()
    with pytest.raises(LLMError, match="invalid after repair"):
        ask(openai_server, modes)
    assert list(modes.values()) == ["json_object"]  # the next story does not probe again
    ask(openai_server, modes)
    assert (
        kinds(openai_server)[-1] == "json_object" and kinds(openai_server).count("json_schema") == 1
    )
