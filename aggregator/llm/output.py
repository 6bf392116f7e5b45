"""Structured output (request modes, JSON located and validated, repair) and server faults classified."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from aggregator.llm.cache import CallRecord
from aggregator.llm.prompts import Prompt

OutputMode = Literal["json_schema", "json_object", "json_object_only", "text"]
# Tried in this order; a server that rejects one mode is asked in the next. "json_object"
# carries the schema as `schema` (llama-cpp-python turns it into a grammar); "json_object_only"
# is the same request without it, for servers that refuse the unknown field.
MODES: tuple[OutputMode, ...] = ("json_schema", "json_object", "json_object_only", "text")
# What `[llm] structured_output` may pin: each family with the modes it may use.
FAMILIES: dict[str, tuple[OutputMode, ...]] = {
    "json_schema": ("json_schema",),
    "json_object": ("json_object", "json_object_only"),
    "text": ("text",),
}
# An error body naming one of these is the server refusing the output mode, whatever its status.
_MODE_WORDS = re.compile(r"response_format|json_schema|json_object|\bschema\b", re.I)
# JSON-schema keywords strict structured output rejects; pydantic still checks them afterwards.
_UNSUPPORTED = {"maxLength", "minLength", "default", "title", "description", "format"}
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
M = TypeVar("M", bound=BaseModel)
NO_JSON = "the reply contains no JSON object"


class OutputError(Exception):
    """A reply that is not valid JSON for the output model; the message says why in a few lines."""


class LLMError(Exception):
    """A call that did not produce a usable answer; `records` holds the attempts for the ledger."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        records: list[CallRecord] | None = None,
        status: int | None = None,
    ):
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.records = records or []


class BudgetExceeded(LLMError):
    """The daily budget has no room for another call."""


class ModeRejected(LLMError):
    """The server refused the requested response_format (HTTP 400/422)."""


class ContextOverflow(LLMError):
    """The input was longer than the model's context."""


def _strictify(node: Any) -> Any:
    """Return a schema node with every object closed and every property required."""
    if isinstance(node, dict):
        out = {k: _strictify(v) for k, v in node.items() if k not in _UNSUPPORTED}
        for named in ("properties", "$defs"):  # keys here are names, not keywords: keep them all
            if isinstance(node.get(named), dict):
                out[named] = {name: _strictify(sub) for name, sub in node[named].items()}
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
            out["required"] = list(out["properties"])
        return out
    if isinstance(node, list):
        return [_strictify(v) for v in node]
    return node


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return the JSON schema of a model in the form OpenAI strict structured output accepts."""
    return _strictify(model.model_json_schema())


def schema_hash(schema: dict[str, Any]) -> str:
    """Return a short stable hash of a schema (part of the cache key)."""
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]


def response_format(mode: OutputMode, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """Return the `response_format` request field for a mode (None for plain text)."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object_only":
        return {"type": "json_object"}
    return None


def schema_instruction(schema: dict[str, Any]) -> str:
    """Return the system-prompt addendum that carries the schema when the server cannot."""
    compact = copy.deepcopy(schema)
    return "Reply with one JSON object that matches this JSON Schema:\n" + json.dumps(
        compact, separators=(",", ":"), ensure_ascii=False
    )


def locate_json(text: str) -> Any:
    """Return the first JSON object found in a reply (bare, fenced or inside prose)."""
    text = text.strip()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    raise OutputError(NO_JSON)


def _describe(exc: ValidationError, limit: int = 8) -> str:
    """Return a validation error as short lines `path: message`."""
    lines = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        lines.append(f"{where}: {error['msg']}")
    if exc.error_count() > limit:
        lines.append(f"... and {exc.error_count() - limit} more")
    return "\n".join(lines)


def parse_output(text: str, model: type[M]) -> M:
    """Return the reply validated as the output model; raise OutputError naming what is wrong."""
    data = locate_json(text)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OutputError(_describe(exc)) from None


def repair_message(error: OutputError) -> str:
    """Return the user message that asks the model to fix its previous reply."""
    return (
        "Your previous reply was not valid for the required JSON schema:\n"
        f"{error}\n"
        "Reply again with the complete corrected JSON object only."
    )


# Worth another try: rate limited, request timeout, conflict, server errors (RFC 9110 15.5-15.6).
TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504}


def retry_after_seconds(headers: Any) -> float | None:
    """Return the wait a response asks for (Retry-After seconds or date, retry-after-ms)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def error_message(exc: Any) -> str:
    """Return the server's error message whole on one line (first 500 characters)."""
    body = exc.body
    if isinstance(body, dict):
        body = body.get("error", body.get("detail", body))
        if isinstance(body, dict):
            body = body.get("message", body)
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False) if body else exc.message
    return one_line(body)


def one_line(text: str, limit: int = 500) -> str:
    """Return text with its whitespace (newlines too) collapsed, cut to `limit` characters."""
    return " ".join(str(text).split())[:limit]


def classify_status(status: int, message: str, headers: Any = None) -> LLMError:
    """Return the LLMError for an HTTP error status: transient ones carry their Retry-After."""
    text = f"summarize: LLM server answered HTTP {status}: {message}"
    # Checked before the transient statuses: llama-cpp-python refuses json_schema with a 500.
    if is_mode_rejection(status, message):
        return ModeRejected(text, status=status)
    if status in TRANSIENT_STATUS:
        wait = retry_after_seconds(headers)
        return LLMError(text, transient=True, retry_after=wait, status=status)
    if is_context_overflow(status, message):
        return ContextOverflow(text, status=status)
    if status in (400, 422):
        return ModeRejected(text, status=status)
    return LLMError(text, status=status)


