"""SQLAlchemy model of an OpenAI Batch API submission: which jobs it holds and where it stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aggregator.db.models.base import Base
from aggregator.db.types import utcnow


class LLMBatch(Base):
    """One batch of summarize requests; the row exists (with its jobs) before anything is uploaded.

    `remote_id` is stored as soon as the server created the batch, before any polling,
    so a restart resumes the same batch and never submits the same stories twice.
    """

    __tablename__ = "llm_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    remote_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    # preparing -> submitted -> done | failed (the remote status is in `remote_status`)
    status: Mapped[str] = mapped_column(String(16), default="preparing", index=True)
    remote_status: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    output_mode: Mapped[str | None] = mapped_column(String(16))
    # {custom_id: job id}: what each request line belongs to.
    lines: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
