"""The deliver stage: email the newest recap to every active subscriber, once each, over SMTP.

Idempotency: one `deliveries` row per (recap revision, subscriber), planned before
anything is sent. A row is claimed by a conditional UPDATE (pending -> sending,
with a lease in `next_attempt_at`) and committed *before* the SMTP transaction,
then marked sent right after the server's 250. So a crash anywhere leaves either
an untouched pending row (sent on the next run) or a `sending` row.

The one window no protocol can close is between the server accepting the
message and our commit of `sent`. We choose at-least-once there: a `sending`
row whose lease ran out is sent again, with the *same* Message-ID (fixed per
revision and subscriber) so receiving systems see one message. Skipping it
instead would silently lose a subscriber's recap on every crash before the
accept, which is the far more likely place to die (DATA is the slow step).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db.models import Card, Delivery, Item, Recap, Story, Subscriber
from aggregator.deliver.mail import (
    MailError,
    SendError,
    SmtpSender,
    StoryRef,
    build_message,
    make_token,
    message_id,
    secret_key,
)
from aggregator.log import event
from aggregator.publish.paths import assign_story_paths
from aggregator.recap.compose import RecapDoc
from aggregator.report import StageReport

log = logging.getLogger("aggregator.deliver")
STAGE = "deliver"
PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` failed ones (doubling, capped)."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def latest_recap(session: Session) -> Recap | None:
    """Return the newest week's latest revision, or None."""
    return session.scalar(select(Recap).order_by(Recap.week.desc(), Recap.revision.desc()).limit(1))


def plan_deliveries(session: Session, recap: Recap) -> int:
    """Add a pending row per active subscriber for this recap; return how many were added.

    Older revisions of the same week: unsent rows are superseded, and whoever
    already received one is not sent the new revision (a row marked skipped).
    """
    older = select(Recap.id).where(Recap.week == recap.week, Recap.id != recap.id)
    session.execute(update(Delivery).where(Delivery.recap_id.in_(older), Delivery.status == PENDING)
                    .values(status=SKIPPED, last_error=f"superseded by revision {recap.revision}"))  # fmt: skip
    received = set(session.scalars(select(Delivery.subscriber_id).where(
        Delivery.recap_id.in_(older), Delivery.status.in_((SENT, SENDING)))))  # fmt: skip
    planned = set(
        session.scalars(select(Delivery.subscriber_id).where(Delivery.recap_id == recap.id))
    )
    active = session.scalars(select(Subscriber.id).where(Subscriber.status == "active"))
    rows = [{"recap_id": recap.id, "subscriber_id": sid, "attempts": 0,
             "status": SKIPPED if sid in received else PENDING,
             "last_error": "already received an earlier revision" if sid in received else None}
            for sid in active if sid not in planned]  # fmt: skip
    if rows:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # Two planners at once: the unique (recap, subscriber) pair keeps one row each.
        session.execute(insert(Delivery).values(rows).on_conflict_do_nothing())
    return sum(r["status"] == PENDING for r in rows)


def ready_ids(session: Session, now: datetime) -> list[int]:
    """Return deliveries due now: pending ones past their backoff, and sends whose lease ran out."""
    return list(session.scalars(select(Delivery.id).where(_due(now)).order_by(Delivery.id)))


def _due(now: datetime) -> Any:
    waiting = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
    return or_(and_(Delivery.status == PENDING, waiting),
               and_(Delivery.status == SENDING, Delivery.next_attempt_at <= now))  # fmt: skip


def claim(session: Session, delivery_id: int, now: datetime, lease: timedelta) -> bool:
    """Mark one due delivery as being sent by us (atomic); return False if someone else has it."""
    result = session.execute(
        update(Delivery).where(Delivery.id == delivery_id, _due(now))
        .values(status=SENDING, attempts=Delivery.attempts + 1, next_attempt_at=now + lease)
    )  # fmt: skip
    return result.rowcount == 1


def story_pages(session: Session, stories: list[Story], base_url: str) -> dict[int, str]:
    """Return our page's address for each story, by the site's own path rules.

    A path depends only on the published stories that share its slug (the older id keeps
    the plain slug), so only those are loaded.
    """
    slugs = {s.slug for s in stories}
    rows = [
        SimpleNamespace(id=i, uid=u, slug=slug, title=t, published_at=when, path="")
        for i, u, slug, t, when in session.execute(
            select(Story.id, Story.uid, Story.slug, Story.title, Story.published_at)
            .join(Card, Card.story_id == Story.id).where(Story.slug.in_(slugs))
        )
    ]  # fmt: skip
    assign_story_paths(rows)  # type: ignore[arg-type]
    return {row.id: f"{base_url}{row.path}" for row in rows}


def story_refs(session: Session, ids: list[int], base_url: str = "") -> dict[int, StoryRef]:
    """Return the email's view of the recap's stories: card title, hook, our page, original."""
    rows = list(session.execute(
        select(Story, Card.card, Item.url).outerjoin(Card, Card.story_id == Story.id)
        .outerjoin(Item, Item.id == Story.primary_item_id).where(Story.id.in_(ids))
    ))  # fmt: skip
    pages = story_pages(session, [story for story, _, _ in rows], base_url) if base_url else {}
    return {story.id: StoryRef(story.id, str((card or {}).get("title") or story.title),
                               str((card or {}).get("hook") or ""), url, pages.get(story.id))
            for story, card, url in rows}  # fmt: skip


@dataclass
class Letter:
    """Everything needed to write one recap's emails."""

    row: Recap
    recap: RecapDoc
    stories: dict[int, StoryRef]


