"""The model client: the openai SDK against any OpenAI-compatible server, with bounded retries.

`complete.py` builds structured requests on top of it (modes, cache, repair).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from aggregator.llm.cache import CallRecord
from aggregator.llm.output import BudgetExceeded, LLMError, classify_status, error_message
from aggregator.llm.pricing import call_cost, price_for
from aggregator.llm.tokens import count_tokens
from aggregator.settings import LLMSettings, ModelPrice


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
    # "auto" detects the output mode per server; a family name pins it.
    structured_output: str = "auto"
    # A remembered output mode older than this is probed again (servers get upgraded).
    mode_reprobe_after: float = 7 * 86400.0

    @classmethod
    def from_settings(cls, llm: LLMSettings, **overrides: Any) -> ClientConfig:
        """Return the client config of the [llm] settings (key from the environment only)."""
        names = ("model", "base_url", "temperature", "max_output_tokens", "max_input_tokens",
                 "timeout", "max_retries", "max_concurrency", "structured_output")  # fmt: skip
        values: dict[str, Any] = {name: getattr(llm, name) for name in names}
        values["mode_reprobe_after"] = float(llm.mode_reprobe_after)
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
