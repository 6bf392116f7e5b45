"""Unit tests of subscriber input parsing (no database)."""

from __future__ import annotations

import pytest

from aggregator.deliver.store import SubscriberError, normalize_email, parse_import_line


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ann@Example.ORG ", "ann@example.org"),
        ("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
    ],
)
def test_normalize_email_accepts_addresses(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("bad", ["", "ann", "ann@", "@example.org", "a b@example.org",
                                 "ann@localhost", "ann@example..org", "<x>@example.org"])  # fmt: skip
def test_normalize_email_rejects_non_addresses(bad: str) -> None:
    with pytest.raises(SubscriberError, match=r"subscribers: .* is not an email address"):
        normalize_email(bad)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ann@example.org", "ann@example.org"),
        ("ann@example.org,Ann,2024-01-01", "ann@example.org"),
        ('"bob@example.org";Bob', "bob@example.org"),
        ("Carol <carol@example.org>", "carol@example.org"),
        ("\ufeffemail,name", None),
        ("# comment", None),
        ("   ", None),
    ],
)
def test_parse_import_line_takes_the_address_field(line: str, expected: str | None) -> None:
    assert parse_import_line(line) == expected
