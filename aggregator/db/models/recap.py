"""SQLAlchemy models of recaps and their email delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aggregator.db.models.base import Base
from aggregator.db.types import utcnow


class Recap(Base):
    """One revision of a week's recap."""

    __tablename__ = "recaps"
    __table_args__ = (UniqueConstraint("week", "revision", name="uq_recaps_week_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(Text)
    recap: Mapped[dict[str, Any]]
    story_ids: Mapped[list[Any]] = mapped_column(default=list)
    mode: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_name: Mapped[str | None] = mapped_column(String(100))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    prompt_sha256: Mapped[str | None] = mapped_column(String(64))
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscriber(Base):
    """An email address that receives the weekly recap."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    origin: Mapped[str] = mapped_column(String(16), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    unsubscribed_at: Mapped[datetime | None]


class Delivery(Base):
    """One recap revision sent (or to send) to one subscriber."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("recap_id", "subscriber_id", name="uq_deliveries_recap_subscriber"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recap_id: Mapped[int] = mapped_column(ForeignKey("recaps.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]
