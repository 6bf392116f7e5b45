"""One webhook POST: the body signed with HMAC-SHA256, sent through the fetcher's address guard."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import httpx

from aggregator.collect.fetch import Fetcher, FetchError
from aggregator.collect.transport import Blocked, GuardedBackend
from aggregator.settings import FetchSettings

SIGNATURE_HEADER = "X-Aggregator-Signature"
KEY_HEADER = "X-Aggregator-Idempotency-Key"
EVENT_HEADER = "X-Aggregator-Event"
MAX_BACKOFF = 6 * 3600


def body_of(payload: dict[str, Any]) -> str:
    """Return the canonical JSON body of a payload (what is signed and stored)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sign(body: bytes, secret: str) -> str:
    """Return the signature header value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def idempotency_key(url: str, event: str, story_uid: str | int, revision: int) -> str:
    """Return the key that stays the same on every retry of one event to one webhook."""
    raw = f"{url}\n{event}\n{story_uid}\n{revision}".encode()
    return hashlib.sha256(raw).hexdigest()[:40]


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next attempt: 30 s, doubling, at most six hours."""
    return timedelta(seconds=min(MAX_BACKOFF, 30 * 2 ** max(0, attempts - 1)))


class SendError(Exception):
    """A delivery that got no 2xx answer; str() is one line naming the URL."""

    def __init__(self, url: str, detail: str, status: int | None = None):
        self.status = status
        super().__init__(f"notify: {url[:300]}: {' '.join(detail.split())[:300]}")


class Sender:
    """Posts webhook bodies; connects only where the fetcher's SSRF guard allows."""

    def __init__(self, settings: FetchSettings, site_url: str, allow_addresses: Any = ()):
        # The fetcher's own checks (scheme, literal and resolved addresses), not a second copy.
        self._guard = Fetcher(settings, site_url, allow_addresses=allow_addresses)
        transport = httpx.HTTPTransport(retries=0)
        transport._pool._network_backend = GuardedBackend(self._guard.checked_addresses)
        self._client = httpx.Client(
            transport=transport, follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            headers={"User-Agent": self._guard.user_agent, "Content-Type": "application/json"},
        )  # fmt: skip

    def close(self) -> None:
        """Close both HTTP clients."""
        self._client.close()
        self._guard.close()

    def post(self, url: str, body: str, *, event: str, key: str, secret: str) -> int:
        """POST the body; return the 2xx status or raise SendError."""
        raw = body.encode("utf-8")
        headers = {KEY_HEADER: key, EVENT_HEADER: event}
        if secret:
            headers[SIGNATURE_HEADER] = sign(raw, secret)
        try:
            self._guard.precheck(url)
            response = self._client.post(url, content=raw, headers=headers)
        except (FetchError, Blocked) as exc:
            raise SendError(url, str(exc).removeprefix(f"fetch: {url[:300]}: ")) from None
        except httpx.HTTPError as exc:
            raise SendError(url, f"{type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise SendError(url, f"HTTP {response.status_code}", response.status_code)
        return response.status_code
