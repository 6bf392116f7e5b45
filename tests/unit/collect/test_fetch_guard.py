"""The fetcher refuses non-public addresses however they are spelled, before any connection."""

from __future__ import annotations

import pytest

from aggregator.collect.fetch import Fetcher, FetchError
from aggregator.settings import FetchSettings


@pytest.fixture
def fetcher() -> Fetcher:
    # The resolver must never be consulted for literal addresses: it fails the test if it is.
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError(f"resolved {host}")

    client = Fetcher(
        FetchSettings(allow_private_networks=False), "https://news.example.org/", resolver=resolver
    )
    yield client
    client.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://0177.0.0.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "https://[fc00::1]/",
        "http://0/",
    ],
)
def test_fetcher_refuses_non_public_literals(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "blocked"
    message = str(caught.value)
    assert message.startswith("fetch: ") and url in message and "refused" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/x",
        "gopher://h/",
        "http://",
        "not a url",
        "http://exa mple.org:99999/",
    ],
)
def test_fetcher_rejects_invalid_urls(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.kind == "invalid_url"


def test_fetcher_refuses_names_resolving_to_private_addresses() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return {"intranet.example": ["10.1.2.3"], "mixed.example": ["93.184.215.14", "127.0.0.1"]}[
            host
        ]

    client = Fetcher(
        FetchSettings(allow_private_networks=False), "https://n.example/", resolver=resolver
    )
    try:
        for url in ("http://intranet.example/feed", "http://mixed.example/feed"):
            with pytest.raises(FetchError) as caught:
                client.fetch(url)
            assert caught.value.kind == "blocked", url
    finally:
        client.close()


def test_fetcher_user_agent_names_service_and_site() -> None:
    client = Fetcher(FetchSettings(), "https://news.example.org/", "Signal")
    assert "Signal" in client.user_agent and "https://news.example.org/" in client.user_agent
    client.close()


def test_a_hung_dns_lookup_ends_at_the_request_deadline() -> None:
    # getaddrinfo has no timeout of its own: a lookup that hangs must not hold the fetch (and
    # its host slot) past the request's time. The resolver here hangs for 5 s.
    import threading
    import time

    released = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        released.wait(5)
        return ["93.184.216.34"]

    client = Fetcher(
        FetchSettings(allow_private_networks=False, timeout=0.5), "https://n.example/",
        resolver=hanging,
    )  # fmt: skip
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as caught:
            client.fetch("https://slow-dns.example/feed.xml")
    finally:
        released.set()
        client.close()
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2.0
