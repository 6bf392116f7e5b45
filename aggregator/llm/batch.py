"""The OpenAI Batch API: requests uploaded as JSONL, one batch created, results read back.

Half the price of live calls, answered within 24 hours. Plain data in and out; the
caller stores the batch id before it polls, so a restart resumes the same batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import openai

from aggregator.llm.cache import CallRecord
from aggregator.llm.client import ClientConfig
from aggregator.llm.output import one_line
from aggregator.llm.pricing import call_cost

# Batch API requests cost half the live price (input, cached input and output alike).
BATCH_DISCOUNT = 0.5
ENDPOINT = "/v1/chat/completions"
# Remote states after which nothing more will come.
FINISHED = {"completed", "failed", "expired", "cancelled"}
TAG = "aggregator_batch"


@dataclass
class RemoteBatch:
    """Where a batch stands on the server."""

    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    error: str | None = None


@dataclass
class LineResult:
    """The answer to one request line: a completion's text and usage, or an error."""

    custom_id: str
    text: str = ""
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    error: str | None = None


def request_line(custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Return one line of a batch input file."""
    return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}


def batch_cost(config: ClientConfig, tokens_in: int, tokens_out: int, tokens_cached: int) -> float:
    """Return what a batched call costs: the live price with the batch discount."""
    live = call_cost(config.price, tokens_in, tokens_out, tokens_cached)
    return round(live * BATCH_DISCOUNT, 8)


def line_record(base: CallRecord, result: LineResult, config: ClientConfig) -> CallRecord:
    """Return the ledger record of one answered line, priced at the batch rate."""
    record = CallRecord(**{**base.__dict__, "options": {**base.options, "batch": True}})
    record.tokens_in, record.tokens_out = result.tokens_in, result.tokens_out
    record.tokens_cached = result.tokens_cached
    record.cost_usd = batch_cost(config, result.tokens_in, result.tokens_out, result.tokens_cached)
    record.response_text = result.text or None
    if result.error:
        record.status, record.error = "error", result.error
    elif result.finish_reason == "length":
        record.status = "truncated"
    return record


def parse_results(content: str) -> dict[str, LineResult]:
    """Return each line of an output or error file by custom_id."""
    results = {}
    for raw in content.splitlines():
        if not raw.strip():
            continue
        entry = json.loads(raw)
        results[entry["custom_id"]] = _line_result(entry)
    return results


def _line_result(entry: dict[str, Any]) -> LineResult:
    """Return one output-file entry as a LineResult."""
    custom_id = entry["custom_id"]
    response = entry.get("response") or {}
    body = response.get("body") or {}
    if entry.get("error") or response.get("status_code", 200) != 200:
        error = entry.get("error") or body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        status = response.get("status_code") or (
            error.get("code") if isinstance(error, dict) else ""
        )
        return LineResult(custom_id, error=one_line(f"batch line failed ({status}): {message}"))
    choice = (body.get("choices") or [{}])[0]
    usage = body.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return LineResult(
        custom_id,
        text=(choice.get("message") or {}).get("content") or "",
        finish_reason=choice.get("finish_reason"),
        tokens_in=usage.get("prompt_tokens") or 0,
        tokens_out=usage.get("completion_tokens") or 0,
        tokens_cached=details.get("cached_tokens") or 0,
    )


class BatchAPI:
    """The server side of batches, through the openai SDK."""

    def __init__(self, config: ClientConfig, sdk: openai.OpenAI | None = None):
        self.config = config
        self.sdk = sdk or openai.OpenAI(
            api_key=config.api_key or "unused", base_url=config.base_url,
            timeout=max(config.timeout, 120.0), max_retries=2,
        )  # fmt: skip

    def close(self) -> None:
        """Close the HTTP connections."""
        self.sdk.close()

    def submit(self, lines: list[dict[str, Any]], tag: str) -> str:
        """Upload the request lines, create a 24h batch tagged with `tag`; return its id."""
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        upload = self.sdk.files.create(file=("batch.jsonl", data.encode()), purpose="batch")
        batch = self.sdk.batches.create(
            input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h",
            metadata={TAG: tag},
        )  # fmt: skip
        return batch.id

    def find(self, tag: str) -> str | None:
        """Return the id of a batch created with `tag` (one created just before a crash)."""
        for batch in self.sdk.batches.list(limit=100).data:
            if (batch.metadata or {}).get(TAG) == tag:
                return batch.id
        return None

    def poll(self, batch_id: str) -> RemoteBatch:
        """Return where a batch stands."""
        batch = self.sdk.batches.retrieve(batch_id)
        errors = getattr(batch.errors, "data", None) or []
        error = one_line("; ".join(e.message or "" for e in errors)) if errors else None
        return RemoteBatch(batch.id, batch.status, batch.output_file_id, batch.error_file_id, error)

    def results(self, remote: RemoteBatch) -> dict[str, LineResult]:
        """Return every answered or failed line of a finished batch by custom_id."""
        results: dict[str, LineResult] = {}
        for file_id in (remote.error_file_id, remote.output_file_id):
            if file_id:
                results.update(parse_results(self.sdk.files.content(file_id).text))
        return results
