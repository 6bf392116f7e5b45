"""A real HTTP server on 127.0.0.1 (port 0) serving feeds and misbehaving on purpose.

Routes are added per test::

    server.add("/feed.xml", body, etag=True)              # ETag + Last-Modified, 304 on match
    server.add("/busy", status=429, headers={"Retry-After": "120"})
    server.add("/slow", body, delay=2.0)                  # headers only after 2 s
    server.add("/big", body, content_length=False)        # close-delimited, no length
    server.redirect("/a", "/b")

`hits[path]` counts requests, `seen_headers[path]` keeps the last request's headers and
`max_in_flight` the highest number of requests served at the same time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    """How one path answers."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: bool = True
    delay: float = 0.0
    content_length: bool = True


class FeedServer:
    """ThreadingHTTPServer in a daemon thread; use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.seen_headers: dict[str, dict[str, str]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = _QuietServer((host, 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        """Return http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        """Serve `body` at `path` with Route options; return the path's URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer `path` with a redirect to `location`; return the path's URL."""
        return self.add(path, status=status, headers={"Location": location}, etag=False)

    def start(self) -> FeedServer:
        """Start serving; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enter(self) -> None:
        """Count one more request in flight."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        """Count one request done."""
        with self._lock:
            self.in_flight -= 1


class _QuietServer(ThreadingHTTPServer):
    """Clients hanging up mid-response (timeouts, size caps) are expected, not worth a trace."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


LAST_MODIFIED = formatdate(1767225600, usegmt=True)


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            server.hits[path] += 1
            server.seen_headers[path] = {k.lower(): v for k, v in self.headers.items()}
            route = server.routes.get(path)
            server.enter()
            try:
                if route is None:
                    self._reply(Route(status=404, body=b"not found", etag=False))
                else:
                    if route.delay:
                        time.sleep(route.delay)
                    self._reply(route)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeouts, size caps): expected
            finally:
                server.leave()

        def _reply(self, route: Route) -> None:
            tag = f'"{hashlib.sha256(route.body).hexdigest()[:16]}"'
            matched = route.etag and self.headers.get("If-None-Match") == tag
            self.send_response(304 if matched else route.status)
            self.send_header("Content-Type", route.content_type)
            if route.etag:
                self.send_header("ETag", tag)
                self.send_header("Last-Modified", LAST_MODIFIED)
            for name, value in route.headers.items():
                self.send_header(name, value)
            body = b"" if matched else route.body
            if route.content_length or matched:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start : start + 65536])

    return Handler
