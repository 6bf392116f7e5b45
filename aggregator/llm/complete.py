"""Structured completions: output modes detected per server, cache, twins, shortening, repair."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from aggregator.llm.cache import Cache, CallRecord, ModeMemory, cache_key
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.output import (
    FAMILIES,
    MODES,
    Completion,
    ContextOverflow,
    Conversation,
    LLMError,
    ModeRejected,
    OutputError,
    OutputMode,
    fitted_completion,
    schema_hash,
    strict_schema,
)
from aggregator.llm.prompts import Prompt

M = TypeVar("M", bound=BaseModel)


def starting_mode(
    cfg: ClientConfig, remembered: str | None
) -> tuple[OutputMode, tuple[OutputMode, ...]]:
    """Return the mode to ask in first and the modes allowed: pinned by config, else detected."""
    if cfg.structured_output != "auto":
        allowed = FAMILIES[cfg.structured_output]
        return allowed[0], allowed
    if remembered in MODES:
        return remembered, MODES  # type: ignore[return-value]
    return MODES[0], MODES


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

    Output modes fall back json_schema -> json_object (schema attached) -> json_object
    -> text (unless `[llm] structured_output` pins one) and the one that works is
    remembered per server; a reply cut off at the length limit, or an
    input too long for the context, is retried once with `shorten(variables)` (an overflow
    whose error states the context's size first gets a completion budget that fits it);
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
        talk.mode, talk.allowed = starting_mode(cfg, remembered)
        records: list[CallRecord] = []
        try:
            value = await _converse(client, talk, base, max_tokens, budget, records)
        finally:  # a mode the server answered in is remembered even if the model's JSON was bad
            if modes is not None and talk.mode != remembered and _answered(records, talk.mode):
                await asyncio.to_thread(modes.set, cfg.server_key, talk.mode)
        if cache is not None:
            await asyncio.to_thread(cache.put, key, cfg.model, value.model_dump(mode="json"))
        return Completion(value, records, talk.mode, key)
    finally:
        client.inflight.pop(key, None)
        done.set_result(value)  # None tells a waiting twin to ask for itself


def _answered(records: list[CallRecord], mode: str) -> bool:
    """Return True when the server gave a completion (valid or not) in this mode."""
    return any(r.output_mode == mode and r.status != "error" for r in records)


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
            if isinstance(exc, ContextOverflow):
                # A small local context (llama.cpp's 2048 by default): first ask for a shorter
                # answer if the server says how much room the input leaves, then cut the input.
                fitted = fitted_completion(str(exc), max_tokens)
                if fitted is not None:
                    max_tokens = fitted
                    continue
                if talk.shorter():
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
