"""What's new: the new items' sentences that the card and earlier reports do not say yet."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from aggregator.notify.webhook import backoff, idempotency_key, sign
from aggregator.revise.whatsnew import NewItem, change_summary, revision_reason, whats_new

CARD = {
    "title": "Ferry line adds a night crossing",
    "hook": "The harbor ferry will run a late boat from March.",
    "tldr": {"what_changed": "The harbor ferry adds a crossing at 23:30 from March.",
             "why_it_matters": "Shift workers on the island had no way home after ten."},
    "key_takeaways": [{"text": "The late boat leaves the north pier at 23:30 every weekday.",
                       "citations": ["The late boat leaves the north pier at 23:30 every weekday."]}],
}  # fmt: skip
WHEN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _item(text: str, source: str = "Island Post") -> NewItem:
    return NewItem(7, source, "http://example.test/a", "Night ferry confirmed", text, WHEN)


def test_whatsnew_keeps_new_fact_and_drops_restatement() -> None:
    restated = "The late boat will leave the north pier at 23:30 on every weekday from March."
    fact = "Tickets for the night crossing will cost 4.50 euros, the operator said on Friday."
    points = whats_new(CARD, [_item(f"{restated} {fact}")])
    assert [p["text"] for p in points] == [fact]
    assert points[0]["citations"] == [fact] and points[0]["source"] == "Island Post"


def test_whatsnew_fact_from_earlier_report_is_not_new() -> None:
    fact = "Tickets for the night crossing will cost 4.50 euros, the operator said on Friday."
    assert whats_new(CARD, [_item(fact)], earlier=[fact]) == []


def test_revision_needs_new_source_or_fact() -> None:
    assert revision_reason([], []) is None
    assert revision_reason(["Island Post"], []) == "new_sources"
    assert change_summary(["Island Post"], [{}]) == "New reporting from Island Post; 1 new point"


def test_webhook_signature_key_and_backoff() -> None:
    expected = hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
    assert sign(b"{}", "k") == f"sha256={expected}"
    assert sign(b"{}", "k") != sign(b"{}", "other") and sign(b"{}", "k") != sign(b"[]", "k")
    key = idempotency_key("http://h/x", "revised", "abc", 2)
    assert key == idempotency_key("http://h/x", "revised", "abc", 2)
    assert key != idempotency_key("http://h/x", "revised", "abc", 3)
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(40).total_seconds() == 6 * 3600
