"""The response cache key, the cache and mode-memory interfaces, and the ledger's record type.

Their database-backed forms are in `store.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

_SPACE = re.compile(r"\s+")


def cache_key(
    model: str, prompt_sha256: str, messages: list[dict[str, str]], params: dict[str, Any]
) -> str:
    """Return sha256 of (model, prompt sha256, whitespace-normalised input, parameters)."""
    normalised = [[m["role"], _SPACE.sub(" ", m["content"]).strip()] for m in messages]
    payload = json.dumps(
        [model, prompt_sha256, normalised, params], sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Cache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, model: str, response: dict[str, Any]) -> None: ...


class ModeMemory(Protocol):
    def get(self, server: str) -> str | None: ...
    def set(self, server: str, mode: str) -> None: ...


class MemoryCache:
    """A dict-backed cache (tests, one-off calls)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached response for a key, or None."""
        return self.entries.get(key)

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        """Store a validated response."""
        self.entries[key] = response


class MemoryModes(dict[str, str]):
    """A dict-backed mode memory (tests, one-off calls)."""

    def set(self, server: str, mode: str) -> None:
        """Remember the mode that worked for a server."""
        self[server] = mode


@dataclass
class CallRecord:
    """One model request (or cache hit) as the ledger stores it; never holds secrets."""

    purpose: str
    model: str
    status: str  # ok | cached | invalid | truncated | rejected | error
    subject: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_sha256: str | None = None
    cache_key: str | None = None
    cached: bool = False
    error: str | None = None
    output_mode: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    response_text: str | None = None
