"""SQLAlchemy models of card revisions, corrections and webhook deliveries (developing stories)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aggregator.db.models.base import Base
from aggregator.db.types import utcnow


class CardRevision(Base):
    """One version of a story's card: why it was written, what it added, which items it covers."""

    __tablename__ = "card_revisions"
    __table_args__ = (
        UniqueConstraint("story_id", "revision", name="uq_card_revisions_story_revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    # first | new_sources | correction | retraction | resummarized
    reason: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    card: Mapped[dict[str, Any]]
    whats_new: Mapped[list[Any]] = mapped_column(default=list)
    # The items this revision accounts for: a later item not in here is news to the card.
    item_ids: Mapped[list[Any]] = mapped_column(default=list)
    item_count: Mapped[int] = mapped_column(default=0)
    mode: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Correction(Base):
    """A visible correction (or retraction) of a story's card, made with `aggregator correct`."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    note: Mapped[str] = mapped_column(Text)
    retract: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook: sent until a 2xx answer, under a stable idempotency key."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(16))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    body: Mapped[str] = mapped_column(Text)  # the signed JSON; the secret is never stored
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
