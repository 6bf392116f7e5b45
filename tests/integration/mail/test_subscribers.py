"""Subscriber commands' functions against a real database."""

from __future__ import annotations

import pytest

from aggregator.deliver.mail import make_token
from aggregator.deliver.store import (
    SubscriberError,
    add_subscriber,
    import_subscribers,
    list_subscribers,
    remove_by_token,
    remove_subscriber,
)

pytestmark = pytest.mark.integration
SECRET = b"k"


def test_add_subscriber_adds_once_and_reactivates(any_ctx) -> None:
    with any_ctx.session() as session:
        row, status = add_subscriber(session, "Ann@Example.org")
        assert (row.email, row.status, row.origin, status) == (
            "ann@example.org",
            "active",
            "cli",
            "added",
        )
        assert add_subscriber(session, "ann@example.org")[1] == "exists"
        assert remove_subscriber(session, "ANN@example.org") is True
        assert remove_subscriber(session, "ann@example.org") is False
        assert row.unsubscribed_at is not None
        assert add_subscriber(session, "ann@example.org")[1] == "reactivated"
        assert row.status == "active" and row.unsubscribed_at is None
    with any_ctx.session() as session:
        assert [s.email for s in list_subscribers(session)] == ["ann@example.org"]


def test_add_subscriber_rejects_bad_address_and_writes_nothing(any_ctx) -> None:
    with any_ctx.session() as session:
        with pytest.raises(SubscriberError, match="'not-an-address' is not an email address"):
            add_subscriber(session, "not-an-address")
        assert list_subscribers(session) == []


def test_import_subscribers_counts_and_respects_unsubscribes(any_ctx) -> None:
    lines = ["email,name", "new@example.org,New", "dup@example.org", "DUP@example.org",
             "# a comment", "", "broken line", "left@example.org", "kept@example.org"]  # fmt: skip
    with any_ctx.session() as session:
        add_subscriber(session, "kept@example.org")
        add_subscriber(session, "left@example.org")
        remove_subscriber(session, "left@example.org")
        result = import_subscribers(session, lines)
    assert (result.added, result.existing, result.kept_unsubscribed) == (2, 1, 1)
    assert result.invalid == [(7, "broken line")]
    with any_ctx.session() as session:
        active = [s.email for s in list_subscribers(session, "active")]
        assert active == ["dup@example.org", "kept@example.org", "new@example.org"]
        assert {s.origin for s in list_subscribers(session) if s.email == "new@example.org"} == {
            "import"
        }
        assert [s.email for s in list_subscribers(session, "unsubscribed")] == ["left@example.org"]


def test_remove_by_token_unsubscribes_and_rejects_forgeries(any_ctx) -> None:
    with any_ctx.session() as session:
        add_subscriber(session, "ann@example.org")
        token = make_token(SECRET, "ann@example.org")
        with pytest.raises(SubscriberError, match="token is not valid"):
            remove_by_token(session, token, b"other key")
        with pytest.raises(SubscriberError, match="token is not valid"):
            remove_by_token(session, token[:-3], SECRET)
        assert remove_by_token(session, token, SECRET) == ("ann@example.org", True)
        assert remove_by_token(session, token, SECRET) == ("ann@example.org", False)
        assert list_subscribers(session, "active") == []
