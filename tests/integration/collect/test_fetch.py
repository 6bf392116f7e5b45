"""The safe fetcher against a real server: validators, errors, caps, redirects, politeness."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aggregator.collect.fetch import Fetcher, FetchError
from aggregator.settings import FetchSettings
from tests.servers.feed_server import FeedServer

pytestmark = pytest.mark.integration


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    client = Fetcher(
        FetchSettings(
            allow_private_networks=True, timeout=1.0, max_body_bytes=64 * 1024, max_redirects=5
        ),
        "https://news.example.org/",
        "Signal",
    )
    yield client
    client.close()


def test_fetch_conditional_get_returns_304_without_body(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.add("/feed.xml", "<rss/>")
    first = fetcher.fetch(url)
    assert first.status == 200 and first.body == b"<rss/>" and first.etag
    assert first.last_modified and first.headers["content-type"].startswith("application/rss")
    second = fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert feed_server.seen_headers["/feed.xml"]["if-none-match"] == first.etag
    assert feed_server.seen_headers["/feed.xml"]["if-modified-since"] == first.last_modified


def test_fetch_sends_honest_user_agent(feed_server: FeedServer, fetcher: Fetcher) -> None:
    fetcher.fetch(feed_server.add("/ua", "x"))
    agent = feed_server.seen_headers["/ua"]["user-agent"]
    assert "Signal" in agent and "https://news.example.org/" in agent


def test_fetch_429_carries_retry_after(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("/busy", status=429, headers={"Retry-After": "120"}, etag=False)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert (caught.value.kind, caught.value.status, caught.value.retry_after) == (
        "http",
        429,
        120.0,
    )
    assert str(caught.value).startswith(f"fetch: {url}: HTTP 429")


def test_fetch_500_is_an_http_error(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("/broken", b"oops", status=500, etag=False)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "http" and caught.value.status == 500


def test_fetch_slow_response_times_out(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("/slow", "late", delay=2.0)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "timeout"


def test_fetch_refuses_oversized_declared_body(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("/big", b"x" * (64 * 1024 + 1))
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "too_large"


def test_fetch_stops_oversized_streamed_body(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add("/big-stream", b"x" * (1024 * 1024), content_length=False)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "too_large"


def test_fetch_inflates_gzip(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.add(
        "/gz",
        gzip.compress(b"<rss>" + b"a" * 5000 + b"</rss>"),
        headers={"Content-Encoding": "gzip"},
    )
    assert fetcher.fetch(url).body == b"<rss>" + b"a" * 5000 + b"</rss>"


def test_fetch_stops_gzip_bomb_at_cap(feed_server: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 64 * 1024  # small on the wire, 20 MiB inflated
    url = feed_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "too_large"


def test_fetch_follows_redirects_and_reports_final_url(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.add("/new-home.xml", "<rss/>")
    url = feed_server.redirect("/old.xml", "/new-home.xml", status=301)
    result = fetcher.fetch(url)
    assert result.url == feed_server.url("/new-home.xml") and result.body == b"<rss/>"


def test_fetch_detects_redirect_loop(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.redirect("/loop-a", "/loop-b")
    feed_server.redirect("/loop-b", "/loop-a")
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "redirects" and "loop" in str(caught.value)


def test_fetch_limits_redirect_chain(feed_server: FeedServer, fetcher: Fetcher) -> None:
    for n in range(7):
        feed_server.redirect(f"/hop{n}", f"/hop{n + 1}")
    feed_server.add("/hop7", "end")
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(feed_server.url("/hop0"))
    assert caught.value.kind == "redirects" and "more than 5" in str(caught.value)


def test_fetch_refuses_loopback_server_when_private_networks_are_off(
    feed_server: FeedServer,
) -> None:
    client = Fetcher(FetchSettings(allow_private_networks=False), "https://n.example/")
    try:
        with pytest.raises(FetchError) as caught:
            client.fetch(feed_server.add("/feed.xml", "<rss/>"))
        assert caught.value.kind == "blocked" and "loopback" in str(caught.value)
        with pytest.raises(FetchError):  # same server by name: checked after resolution
            client.fetch(f"http://localhost:{feed_server.port}/feed.xml")
    finally:
        client.close()
    assert feed_server.hits["/feed.xml"] == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f000001:1/feed.xml",
        "http://[::ffff:127.0.0.1]:{port}/feed.xml",
        "http://127.0.0.1:1/",
        "http://intranet.test/x",
    ],
)
def test_fetch_refuses_redirect_to_private_address(feed_server: FeedServer, target: str) -> None:
    # Only this server's exact address is allowed, so the guard decides every other hop.
    allowed = [f"127.0.0.1:{feed_server.port}"]
    client = Fetcher(
        FetchSettings(allow_private_networks=False),
        "https://n.example/",
        resolver=lambda host, port: {"intranet.test": ["10.20.30.40"]}[host],
        allow_addresses=allowed,
    )
    feed_server.add("/feed.xml", "<rss/>")
    url = feed_server.redirect("/jump", target.format(port=feed_server.port))
    try:
        assert client.fetch(feed_server.url("/feed.xml")).body == b"<rss/>"  # allowed directly
        with pytest.raises(FetchError) as caught:
            client.fetch(url)
    finally:
        client.close()
    assert caught.value.kind == "blocked"
    assert feed_server.hits["/feed.xml"] == 1  # the redirect never reached it again


def test_fetch_limits_concurrency_per_host(feed_server: FeedServer) -> None:
    client = Fetcher(
        FetchSettings(allow_private_networks=True, per_host_concurrency=2), "https://n.example/"
    )
    url = feed_server.add("/slowish", "x", delay=0.15)
    threads = [threading.Thread(target=client.fetch, args=(url,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert feed_server.hits["/slowish"] == 6
    assert feed_server.max_in_flight == 2


def test_fetch_network_error_is_a_fetch_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch("http://127.0.0.1:1/closed")
    assert caught.value.kind == "network"


class _CountingServer(ThreadingHTTPServer):
    """Answers 304 to If-None-Match "v1"; counts TCP connections; can drop each one silently."""

    daemon_threads = True
    connections = 0
    drop = False  # close after each reply without saying so (a kept connection gone stale)


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _CountingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)  # no Content-Length, as many servers send a 304
            self.send_header("ETag", '"v1"')
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"<rss/>")
        self.close_connection = self.server.drop


@pytest.fixture
def counting_server() -> Iterator[_CountingServer]:
    server = _CountingServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_fetch_keeps_the_connection_across_304s(
    counting_server: _CountingServer, fetcher: Fetcher
) -> None:
    url = f"http://127.0.0.1:{counting_server.server_address[1]}/feed"
    assert fetcher.fetch(url).body == b"<rss/>"
    for _ in range(20):
        assert fetcher.fetch(url, etag='"v1"').not_modified
    # Issue 21: a 304 left unread used to cost a new TCP connection per request.
    assert counting_server.connections == 1


def test_fetch_reconnects_when_a_kept_connection_was_dropped(
    counting_server: _CountingServer, fetcher: Fetcher
) -> None:
    counting_server.drop = True
    url = f"http://127.0.0.1:{counting_server.server_address[1]}/feed"
    results = [fetcher.fetch(url, etag='"v1"' if n else None) for n in range(5)]
    assert [r.status for r in results] == [200, 304, 304, 304, 304]
    assert counting_server.connections == 5
