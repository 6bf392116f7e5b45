"""Issue 19, problems 2 and 4: a slow or hostile server cannot hold a fetch, nor inflate past the cap."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator

import pytest

from aggregator.collect.fetch import Fetcher, FetchError
from aggregator.settings import FetchSettings
from tests.servers.hostile_server import HostileServer, rss_items

pytestmark = pytest.mark.integration
TIMEOUT = 1.5
SLACK = 1.0  # thread scheduling on a loaded machine; the attack used to last minutes


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer(entries=0, bomb_mib=64) as server:
        yield server


def fetcher(**settings: object) -> Fetcher:
    fields = {"allow_private_networks": True, "timeout": TIMEOUT, **settings}
    return Fetcher(FetchSettings(**fields), "https://news.example.org/", "Signal")


def timed_fetch(client: Fetcher, url: str, **kwargs: object) -> tuple[BaseException, float]:
    """Return (what fetch raised, seconds); fails fast when the fetch outlives its deadline."""
    box: list[BaseException] = []

    def work() -> None:
        try:
            client.fetch(url, **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            box.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(TIMEOUT + SLACK + 5)
    assert not thread.is_alive(), "the fetch is still running: the deadline did not hold"
    return box[0], time.monotonic() - started


@pytest.mark.parametrize("path", ["/drip-headers", "/drip-body"])
def test_fetch_deadline_holds_against_a_drip(hostile: HostileServer, path: str) -> None:
    client = fetcher()
    error, took = timed_fetch(client, hostile.base + path)
    client.close()
    assert isinstance(error, FetchError) and error.kind == "timeout"
    assert "no complete response within 1.5s" in str(error)
    assert TIMEOUT - 0.1 <= took < TIMEOUT + SLACK, took


def test_fetch_caller_deadline_shortens_the_request(hostile: HostileServer) -> None:
    client = fetcher(timeout=30)
    error, took = timed_fetch(client, hostile.base + "/drip-body", deadline=time.monotonic() + 1)
    client.close()
    assert "its source's time ran out" in str(error) and took < 1.0 + SLACK


def test_fetch_gzip_without_content_encoding_is_capped(hostile: HostileServer) -> None:
    client = fetcher(timeout=30)
    assert len(hostile.bomb) < 1024 * 1024  # 64 MiB inflated, under 1 MiB on the wire
    with pytest.raises(FetchError) as caught:
        client.fetch(hostile.base + "/bomb.xml")
    client.close()
    assert caught.value.kind == "too_large"
    assert "exceeds 15728640 bytes" in str(caught.value)


def test_fetch_small_unlabelled_gzip_is_inflated(hostile: HostileServer) -> None:
    from tests.servers.feed_server import FeedServer

    feed = rss_items(3)
    with FeedServer() as server:
        url = server.add("/gz.xml", gzip.compress(feed), etag=False)
        client = fetcher()
        result = client.fetch(url)
        client.close()
    assert result.body == feed
