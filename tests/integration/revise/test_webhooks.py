"""Webhook deliveries: retried with backoff until accepted or given up, and the SSRF guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from aggregator.clock import utcnow
from aggregator.context import open_context
from aggregator.db.models import Story, WebhookDelivery
from aggregator.notify import store
from aggregator.notify.stage import run_notify
from aggregator.settings import Settings
from tests.servers.webhook_server import WebhookReceiver


def _queue(settings: Settings) -> tuple[object, int]:
    ctx = open_context(settings)
    with ctx.session() as s:
        story = Story(uid="u1", slug="s", title="t", published_at=utcnow(), week="2026-W49")
        s.add(story)
        s.flush()
        queued = store.enqueue(s, settings.webhooks, "revised", story.id, 2, {"event": "revised"})
    assert queued == 1
    return ctx, story.id


def _row(ctx: object) -> WebhookDelivery:
    with ctx.session() as s:  # type: ignore[attr-defined]
        return s.scalars(select(WebhookDelivery)).one()


def test_webhook_retried_with_backoff_then_given_up(make_settings: Callable[..., Settings]) -> None:
    server = WebhookReceiver()
    server.statuses.extend([503, 500])
    try:
        hook = {"url": server.url, "secret": "k", "max_attempts": 2}
        ctx, _ = _queue(make_settings(webhooks=[hook]))
        report = run_notify(ctx)
        row = _row(ctx)
        assert report.failed == 1 and row.status == "pending" and row.attempts == 1
        assert row.last_status == 503 and "HTTP 503" in (row.last_error or "")
        assert row.next_attempt_at > utcnow() + timedelta(seconds=20)  # backoff, not at once
        assert run_notify(ctx).processed == 0  # not due yet
        with ctx.session() as s:
            s.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
        run_notify(ctx)
        row = _row(ctx)
        assert row.status == "failed" and row.attempts == 2 and len(server.got) == 2
        assert row.last_status == 500 and "k" not in json.loads(row.body).values()
    finally:
        server.close()


def test_webhook_to_private_address_is_refused(make_settings: Callable[..., Settings]) -> None:
    server = WebhookReceiver()
    try:
        hook = {"url": server.url, "events": ["revised"]}
        settings = make_settings(webhooks=[hook], fetch={"allow_private_networks": False})
        ctx, _ = _queue(settings)
        run_notify(ctx)
        row = _row(ctx)
        assert server.got == [] and row.status == "pending"
        assert "refused" in (row.last_error or "") and "127.0.0.1" in (row.last_error or "")
    finally:
        server.close()


def test_webhook_event_filter(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(webhooks=[{"url": "http://127.0.0.1:9/x", "events": ["corrected"]}])
    ctx = open_context(settings)
    with ctx.session() as s:
        story = Story(uid="u2", slug="s", title="t", published_at=utcnow(), week="2026-W49")
        s.add(story)
        s.flush()
        assert store.enqueue(s, settings.webhooks, "revised", story.id, 2, {}) == 0
        assert store.enqueue(s, settings.webhooks, "corrected", story.id, 3, {}) == 1
        assert store.enqueue(s, settings.webhooks, "corrected", story.id, 3, {}) == 0  # once
