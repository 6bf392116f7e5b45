"""SQLAlchemy model of why each item joined its story (the dedupe stage's explanation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from aggregator.db.models.base import Base
from aggregator.db.types import utcnow


class ItemJoin(Base):
    """How an item joined a story someone else founded: the signal, its score, the member."""

    __tablename__ = "item_joins"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    joined_by: Mapped[str] = mapped_column(String(16))  # near-duplicate|same-event|url|content-hash
    score: Mapped[float] = mapped_column(Float)
    # The story member it matched; no foreign key: that item may be deleted later.
    matched_item_id: Mapped[int | None]
    joined_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
