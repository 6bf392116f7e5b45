"""HTTP plumbing for the fetcher: address-checked connections, Retry-After, bounded inflate."""

from __future__ import annotations

import email.utils
import http.client
import io
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import httpcore

Resolver = Callable[[str, int], list[str]]


class Blocked(Exception):
    """Raised inside the transport when a host resolves to an address we must not reach."""


class BadBody(Exception):
    """A response body that cannot be decoded (unknown or corrupt Content-Encoding)."""


def default_resolver(host: str, port: int) -> list[str]:
    """Return the addresses a host name resolves to, in resolver order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# getaddrinfo cannot be given a timeout: a lookup runs on one of these threads while the request
# waits at most until its deadline. A lookup that hangs keeps its thread until the system
# resolver gives up (its own timeouts); the pool's size bounds how many can.
_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")


def resolve_by_deadline(resolve: Resolver, host: str, port: int) -> list[str]:
    """Return resolve(host, port), given up (TimeoutError) at the request's deadline."""
    deadline = getattr(_clock, "deadline", None)
    if deadline is None:
        return resolve(host, port)
    future = _LOOKUPS.submit(resolve, host, port)
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        future.cancel()  # still queued: never runs
        raise TimeoutError(f"looking up {host} took past the request's deadline") from None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return Retry-After (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) in seconds."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


_clock = threading.local()  # the current request's wall-clock deadline, per calling thread