def is_mode_rejection(status: int, message: str) -> bool:
    """Return True when an error (any status) says the server refuses the response_format.

    Servers word and number this differently (OpenAI 400, vLLM 400/422, llama.cpp,
    llama-cpp-python 500), so a message naming the format counts whatever the status;
    a plain 400/422 also steps down (see classify_status). Only a mode that then
    works is remembered.
    """
    return bool(_MODE_WORDS.search(message)) and not is_context_overflow(status, message)


# OpenAI's wording, which llama-cpp-python's and vLLM's servers copy: "This model's maximum
# context length is 2048 tokens. However, you requested 3727 tokens (2127 in the messages,
# 1600 in the completion)."
_CONTEXT_NUMBERS = re.compile(
    r"maximum context length is (\d+) tokens.*?\((\d+) in the messages", re.I | re.S
)
MIN_COMPLETION = 512  # below this a card does not fit: the input is shortened instead
_SPARE_TOKENS = 8  # counting differences between the server's tokenizer and its report


def fitted_completion(message: str, max_tokens: int) -> int | None:
    """Return a smaller completion budget that fits the context a server's overflow error
    states (its limit minus the messages' tokens), or None when it states none or too little
    would be left."""
    found = _CONTEXT_NUMBERS.search(message)
    if found is None:
        return None
    room = int(found.group(1)) - int(found.group(2)) - _SPARE_TOKENS
    return room if MIN_COMPLETION <= room < max_tokens else None


def is_context_overflow(status: int, message: str) -> bool:
    """Return True when a 400 says the input is longer than the model's context."""
    lowered = message.lower()
    return status == 400 and "context" in lowered and ("length" in lowered or "maximum" in lowered)


@dataclass
class Completion:
    """A validated structured answer and the ledger records of every call it took."""

    value: Any
    records: list[CallRecord]
    mode: str
    cache_key: str
    cached: bool = False

    def total(self, name: str) -> Any:
        """Return the sum of a numeric record field (tokens_in, cost_usd, latency_ms, ...)."""
        return sum(getattr(r, name) for r in self.records)


def build_messages(
    prompt: Prompt, variables: dict[str, Any], follow_up: list[dict[str, str]] | None = None
) -> list[dict[str, str]]:
    """Return the chat messages of a rendered prompt plus any follow-up turns."""
    system, user = prompt.render(variables)
    return [
        {"role": "system", "content": system.strip()},
        {"role": "user", "content": user.strip()},
        *(follow_up or []),
    ]


@dataclass
class Conversation:
    """The state of one structured request: mode fallbacks, one shortening, one repair."""

    prompt: Prompt
    variables: dict[str, Any]
    output_model: type[BaseModel]
    schema: dict[str, Any]
    mode: OutputMode = "json_schema"
    allowed: tuple[OutputMode, ...] = MODES
    follow_up: list[dict[str, str]] | None = None
    shorten: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    shortened: bool = False
    repaired: bool = False
    last_error: str | None = None

    def __post_init__(self) -> None:
        self.messages = build_messages(self.prompt, self.variables, self.follow_up)

    def request(self) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
        """Return (messages, response_format) for the current mode."""
        messages = self.messages
        if self.mode != "json_schema":
            # The server will not enforce the schema, so the model has to read it. It goes
            # first: the longest part that is the same for every article, so a server's
            # prompt cache can reuse it (the prompt's own text may vary per article).
            system = schema_instruction(self.schema) + "\n\n" + messages[0]["content"]
            messages = [{**messages[0], "content": system}, *messages[1:]]
        return messages, response_format(self.mode, self.output_model.__name__, self.schema)

    def next_mode(self) -> bool:
        """Step down to the next allowed output mode; return False when none is left."""
        later = [m for m in MODES[MODES.index(self.mode) + 1 :] if m in self.allowed]
        if not later:
            return False
        self.mode = later[0]
        return True

    def shorter(self) -> bool:
        """Re-render once with a shorter input; return False if that was done already."""
        if self.shorten is None or self.shortened:
            return False
        self.shortened = True
        self.messages = build_messages(self.prompt, self.shorten(self.variables), self.follow_up)
        return True

    def accept(self, text: str, finish_reason: str | None) -> BaseModel | None:
        """Return the validated answer, or None after queueing a retry; raise OutputError at the end."""
        self.last_error = None
        if finish_reason == "length" and self.shorter():
            return None
        try:
            return parse_output(text, self.output_model)
        except OutputError as exc:
            # Prose under json_schema: the server ignored response_format and the model never
            # saw the schema, so ask again in a mode that puts the schema in the prompt.
            prose = "{" not in text and not self.repaired  # not even a broken object
            if prose and self.mode == "json_schema" and self.next_mode():
                self.last_error = f"{exc} (response_format ignored; asking in {self.mode})"
                return None
            if self.repaired:
                raise
            self.repaired, self.last_error = True, str(exc)
            self.messages = [
                *self.messages,
                {"role": "assistant", "content": text},
                {"role": "user", "content": repair_message(exc)},
            ]
            return None
