"""A safe, polite HTTP fetcher: SSRF guard on every hop, size and time caps, per-host limits."""

from __future__ import annotations

import functools
import http.client
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from aggregator import __version__
from aggregator.collect.transport import (
    BadBody,
    Blocked,
    BodyDecoder,
    ConnectionPool,
    GuardedConnection,
    Resolver,
    default_resolver,
    parse_retry_after,
    request_deadline,
    resolve_by_deadline,
)
from aggregator.collect.urls import IPAddress, blocked_reason, parse_ip_host
from aggregator.settings import FetchSettings

__all__ = ["FetchError", "FetchResult", "Fetcher", "parse_retry_after"]
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# A response whose body we do not use (304, redirect, error) is read to its end when it is
# this small, so its connection goes back to the pool: httpcore closes a connection whose
# response was not read to the end, and a new connection per 304 cost more than the 304.
_DRAIN = 16 * 1024


@dataclass
class FetchResult:
    """A successful response (2xx, or 304 with an empty body)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool
    etag: str | None
    last_modified: str | None
    retry_after: float | None
    elapsed_ms: int


class FetchError(Exception):
    """A fetch that gave no usable response; str() is one line naming the URL."""

    def __init__(
        self,
        kind: str,
        url: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        self.kind = kind
        self.url = url
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        detail = " ".join(str(detail).split())[:300]
        super().__init__(f"fetch: {url[:300]}: {detail}")


def _header_bytes(value: str) -> bytes:
    """Return a header value as sent: Latin-1 as received, else UTF-8 (never an exception)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _header_text(value: str) -> str:
    """Return a received header value as text: ASCII as is, UTF-8 bytes as UTF-8 (http.client
    reads them as Latin-1), folded lines joined with a space."""
    if "\n" in value or "\r" in value:
        value = " ".join(part.strip() for part in value.splitlines())
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _header_dict(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return response headers by lower-case name; repeated ones joined with ", "."""
    headers: dict[str, str] = {}
    for name, raw in items:
        key, value = name.lower(), _header_text(raw)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _request_error(url: str, exc: BaseException, timeout: Any) -> BaseException:
    """Return the FetchError for a request that failed before its response's head arrived."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, Blocked):
        return FetchError("blocked", url, str(exc))
    if isinstance(exc, TimeoutError):
        return timeout(url)
    if isinstance(exc, http.client.InvalidURL):
        return FetchError("invalid_url", url, f"invalid URL: {exc}")
    if isinstance(exc, (OSError, ValueError, http.client.HTTPException, httpcore.ConnectError)):
        return FetchError("network", url, f"{type(exc).__name__}: {exc}")
    return exc


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Return the TLS context every Fetcher of this process shares (loading the CA
    certificates costs about 90 ms, as much as a whole pass of a few hundred 304s)."""
    return httpx.create_ssl_context()


class Fetcher:
    """Fetches URLs safely; thread-safe, one instance shared by every worker thread."""

    def __init__(
        self,
        settings: FetchSettings,
        site_url: str,
        site_title: str = "aggregator",
        *,
        resolver: Resolver | None = None,
        allow_addresses: Iterable[str] = (),
    ):
        self.settings = settings
        self._resolver = resolver or default_resolver
        # Exact "ip:port" pairs reachable even when private networks are refused (tests, admins).
        self._allowed = frozenset(allow_addresses)
        title = site_title.encode("ascii", "ignore").decode().strip() or "aggregator"
        self.user_agent = settings.user_agent or (
            f"{title} (aggregator/{__version__}; news reader; +{site_url})"
        )
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        # Idle keep-alive connections: a host's at most its concurrent requests. No proxy from
        # the environment is ever used (it would bypass the address guard), nor cookies.
        self._pool = ConnectionPool(settings.per_host_concurrency, max(settings.concurrency, 4))
        self._headers = (
            ("User-Agent", self.user_agent),
            ("Accept-Encoding", "gzip, deflate"),
            ("Connection", "keep-alive"),
        )

    def close(self) -> None:
        """Close the idle connections."""
        self._pool.close()

    def _refusal(self, ip: IPAddress, port: int) -> str | None:
        """Return why this address may not be fetched, or None."""
        if self.settings.allow_private_networks or f"{ip}:{port}" in self._allowed:
            return None
        reason = blocked_reason(ip)
        # Name the setting: a user testing on a LAN or loopback must know what to change.
        hint = "[fetch] allow_private_networks is false"
        return f"refused: {ip} is a {reason} address ({hint})" if reason else None

    def checked_addresses(self, host: str, port: int) -> list[str]:
        """Return the addresses to connect to, raising _Blocked if any resolved one is refused."""
        literal = parse_ip_host(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                # The lookup counts against the request's time like the rest of it.
                addresses = resolve_by_deadline(self._resolver, host, port)
            except TimeoutError:
                raise
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        if self.settings.allow_private_networks:
            return addresses
        for address in addresses:
            ip = parse_ip_host(address)
            reason = self._refusal(ip, port) if ip else f"refused: unusable address {address!r}"
            if reason:
                raise Blocked(f"{reason} (host {host})")
        return addresses

    def refused(self, url: str) -> str | None:
        """Return why a URL must not be reached (the guard every fetch passes), or None.

        For clients that open their own connections (praw): checked before each use.
        """
        try:
            host, port = self.precheck(url)
            self.checked_addresses(host, port)
        except FetchError as exc:
            return exc.detail
        except Blocked as exc:
            return str(exc)
        except httpcore.ConnectError:
            return None  # unresolvable: the client's own error says so
        return None

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's few concurrent-request slots (politeness)."""
        with self._slots_lock:
            slot = self._slots.setdefault(
                host, threading.BoundedSemaphore(self.settings.per_host_concurrency)
            )
        with slot:
            yield

    def precheck(self, url: str) -> tuple[str, int]:
        """Return (host, port) of an http(s) URL, refusing literal addresses we must not reach."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise FetchError("invalid_url", url, f"invalid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise FetchError("invalid_url", url, "not an http(s) URL")
        port = port or (443 if parts.scheme == "https" else 80)
        literal = parse_ip_host(host)
        if literal is not None and (reason := self._refusal(literal, port)):
            raise FetchError("blocked", url, reason)
        return host.lower(), port

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """Return the response for a URL (following up to max_redirects), or raise FetchError.

        `[fetch] timeout` bounds the whole request (connect, headers, body, every redirect);
        `deadline` (a time.monotonic() value) can only shorten it, e.g. a source's budget.
        """
        started = time.monotonic()
        headers = {"Accept": accept or "*/*"}
        # Conditional GET (RFC 9110 §13.1): a 304 costs the server no body.
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: set[str] = set()
        current = url
        limit = deadline
        own: float | None = None
        for _hop in range(self.settings.max_redirects + 1):
            seen.add(current)
            host, _port = self.precheck(current)
            with self._host_slot(host):
                # The whole-request clock starts once a slot is ours, not while queueing.
                own = own or time.monotonic() + self.settings.timeout
                until = own if limit is None else min(own, limit)
                try:
                    with request_deadline(until):
                        location = self._send(current, headers, until, started)
                except FetchError as exc:
                    if exc.kind == "timeout" and until != own:
                        detail = "timed out: its source's time ran out"
                        raise FetchError("timeout", url, detail) from None
                    raise
            if isinstance(location, FetchResult):
                return location
            nxt = urljoin(current, location)
            if nxt in seen:
                raise FetchError("redirects", url, f"redirect loop at {nxt}")
            current = nxt
        raise FetchError("redirects", url, f"more than {self.settings.max_redirects} redirects")

    def _connection(self, scheme: str, host: str, port: int) -> GuardedConnection:
        """Return a new (unconnected) connection that connects only where the guard allows."""
        return GuardedConnection(
            host,
            port,
            check=self.checked_addresses,
            tls=_tls_context() if scheme == "https" else None,
            connect_timeout=self.settings.connect_timeout,
            timeout=self.settings.timeout,
        )

    def _send(
        self, url: str, headers: dict[str, str], deadline: float, started: float
    ) -> FetchResult | str:
        """Return the final result, or the Location to follow for a redirect."""
        try:
            target = httpx.URL(url)  # IDNA host, percent-encoded path: the request line's form
            host, netloc = target.raw_host.decode("ascii"), target.netloc.decode("ascii")
            path = target.raw_path.decode("ascii") or "/"
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise FetchError("invalid_url", url, f"invalid URL: {exc}") from None
        port = target.port or (443 if target.scheme == "https" else 80)
        key = (target.scheme, host, port)
        lines = (("Host", netloc), *self._headers, *headers.items())
        conn, response = self._request(url, key, path, lines)
        reusable = False
        try:
            result = self._handle(url, str(target), response, deadline, started)
            reusable = True
            return result
        except FetchError as exc:
            reusable = exc.kind == "http"  # a status we do not take: the connection is fine
            raise
        finally:
            self._release(key, conn, response, reusable)

    def _request(
        self, url: str, key: tuple[str, str, int], path: str, lines: Iterable[tuple[str, str]]
    ) -> tuple[GuardedConnection, http.client.HTTPResponse]:
        """Send the GET on a kept connection (or a new one); return it with the response head."""
        conn = self._pool.take(key)
        while True:
            reused = conn is not None
            conn = conn or self._connection(*key)
            try:
                conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
                for name, value in lines:
                    conn.putheader(name, _header_bytes(value))
                conn.endheaders()
                return conn, conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if not reused:
                    raise _request_error(url, exc, self._timeout) from None
                conn = None  # the server dropped a kept connection as we reused it: a new one
            except BaseException as exc:
                conn.close()
                raise _request_error(url, exc, self._timeout) from None

    def _release(
        self,
        key: tuple[str, str, int],
        conn: GuardedConnection,
        response: http.client.HTTPResponse,
        reusable: bool,
    ) -> None:
        """Keep the connection when its response was read to the end, else close it.

        An unused body (a 304's, which is empty, a redirect's or an error's) is read when it
        is small, under the request's deadline, so that its connection can be kept too.
        """
        if reusable and not response.isclosed():
            reusable = response.length is not None and response.length <= _DRAIN
            try:
                if reusable:
                    response.read()
            except (OSError, http.client.HTTPException):
                reusable = False
        if reusable and response.isclosed() and not response.will_close and not response.length:
            self._pool.give(key, conn)
        else:
            response.close()
            conn.close()

    def _timeout(self, url: str) -> FetchError:
        """Return the error for a request that ran out of its whole-request time."""
        return FetchError(
            "timeout", url, f"timed out: no complete response within {self.settings.timeout:g}s"
        )

    def _handle(
        self,
        url: str,
        final_url: str,
        response: http.client.HTTPResponse,
        deadline: float,
        started: float,
    ) -> FetchResult | str:
        """Turn one response into a result, a redirect target, or a FetchError."""
        status = response.status
        headers = _header_dict(response.getheaders())
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status in REDIRECT_STATUSES and headers.get("location"):
            return headers["location"]
        if status >= 400 or status < 200 or status in REDIRECT_STATUSES:
            raise FetchError(
                "http",
                url,
                f"HTTP {status} {response.reason}".strip(),
                status=status,
                retry_after=retry_after,
            )
        body = b"" if status == 304 else self._read_body(url, response, headers, deadline)
        return FetchResult(
            url=final_url,
            status=status,
            headers=headers,
            body=body,
            not_modified=status == 304,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            retry_after=retry_after,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        )

    def _read_body(
        self,
        url: str,
        response: http.client.HTTPResponse,
        headers: dict[str, str],
        deadline: float,
    ) -> bytes:
        """Return the decoded body, enforcing the size cap after decompression and the deadline."""
        cap = self.settings.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError("too_large", url, f"body of {declared} bytes exceeds {cap}")
        try:
            decoder = BodyDecoder(headers.get("content-encoding", ""))
        except BadBody as exc:
            raise FetchError("network", url, str(exc)) from None
        chunks: list[bytes] = []
        total = 0
        try:
            # Each read is bounded by what is left of the request's time (transport.py).
            while raw := response.read(_CHUNK):
                if time.monotonic() > deadline:
                    raise self._timeout(url)
                data = decoder.feed(raw, cap - total + 1)
                total += len(data)
                if total > cap or decoder.overflowed:
                    raise FetchError("too_large", url, f"body exceeds {cap} bytes")
                chunks.append(data)
        except TimeoutError:
            raise self._timeout(url) from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError("network", url, f"{type(exc).__name__}: {exc}") from None
        except BadBody as exc:
            raise FetchError("network", url, str(exc)) from None
        if response.length:  # the connection ended before the declared Content-Length
            detail = f"IncompleteRead: the body ended {response.length} bytes short"
            raise FetchError("network", url, detail)
        return b"".join(chunks)
