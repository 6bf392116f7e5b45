"""Structured output: strict schemas, JSON located in replies, errors classified."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aggregator.llm.output import (
    MODES,
    BudgetExceeded,
    ContextOverflow,
    Conversation,
    LLMError,
    ModeRejected,
    OutputError,
    classify_status,
    error_message,
    locate_json,
    parse_output,
    retry_after_seconds,
    strict_schema,
)
from aggregator.llm.prompts import load_prompt
from aggregator.llm.schema import CardDraft

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "llm"
VALID = (FIXTURES / "card_inference_pricing_valid.json").read_text(encoding="utf-8")


def _objects(node):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def test_strict_schema_closes_every_object_and_requires_every_property():
    schema = strict_schema(CardDraft)
    objects = list(_objects(schema))
    assert len(objects) >= 4
    for node in objects:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    assert "title" in schema["properties"]  # a property named like a keyword survives
    assert "maxLength" not in json.dumps(schema)
    assert schema["properties"]["key_takeaways"]["minItems"] == 3


@pytest.mark.parametrize("reply", [
    VALID,
    f"```json\n{VALID}\n```",
    f"Here is the card you asked for:\n{VALID}\nHope this helps!",
])  # fmt: skip
def test_locate_json_finds_the_object_bare_fenced_or_in_prose(reply: str):
    assert locate_json(reply)["title"].startswith("Lumen Labs")


def test_parse_output_names_what_is_wrong():
    card = json.loads(VALID)
    card["key_takeaways"] = card["key_takeaways"][:2]
    del card["hook"]
    with pytest.raises(OutputError) as info:
        parse_output(json.dumps(card), CardDraft)
    assert "key_takeaways" in str(info.value) and "hook" in str(info.value)


def test_parse_output_rejects_text_without_json():
    with pytest.raises(OutputError, match="no JSON object"):
        parse_output("I cannot help with that.", CardDraft)


def test_card_draft_clips_overlong_title_at_a_word():
    card = json.loads(VALID)
    card["title"] = "word " * 40
    parsed = CardDraft.model_validate(card)
    assert len(parsed.title) <= 100 and parsed.title.endswith("…")


@pytest.mark.parametrize(("status", "message", "kind", "transient"), [
    (429, "slow down", LLMError, True),
    (503, "overloaded", LLMError, True),
    (408, "timeout", LLMError, True),
    (400, "response_format json_schema is not supported", ModeRejected, False),
    (400, "This model's maximum context length is 8192 tokens", ContextOverflow, False),
    (401, "invalid key", LLMError, False),
    # llama-cpp-python refuses json_schema with a 500 (a FastAPI validation error).
    (500, "1 validation error: response_format.type Input should be 'text' or 'json_object'",
     ModeRejected, False),
    (422, "Unprocessable: unknown field schema", ModeRejected, False),
    (422, "unprocessable entity", ModeRejected, False),
    (500, "internal error", LLMError, True),
])  # fmt: skip
def test_classify_status(status: int, message: str, kind: type, transient: bool):
    error = classify_status(status, message, {"retry-after": "3"})
    assert type(error) is kind
    assert error.transient is transient
    assert error.status == status
    assert str(error).startswith("summarize: ")
    assert not isinstance(error, BudgetExceeded)


def test_retry_after_seconds_reads_seconds_milliseconds_and_dates():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def _conversation(**kwargs) -> Conversation:
    prompt = load_prompt("summarize_item/v1")
    values = {"title": "T", "text": "para one.\n\npara two.", "topics": ""}
    return Conversation(prompt, values, CardDraft, strict_schema(CardDraft), **kwargs)


def test_conversation_steps_down_modes_and_spells_out_the_schema():
    talk = _conversation()
    messages, fmt = talk.request()
    assert fmt["type"] == "json_schema" and "JSON Schema" not in messages[0]["content"]
    assert talk.next_mode() and talk.mode == "json_object"
    messages, fmt = talk.request()
    assert fmt == {"type": "json_object", "schema": talk.schema}
    assert "JSON Schema" in messages[0]["content"]
    assert talk.next_mode() and talk.mode == "json_object_only"
    assert talk.request()[1] == {"type": "json_object"}
    assert talk.next_mode() and talk.request()[1] is None
    assert not talk.next_mode() and talk.mode == MODES[-1]


def test_conversation_repairs_once_quoting_the_error():
    talk = _conversation()
    assert talk.accept('{"title": "only a title"}', "stop") is None
    assert talk.messages[-2] == {"role": "assistant", "content": '{"title": "only a title"}'}
    assert "hook" in talk.messages[-1]["content"]
    with pytest.raises(OutputError):
        talk.accept("still nothing", "stop")


def test_conversation_shortens_once_on_length():
    talk = _conversation(shorten=lambda v: {**v, "text": "para one."})
    assert talk.accept('{"title": "cut', "length") is None
    assert "para two" not in talk.messages[1]["content"]
    assert not talk.shorter()


class _StatusError:
    """The parts of openai.APIStatusError that error_message reads."""

    def __init__(self, body, message="Error code: 500"):
        self.body, self.message = body, message


def test_error_message_keeps_the_whole_server_message_on_one_line():
    detail = (
        "1 validation error:\n  response_format.type\n    Input should be 'text' or 'json_object'"
    )
    assert error_message(_StatusError(detail)) == (
        "1 validation error: response_format.type Input should be 'text' or 'json_object'"
    )
    fastapi = {"detail": [{"loc": ["body", "response_format"], "msg": "Input should be 'text'"}]}
    assert "Input should be 'text'" in error_message(_StatusError(fastapi))
    assert len(error_message(_StatusError({"error": {"message": "x" * 2000}}))) == 500


def test_conversation_asks_again_in_a_schema_carrying_mode_when_the_reply_is_prose():
    talk = _conversation()
    assert talk.accept("Sure! Here is a summary of the article in prose.", "stop") is None
    assert talk.mode == "json_object" and not talk.repaired
    assert "JSON Schema" in talk.request()[0][0]["content"]


def test_conversation_pinned_to_a_family_does_not_leave_it():
    talk = _conversation(mode="json_object", allowed=("json_object", "json_object_only"))
    assert talk.next_mode() and talk.mode == "json_object_only"
    assert not talk.next_mode()


def test_schema_carrying_modes_put_the_constant_part_first_for_prompt_caching():
    prompt = load_prompt("summarize_item/v2")
    requests = []
    for text in ("[1] One article about ferries.", "[1] Another article about ovens."):
        values = {"title": text[4:20], "text": text, "topics": "  - a: A"}
        talk = Conversation(prompt, values, CardDraft, strict_schema(CardDraft), mode="json_object")
        requests.append(talk.request()[0][0]["content"])
    first, second = requests
    shared = os.path.commonprefix([first, second])  # noqa: RUF071 - characters, not paths
    assert first.startswith("Reply with one JSON object") and len(shared) > 1000
    assert json.dumps(strict_schema(CardDraft), separators=(",", ":")) in shared


def test_a_topic_score_written_as_a_percentage_is_read_on_the_0_1_scale() -> None:
    from pydantic import ValidationError

    from aggregator.llm.schema import TopicScore

    assert TopicScore(slug="hardware", score=85).score == 0.85
    assert TopicScore(slug="hardware", score=1).score == 1.0  # already on the scale
    assert TopicScore(slug="hardware", score=0.4).score == 0.4
    for bad in (250, -3):  # neither a share nor a percentage: the card is re-asked as before
        with pytest.raises(ValidationError):
            TopicScore(slug="hardware", score=bad)
