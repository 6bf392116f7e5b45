"""Canonical URLs and the address guard's parsing of odd host spellings."""

from __future__ import annotations

import ipaddress

import pytest

from aggregator.collect.urls import blocked_reason, canonical_url, parse_ip_host


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTPS://Example.COM:443/a?utm_source=x&id=3#frag", None, "https://example.com/a?id=3"),
        ("http://example.com:80", None, "http://example.com/"),
        ("http://example.com:8080/p", None, "http://example.com:8080/p"),
        (
            "/posts/1?fbclid=z&gclid=y&mc_cid=1&ref=hn",
            "https://blog.example.org/feed.xml",
            "https://blog.example.org/posts/1",
        ),
        ("../x", "https://h.example/a/b/feed", "https://h.example/a/x"),
        (
            "https://example.com./p?q=1&utm_medium=rss&keep=",
            None,
            "https://example.com/p?q=1&keep=",
        ),
        ("http://[::1]:80/", None, "http://[::1]/"),
    ],
)
def test_canonical_url_normalizes(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "mailto:a@b.example",
        "javascript:alert(1)",
        "http://example.com:99999/",
        "ftp://example.com/x",
    ],
)
def test_canonical_url_rejects_non_http(url: str) -> None:
    assert canonical_url(url) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("[::1]", "::1"),
        ("0", "0.0.0.0"),
        ("169.254.169.254", "169.254.169.254"),
        ("[fe80::1%eth0]", "fe80::1"),
    ],
)
def test_parse_ip_host_reads_odd_spellings(host: str, address: str) -> None:
    assert parse_ip_host(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.org", "1.2.3.4.5", "08.0.0.1", "256.1.1.1", "a1.b2"])
def test_parse_ip_host_leaves_names_alone(host: str) -> None:
    assert parse_ip_host(host) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("ff02::1", "multicast"),
    ],
)
def test_blocked_reason_names_non_public_addresses(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_blocked_reason_allows_public_addresses(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None