def compose(
    ctx: Context, letter: Letter, subscriber: Subscriber, secret: bytes, msgid: str
) -> EmailMessage:
    """Return one subscriber's copy of the recap email."""
    s = ctx.settings
    return build_message(
        letter.recap, letter.stories, to=subscriber.email, from_address=s.email.from_address,
        site_title=s.site.title, base_url=s.site.base_url, token=make_token(secret, subscriber.email),
        msgid=msgid, endpoint=s.email.unsubscribe_endpoint, postal_address=s.email.postal_address,
        language=s.site.language,
    )  # fmt: skip


def _letter(
    session: Session, recap_id: int, letters: dict[int, Letter], base_url: str = ""
) -> Letter:
    """Return the (cached) letter of a recap revision."""
    if recap_id not in letters:
        row = session.get(Recap, recap_id)
        if row is None:
            raise MailError(f"deliver: recap {recap_id} no longer exists")
        recap = RecapDoc.model_validate(row.recap)
        stories = story_refs(session, recap.story_ids(), base_url)
        letters[recap_id] = Letter(row, recap, stories)
    return letters[recap_id]


def record_failure(session: Session, delivery_id: int, error: SendError, now: datetime) -> str:
    """Put a delivery back for a later try (doubling backoff) or give up; return the new status."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        return FAILED
    row.last_error = str(error)[:500]
    if error.transient and row.attempts < MAX_ATTEMPTS:
        row.status, row.next_attempt_at = PENDING, now + backoff(row.attempts)
    else:
        row.status, row.next_attempt_at = FAILED, None
    return row.status


def deliver_one(
    ctx: Context, sender: Any, delivery_id: int, now: datetime, letters: dict[int, Letter],
    secret: bytes,
) -> str:  # fmt: skip
    """Claim, send and record one delivery; return sent | failed | retry | connection | skipped | taken."""
    lease = timedelta(seconds=ctx.settings.schedule.lease)
    with ctx.session() as session:
        if not claim(session, delivery_id, now, lease):
            return "taken"
        row = session.get(Delivery, delivery_id)
        subscriber = session.get(Subscriber, row.subscriber_id) if row else None
        if row is None or subscriber is None or subscriber.status != "active":
            if row is not None:
                row.status, row.last_error = SKIPPED, "unsubscribed before sending"
            return "skipped"
        try:
            letter = _letter(session, row.recap_id, letters, ctx.settings.site.base_url)
            # Fixed at the first try and kept: a resend after a crash is the same message.
            row.message_id = row.message_id or message_id(
                letter.row.week, letter.row.revision, subscriber.id, ctx.settings.email.from_address
            )
            msg = compose(ctx, letter, subscriber, secret, row.message_id)
        except (MailError, ValueError) as exc:  # a recap we cannot render will not improve
            row.status, row.last_error = FAILED, f"deliver: cannot write the email: {exc}"[:500]
            return "failed"
        to = subscriber.email
    # Committed: the row says `sending` under our lease until the server's answer is recorded.
    try:
        sender.send(msg, to)
    except SendError as exc:
        with ctx.session() as session:
            status = record_failure(session, delivery_id, exc, now)
        if exc.connection:
            return "connection"
        return "retry" if status == PENDING else "failed"
    with ctx.session() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
            status=SENT, sent_at=utcnow(), last_error=None,
            next_attempt_at=None))  # fmt: skip
    return "sent"


def _tally(report: StageReport, status: str, delivery_id: int) -> None:
    if status == "taken":
        return
    report.processed += 1
    if status == "sent":
        report.succeeded += 1
    elif status == "skipped":
        report.skipped += 1
    else:
        report.failed += 1
        key = "retry_later" if status in ("retry", "connection") else "gave_up"
        report.details[key] = report.details.get(key, 0) + 1
        report.errors.append(f"delivery {delivery_id}: {status}")


def run_deliver(ctx: Context, *, now: datetime | None = None, sender: Any = None) -> StageReport:
    """Email the newest recap to active subscribers and retry due failures; return the counts.

    `sender` (anything with send(msg, to) and close()) defaults to SMTP from [email];
    `now` moves the clock (retries, leases).
    """
    report = StageReport(STAGE)
    if not ctx.settings.email.enabled:
        report.details["email"] = "disabled"
        return report
    try:
        secret = secret_key(ctx.settings)
    except MailError as exc:
        report.processed, report.failed, report.errors = 1, 1, [str(exc)]
        return report
    now = now or utcnow()
    with ctx.session() as session:
        recap = latest_recap(session)
        if recap is not None and not (recap.recap or {}).get("quiet"):
            report.details.update(week=recap.week, revision=recap.revision,
                                  planned=plan_deliveries(session, recap))  # fmt: skip
        ids = ready_ids(session, now)
    sender = sender or SmtpSender(ctx.settings.email)
    letters: dict[int, Letter] = {}
    try:
        with ctx.progress(STAGE, len(ids)) as task:
            for delivery_id in ids:
                if ctx.stop_requested:
                    break
                status = deliver_one(ctx, sender, delivery_id, now, letters, secret)
                _tally(report, status, delivery_id)
                task.advance(1)
                if status == "connection":  # the server is down or refuses us: try again later
                    report.details["stopped"] = "smtp connection"
                    break
    finally:
        sender.close()
    event(log, "deliver finished", sent=report.succeeded, failed=report.failed,
          skipped=report.skipped)  # fmt: skip
    return report