@contextmanager
def request_deadline(deadline: float) -> Iterator[None]:
    """Bound every socket operation of this thread's request by a time.monotonic() deadline."""
    _clock.deadline = deadline
    try:
        yield
    finally:
        _clock.deadline = None


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """Return the socket timeout left before the request's deadline; raise `error` when none is."""
    deadline = getattr(_clock, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes stop at the request's deadline, not per operation.

    httpx's timeouts apply to each read, so a server dripping a byte a second would hold a
    request forever; here every read gets only what is left of the whole request's time.
    """

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard allows, checked after resolution (every hop)."""

    def __init__(self, check: Callable[[str, int], list[str]]):
        self._check = check

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        # Connect to the very address that was checked, so a second DNS answer cannot
        # swap in a private one (DNS rebinding).
        for address in self._check(host, port):
            try:
                bounded = _bounded(timeout, httpcore.ConnectTimeout)
                stream = super().connect_tcp(address, port, bounded, local_address, socket_options)
                return DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address for {host}")


_GZIP_MAGIC = b"\x1f\x8b"
# zlib headers (RFC 1950) of the usual levels; their second bytes are not text, so "x" + a
# letter at the start of a plain body is never mistaken for one.
_ZLIB_LEVELS = (b"\x01", b"\x9c", b"\xda")


class BodyDecoder:
    """Content-Encoding decoder that never inflates more than it is allowed to (gzip bombs)."""

    def __init__(self, encoding: str):
        names = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        names = [n for n in names if n != "identity"]
        if len(names) > 1 or (names and names[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadBody(f"unsupported content-encoding {encoding!r}")
        self.kind = names[0] if names else None
        self._z: Any = None
        self.overflowed = False
        self._sniff = self.kind is None
        if self.kind in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _sniffed(self, raw: bytes) -> None:
        """Decode a body compressed without saying so (magic bytes), under the same cap."""
        self._sniff = False
        if raw[:2] == _GZIP_MAGIC:
            self.kind = "gzip"
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif raw[:1] == b"\x78" and raw[1:2] in _ZLIB_LEVELS:
            self.kind = "deflate"

    def feed(self, raw: bytes, limit: int) -> bytes:
        """Return decoded bytes for a raw chunk, at most `limit` of them (then `overflowed`)."""
        if self._sniff and raw:
            self._sniffed(raw)
        if self.kind is None:
            return raw
        if self._z is None:  # deflate: zlib-wrapped per RFC 9110, raw in practice too
            self._z = zlib.decompressobj(
                -zlib.MAX_WBITS if raw[:1] and raw[0] & 0x0F != 8 else zlib.MAX_WBITS
            )
        try:
            out = self._z.decompress(raw, limit)
        except zlib.error as exc:
            raise BadBody(f"bad {self.kind} body: {exc}") from None
        # Input left over means the limit was reached: stop inflating, the body is too large.
        self.overflowed = bool(self._z.unconsumed_tail)
        return out


# The fetcher's own connections: http.client under the same guard and deadline. httpx's
# stack (Client, httpcore's pool, h11) cost 0.7 ms of CPU per conditional GET on one thread
# and twice that with 16 threads contending for the GIL and the pool's locks; http.client
# costs about 0.25 ms on either (issue 21: a pass of 1,000 304s was bound by this CPU).


def _left(default: float | None) -> float | None:
    """Return the socket timeout for the next operation: what is left of the request's time."""
    return _bounded(default, TimeoutError)


class _DeadlineIO(io.RawIOBase):
    """A socket's reads (a socket.makefile raw stream), each bounded by the request's deadline."""

    def __init__(self, sock: socket.socket, raw: Any, default: float | None):
        self._sock, self._raw, self._default = sock, raw, default

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_left(self._default))
        return int(self._raw.readinto(buffer))

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """The socket http.client sees: sends and reads stop at the request's deadline."""

    def __init__(self, sock: socket.socket, default: float | None):
        self._sock, self._default = sock, default

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        # The real socket's own makefile counts the reference: a close() while the response
        # is still being read waits for it, as with a plain socket.
        raw = self._sock.makefile("rb", buffering=0)
        return io.BufferedReader(_DeadlineIO(self._sock, raw, self._default))

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_left(self._default))
        self._sock.sendall(data)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()


class GuardedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to the address the guard checked (DNS rebinding), bounded by
    the request's deadline from connect to the last byte (transport.request_deadline)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        check: Callable[[str, int], list[str]],
        tls: ssl.SSLContext | None,
        connect_timeout: float,
        timeout: float,
    ):
        super().__init__(host, port, timeout=timeout)
        self._check, self._tls, self._connect_timeout = check, tls, connect_timeout

    def connect(self) -> None:
        last_error: OSError | None = None
        sock = None
        for address in self._check(self.host, self.port):
            try:
                sock = socket.create_connection(
                    (address, self.port), _bounded(self._connect_timeout, TimeoutError)
                )
                break
            except TimeoutError:
                raise
            except OSError as exc:
                last_error = exc
        if sock is None:
            raise last_error or ConnectionError(f"no address for {self.host}")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock.settimeout(_bounded(self._connect_timeout, TimeoutError))
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(sock, self.timeout)  # type: ignore[assignment]

    def stale(self) -> bool:
        """Return True when an idle connection cannot be reused (closed by the server, or
        holding bytes nobody asked for)."""
        sock = self.sock
        if sock is None:
            return True
        try:
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default too)


class ConnectionPool:
    """Idle keep-alive connections by (scheme, host, port), shared by the fetch threads."""

    def __init__(self, per_host: int, total: int):
        self._per_host, self._total = per_host, total
        self._idle: dict[tuple[str, str, int], list[tuple[GuardedConnection, float]]] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._closed = False

    def take(self, key: tuple[str, str, int]) -> GuardedConnection | None:
        """Return an idle connection to this origin that is still usable, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn, since = idle.pop()
                self._count -= 1
            # Servers and middleboxes drop idle connections, not always with a FIN we can see.
            if time.monotonic() - since < KEEPALIVE_EXPIRY and not conn.stale():
                return conn
            conn.close()

    def give(self, key: tuple[str, str, int], conn: GuardedConnection) -> None:
        """Keep a connection whose last response was read to its end, within the limits."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < self._per_host and self._count < self._total:
                idle.append((conn, time.monotonic()))
                self._count += 1
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection; connections given back later are closed too."""
        with self._lock:
            self._closed = True
            conns = [c for idle in self._idle.values() for c, _ in idle]
            self._idle.clear()
            self._count = 0
        for conn in conns:
            conn.close()
