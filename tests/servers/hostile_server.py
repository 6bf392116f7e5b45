"""A hostile HTTP server on 127.0.0.1: drips headers or bodies, sends unlabelled gzip bombs.

Raw sockets rather than http.server, because the attacks are about when bytes are written.
Routes: /drip-headers, /drip-body, /slow-page/<n> (a page whose body drips), /links/<k>.xml
(a fast feed linking to slow pages), /bomb.xml (gzip of a huge feed, no Content-Encoding),
/many.xml (a feed of `entries` items); anything else is a small page.
"""

from __future__ import annotations

import gzip
import os
import socket
import socketserver
import subprocess
import threading
import time
from types import TracebackType

DRIP_EVERY = 0.2  # seconds between bytes: each read succeeds well within any per-read timeout


def rss_items(count: int, start: int = 0) -> bytes:
    """Return an RSS document with `count` small items, newest first."""
    items = "".join(
        f"<item><guid>g{n}</guid><title>Story {n}</title><link>https://n.test/{n}</link>"
        f"<pubDate>{time.strftime('%d %b %Y %H:%M:%S GMT', time.gmtime(1.7e9 + n * 60))}"
        "</pubDate></item>"
        for n in range(start + count - 1, start - 1, -1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Many</title>'
        f"<link>https://news.example.org/</link>{items}</channel></rss>"
    ).encode()


def gzip_bomb(inflated_mib: int) -> bytes:
    """Return gzip bytes that inflate to a feed of about `inflated_mib` MiB."""
    head = rss_items(3)[: -len(b"</channel></rss>")]
    filler = b"<!-- " + b"x" * (1024 * 1024 - 9) + b" -->"
    out = gzip.compress(head + filler * inflated_mib + b"</channel></rss>", compresslevel=9)
    return out


class _Handler(socketserver.BaseRequestHandler):
    server: HostileServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode().split("?", 1)[0]
        self.server.hits.append(path)
        try:
            self._route(conn, path)
        except OSError:  # the client gave up: the attack is over
            return

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self.server.closing.is_set():
                return
            conn.sendall(data[i : i + 1])
            time.sleep(DRIP_EVERY)

    def _route(self, conn: socket.socket, path: str) -> None:
        if path == "/drip-headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            self._drip(conn, b"X-Slow: " + b"a" * 10_000 + b"\r\n\r\n")
        elif path == "/drip-body" or path.startswith("/slow-page/"):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
            conn.sendall(head)
            self._drip(conn, b"<p>" + b"slow " * 20_000)
        elif path == "/robots.txt":
            self._send(conn, b"User-agent: *\nAllow: /\n", "text/plain")
        elif path.startswith("/links/"):  # a fast feed whose every article page drips
            key = path.rsplit("/", 1)[-1].removesuffix(".xml")
            self._send(conn, self.server.slow_links_feed(key), "application/rss+xml")
        elif path == "/bomb.xml":
            self._send(conn, self.server.bomb, "application/rss+xml")
        elif path == "/many.xml":
            self._send(conn, self.server.many, "application/rss+xml")
        else:
            self._send(conn, b"<html><p>fine</p></html>", "text/html")

    def _send(self, conn: socket.socket, body: bytes, ctype: str) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)


class HostileServer(socketserver.ThreadingTCPServer):
    """The server, started in a thread by `with HostileServer() as server:`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, entries: int = 100_000, bomb_mib: int = 64):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[str] = []
        self.closing = threading.Event()
        self.many = rss_items(entries) if entries else b""
        self.bomb = gzip_bomb(bomb_mib) if bomb_mib else b""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def slow_links_feed(self, key: str, links: int = 6) -> bytes:
        """Return a feed whose items link to pages on this server that drip forever."""
        items = "".join(
            f"<item><guid>{key}-{n}</guid><title>Story {key} {n}</title>"
            f"<link>{self.base}/slow-page/{key}-{n}</link></item>"
            for n in range(links)
        )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{key}</title>'
            f"<link>{self.base}/</link>{items}</channel></rss>"
        ).encode()

    @property
    def base(self) -> str:
        """Return the server's base URL."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()


def _children(pid: int) -> set[int]:
    """Return the ids of every live descendant of a process (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def run_measured(argv: list[str], **popen: object) -> tuple[int, float]:
    """Run a command; return (exit code, peak MB of its process tree).

    The tree's memory is the sum of its processes' proportional set sizes (PSS: a page
    shared by n processes counts 1/n in each, so the sum is what the tree really holds),
    sampled every 20 ms; the peak is the largest sum seen. Not os.wait4: a child forked
    from a large test process reports the parent's size as its own peak. The bench scripts
    measure the same way.
    """
    child = subprocess.Popen(argv, **popen)  # type: ignore[call-overload]
    peak = 0
    while child.poll() is None:
        peak = max(peak, sum(_pss_kib(pid) for pid in {child.pid} | _children(child.pid)))
        time.sleep(0.02)
    return child.returncode, peak / 1024


def _pss_kib(pid: int) -> int:
    """Return a process's proportional set size in KiB (0 when it is gone or not ours yet)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            if b"aggregator" not in handle.read():
                return 0  # between fork and exec the child still looks like its parent
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
