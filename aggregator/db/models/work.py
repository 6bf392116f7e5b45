"""SQLAlchemy models of work state: jobs (queue and leases) and key/value facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from aggregator.db.models.base import Base
from aggregator.db.types import utcnow


class Job(Base):
    """Per-stage work state of one subject (an item or a story): what is still to do."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("stage", "subject_id", name="uq_jobs_stage_subject"),
        Index("ix_jobs_ready", "stage", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Meta(Base):
    """Small service-wide facts: last publish, scheduler leader, per-server LLM modes."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
