"""The model client: the openai SDK against any OpenAI-compatible server, with bounded retries."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from aggregator.llm.cache import Cache, CallRecord, ModeMemory, cache_key
from aggregator.llm.output import (
    MODES,
    BudgetExceeded,
    Completion,
    ContextOverflow,
    Conversation,
    LLMError,
    ModeRejected,
    OutputError,
    classify_status,
    error_message,
    schema_hash,
    strict_schema,
)
from aggregator.llm.pricing import call_cost, price_for
from aggregator.llm.prompts import Prompt
from aggregator.llm.tokens import count_tokens
from aggregator.settings import LLMSettings, ModelPrice

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ClientConfig:
    """How to reach the model; the key is kept out of repr so it never reaches a log line."""

    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.2
    max_output_tokens: int = 1800
    max_input_tokens: int = 6000
    timeout: float = 60.0
    max_retries: int = 4
    max_concurrency: int = 4
    price: ModelPrice | None = None
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    # A Retry-After longer than this is not slept through: the job waits in the queue instead.
    max_retry_wait: float = 60.0

    @classmethod
    def from_settings(cls, llm: LLMSettings, **overrides: Any) -> ClientConfig:
        """Return the client config of the [llm] settings (key from the environment only)."""
        names = ("model", "base_url", "temperature", "max_output_tokens", "max_input_tokens",
                 "timeout", "max_retries", "max_concurrency")  # fmt: skip
        values: dict[str, Any] = {name: getattr(llm, name) for name in names}
        values["api_key"] = llm.api_key.get_secret_value() if llm.api_key else None
        values["price"] = price_for(llm.model, llm.pricing)
        return cls(**{**values, **overrides})

    @property
    def server_key(self) -> str:
        """Return a short id of (base URL, model): output modes are remembered per server."""
        return hashlib.sha256(f"{self.base_url or ''}|{self.model}".encode()).hexdigest()[:16]


@dataclass
class Reply:
    """One successful chat completion."""

    text: str
    finish_reason: str | None
    record: CallRecord
    # Every attempt, failed ones first; the last is `record`.
    records: list[CallRecord] = field(default_factory=list)


class LLMClient:
    """An async chat client with a concurrency bound and bounded retries with jittered backoff."""

    def __init__(self, config: ClientConfig, *, sdk: openai.AsyncOpenAI | None = None):
        self.config = config
        # The SDK's own retries are off: ours honour Retry-After, record every attempt and stop early.
        self.sdk = sdk or openai.AsyncOpenAI(
            api_key=config.api_key or "unused",
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )
        self._slots = asyncio.Semaphore(config.max_concurrency)
        # Cache keys being asked right now -> their answer, so twins wait instead of paying twice.
        self.inflight: dict[str, asyncio.Future[Any]] = {}

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sdk.close()

    def _scrub(self, message: str) -> str:
        """Return a server message with our key masked (some servers echo it back)."""
        key = self.config.api_key
        return message.replace(key, "***") if key and len(key) >= 8 else message

    def backoff(self, attempt: int) -> float:
        """Return the pause before retry number `attempt` (exponential, full jitter)."""
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    def estimate_cost(self, messages: list[dict[str, str]], max_tokens: int) -> float:
        """Return the most a call can cost: its input plus the full output allowance."""
        tokens_in = sum(count_tokens(m["content"], self.config.model) + 4 for m in messages)
        return call_cost(self.config.price, tokens_in, max_tokens)

    async def send(
        self,
        messages: list[dict[str, str]],
        *,
        response_format: dict | None,
        max_tokens: int,
        base: CallRecord,
        budget: Any = None,
    ) -> Reply:
        """Return one completion, retrying transient faults; raise LLMError with the attempts."""
        records: list[CallRecord] = []
        attempt = 0
        while True:
            estimate = self.estimate_cost(messages, max_tokens)
            if budget is not None and not budget.admit(estimate):
                raise BudgetExceeded("summarize: daily LLM budget reached", records=records)
            record = _copy(base, attempt)
            try:
                reply = await self._create(messages, response_format, max_tokens, record)
            except LLMError as exc:
                if budget is not None:
                    budget.settle(estimate, 0.0)
                records.append(record)
                exc.records = records
                wait = exc.retry_after if exc.retry_after is not None else self.backoff(attempt)
                if not exc.transient or attempt >= self.config.max_retries:
                    raise
                if wait > self.config.max_retry_wait:
                    raise
                await asyncio.sleep(wait)
                attempt += 1
                continue
            if budget is not None:
                budget.settle(estimate, record.cost_usd)
            records.append(record)
            reply.records = records
            return reply

    async def _create(
        self,
        messages: list[dict[str, str]],
        response_format: dict | None,
        max_tokens: int,
        record: CallRecord,
    ) -> Reply:
        """Return one completion or raise LLMError; fill the record either way."""
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": max_tokens,
        }
        if response_format is not None:
            body["response_format"] = response_format
        started = time.perf_counter()
        try:
            async with self._slots:
                started = time.perf_counter()
                # The SDK's low-level post: the typed `create` re-walks every parameter
                # (the JSON schema included) through its type hints, ~5 ms per request.
                response = await self.sdk.post(
                    "/chat/completions", body=body, cast_to=ChatCompletion
                )
        except openai.APIStatusError as exc:
            message = self._scrub(error_message(exc))
            _fail(record, started, f"HTTP {exc.status_code}: {message}")
            raise classify_status(exc.status_code, message, exc.response.headers) from None
        except openai.APITimeoutError:
            _fail(record, started, f"timeout after {self.config.timeout:g}s")
            raise LLMError(
                f"summarize: no answer within {self.config.timeout:g}s", transient=True
            ) from None
        except openai.APIConnectionError as exc:
            _fail(record, started, f"connection: {exc.__cause__ or exc}")
            raise LLMError(
                "summarize: connection to the LLM server failed", transient=True
            ) from None
        return self._reply(response, record, started)

    def _reply(self, response: Any, record: CallRecord, started: float) -> Reply:
        """Return the Reply of a completion and fill in the ledger record."""
        record.latency_ms = int((time.perf_counter() - started) * 1000)
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice and choice.message else ""
        usage = response.usage
        if usage is not None:
            record.tokens_in = usage.prompt_tokens or 0
            record.tokens_out = usage.completion_tokens or 0
            details = usage.prompt_tokens_details
            record.tokens_cached = (details.cached_tokens or 0) if details else 0
        record.cost_usd = call_cost(
            self.config.price, record.tokens_in, record.tokens_out, record.tokens_cached
        )
        record.response_text = text
        finish = choice.finish_reason if choice else None
        record.status = "truncated" if finish == "length" else "ok"
        return Reply(text=text, finish_reason=finish, record=record)


def _copy(base: CallRecord, attempt: int) -> CallRecord:
    """Return a fresh ledger record for one attempt."""
    return CallRecord(**{**base.__dict__, "options": {**base.options, "attempt": attempt}})


def _fail(record: CallRecord, started: float, error: str) -> None:
    record.status = "error"
    record.error = error[:500]
    record.latency_ms = int((time.perf_counter() - started) * 1000)


async def acomplete_structured(
    client: LLMClient,
    prompt: Prompt,
    variables: dict[str, Any],
    output_model: type[M],
    *,
    purpose: str = "summarize",
    subject: str | None = None,
    cache: Cache | None = None,
    modes: ModeMemory | None = None,
    budget: Any = None,
    schema: dict | None = None,
    shorten: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    follow_up: list[dict[str, str]] | None = None,
) -> Completion:
    """Return the model's answer validated as `output_model`, cached, with one repair at most.

    Output modes fall back json_schema -> json_object -> text and the one that
    works is remembered per server; a reply cut off at the length limit, or an
    input too long for the context, is retried once with `shorten(variables)`;
    `follow_up` turns (a previous reply and feedback) extend the conversation.
    Raises LLMError (BudgetExceeded when the budget has no room) carrying the records.
    """
    cfg = client.config
    talk = Conversation(prompt, variables, output_model, schema or strict_schema(output_model),
                        follow_up=follow_up, shorten=shorten)  # fmt: skip
    max_tokens = min(cfg.max_output_tokens, prompt.options.max_output_tokens or 10**9)
    params = {"temperature": cfg.temperature, "max_tokens": max_tokens}
    key = cache_key(cfg.model, prompt.sha256, talk.messages,
                    {**params, "schema": schema_hash(talk.schema)})  # fmt: skip
    base = CallRecord(purpose=purpose, model=cfg.model, status="ok", subject=subject,
                      prompt_name=prompt.name, prompt_version=prompt.version,
                      prompt_sha256=prompt.sha256, cache_key=key, options=params)  # fmt: skip
    if (value := await _reuse(client, cache, key, output_model)) is not None:
        record = CallRecord(**{**base.__dict__, "status": "cached", "cached": True})
        return Completion(value, [record], "cache", key, True)
    client.inflight[key] = done = asyncio.get_running_loop().create_future()
    try:
        remembered = modes.get(cfg.server_key) if modes is not None else None
        talk.mode = remembered if remembered in MODES else "json_schema"  # type: ignore[assignment]
        records: list[CallRecord] = []
        value = await _converse(client, talk, base, max_tokens, budget, records)
        if modes is not None and talk.mode != remembered:
            await asyncio.to_thread(modes.set, cfg.server_key, talk.mode)
        if cache is not None:
            await asyncio.to_thread(cache.put, key, cfg.model, value.model_dump(mode="json"))
        return Completion(value, records, talk.mode, key)
    finally:
        client.inflight.pop(key, None)
        done.set_result(value)  # None tells a waiting twin to ask for itself


async def _reuse(client: LLMClient, cache: Cache | None, key: str, output_model: type[M]
                 ) -> M | None:  # fmt: skip
    """Return an answer already paid for: in the cache, or being asked by a twin right now."""
    if cache is not None and (hit := await asyncio.to_thread(cache.get, key)) is not None:
        with contextlib.suppress(ValidationError):  # an entry of an older schema is re-asked
            return output_model.model_validate(hit)
    if (same := client.inflight.get(key)) is not None:
        return await same  # the same article twice in one batch: wait for the first answer
    return None


async def _converse(
    client: LLMClient,
    talk: Conversation,
    base: CallRecord,
    max_tokens: int,
    budget: Any,
    records: list[CallRecord],
) -> Any:
    """Return the validated answer after mode fallbacks, shortening and repair."""
    while True:
        base.output_mode = talk.mode
        messages, fmt = talk.request()
        try:
            reply = await client.send(
                messages, response_format=fmt, max_tokens=max_tokens, base=base, budget=budget
            )
        except LLMError as exc:
            records += exc.records
            exc.records = records
            if isinstance(exc, ModeRejected) and talk.next_mode():
                continue
            if isinstance(exc, ContextOverflow) and talk.shorter():
                continue
            raise
        records += reply.records
        try:
            value = talk.accept(reply.text, reply.finish_reason)
        except OutputError as exc:
            reply.record.status, reply.record.error = "invalid", str(exc)[:500]
            raise LLMError(
                f"{base.purpose}: model output invalid after repair: {str(exc).splitlines()[0]}",
                records=records,
            ) from None
        if value is not None:
            return value
        if talk.last_error:  # this reply is what the repair turn quotes
            reply.record.status, reply.record.error = "invalid", talk.last_error[:500]


def complete_structured(
    client_cfg: ClientConfig,
    prompt: Prompt,
    variables: dict[str, Any],
    output_model: type[M],
    **options: Any,
) -> Completion:
    """Return `acomplete_structured` run to completion on a fresh client (for one-off calls)."""

    async def main() -> Completion:
        async with LLMClient(client_cfg) as client:
            return await acomplete_structured(client, prompt, variables, output_model, **options)

    return asyncio.run(main())
