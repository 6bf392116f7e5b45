"""The notify stage's SQL: webhook deliveries queued with their event, sent, retried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.db.models import Story, WebhookDelivery
from aggregator.notify.webhook import body_of, idempotency_key
from aggregator.settings import Webhook

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def enqueue(
    session: Session, hooks: Sequence[Webhook], event: str, story_id: int, revision: int,
    payload: dict[str, Any],
) -> int:  # fmt: skip
    """Queue one delivery per webhook that wants this event, in the caller's transaction."""
    uid = session.scalar(select(Story.uid).where(Story.id == story_id)) or story_id
    count = 0
    for hook in hooks:
        if event not in hook.events:
            continue
        key = idempotency_key(hook.url, event, uid, revision)
        if session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.key == key)):
            continue  # this event was queued already (a rerun of the same revision)
        session.add(WebhookDelivery(
            key=key, url=hook.url, event=event, story_id=story_id, revision=revision,
            body=body_of({**payload, "idempotency_key": key}), status=PENDING,
            next_attempt_at=utcnow(),
        ))  # fmt: skip
        count += 1
    return count


def due(session: Session, now: datetime, limit: int) -> list[int]:
    """Return the ids of pending deliveries whose next attempt is due, oldest first."""
    stmt = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def start_attempt(session: Session, delivery_id: int) -> WebhookDelivery | None:
    """Count an attempt before sending (committed first, so a kill still shows it)."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != PENDING:
        return None
    row.attempts += 1
    return row


def finish_attempt(
    session: Session, delivery_id: int, *, status: int | None, error: str | None,
    retry_at: datetime | None,
) -> None:  # fmt: skip
    """Record an attempt's result: delivered, or the error and when to retry (None: give up)."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        return
    row.last_status = status
    if error is None:
        row.status, row.delivered_at, row.last_error = DELIVERED, utcnow(), None
    else:
        row.last_error = error
        if retry_at is None:
            row.status = FAILED
        else:
            row.next_attempt_at = retry_at
