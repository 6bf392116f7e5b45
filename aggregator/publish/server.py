"""The one local web server: a built site on 127.0.0.1 (`publish --serve`, `demo --serve`).

Other content can be mounted under a path prefix (the demo's example outlets), so one port
serves the site and every page it links to.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

# A mounted responder gets the method, the path after its prefix (with the query), the request
# headers and body; it returns the status, the response headers and the body.
Responder = Callable[[str, str, Mapping[str, str], bytes], tuple[int, dict[str, str], bytes]]


class _Handler(SimpleHTTPRequestHandler):
    # UTF-8 everywhere: without the charset a browser may guess another encoding (seed 002).
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".json": "application/json",
        ".xml": "application/xml; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
        ".svg": "image/svg+xml",
        ".wasm": "application/wasm",
        ".pf_meta": "application/octet-stream",
    }

    mounts: ClassVar[dict[str, Responder]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the CLI prints the address once

    def do_GET(self) -> None:
        if not self._mounted(head=False):
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._mounted(head=True):
            super().do_HEAD()

    def do_POST(self) -> None:
        if not self._mounted(head=False):
            self.send_error(405, "the site is static")

    def _mounted(self, head: bool) -> bool:
        """Answer from a mounted responder when the path is under its prefix; return whether."""
        for prefix, responder in self.mounts.items():
            if self.path == prefix or self.path.startswith((prefix + "/", prefix + "?")):
                size = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(size) if size else b""
                path = self.path[len(prefix) :] or "/"
                try:
                    status, headers, body = responder(self.command, path, self.headers, payload)
                except Exception as exc:  # a broken mount must show, not hang the client
                    status, headers = 500, {"Content-Type": "text/plain; charset=utf-8"}
                    body = f"server: {self.path}: {type(exc).__name__}: {exc}".encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)
                return True
        return False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)


class SiteServer:
    """A running local server; `url` is its address, `stop()` shuts it down."""

    def __init__(self, httpd: ThreadingHTTPServer, thread: threading.Thread):
        self.httpd = httpd
        self.thread = thread
        host, port = httpd.server_address[:2]
        self.url = f"http://{host}:{port}/"

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> SiteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PortInUse(Exception):
    """The port to serve on is taken; the message names it."""


def serve_site(
    path: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    mounts: Mapping[str, Responder] | None = None,
) -> SiteServer:
    """Return a server of the directory `path` (plus any mounts) running in a background thread."""
    handler_class = type("SiteHandler", (_Handler,), {"mounts": dict(mounts or {})})
    handler = partial(handler_class, directory=str(path))
    try:
        httpd = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise PortInUse(
            f"serve: cannot listen on {host}:{port} ({exc.strerror}; pass --port)"
        ) from None
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="site-server", daemon=True)
    thread.start()
    return SiteServer(httpd, thread)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def until_stopped() -> Iterator[None]:
    """Return a context that ends quietly on Ctrl-C or SIGTERM (`docker stop`, a service
    manager), so that the caller's cleanup runs either way: a SIGTERM otherwise kills Python
    at once, leaving worker processes' semaphores behind."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        with contextlib.suppress(KeyboardInterrupt):
            yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def serve_until_interrupted(server: SiteServer, echo: Callable[[str], None], what: str) -> None:
    """Print where `what` is served and block until Ctrl-C or SIGTERM (the caller stops the
    server)."""
    with until_stopped():  # before the line that tells a caller it may stop us
        echo(f"serving {what} at {server.url} (Ctrl-C stops)")
        server.thread.join()
