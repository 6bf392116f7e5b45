"""The revise stage's SQL: which cards have news, their items, revisions and corrections."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.db.models import (
    Article,
    Card,
    CardRevision,
    Correction,
    Item,
    Source,
    Story,
)
from aggregator.revise.whatsnew import NewItem

_TAGS = re.compile(r"<[^>]+>")


@dataclass
class StoryState:
    """A carded story as the revise stage sees it: card row, latest revision, every item."""

    story: Story
    card: Card
    latest: CardRevision | None
    items: list[NewItem] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)  # item id -> source name

    @property
    def covered(self) -> set[int]:
        """Return the ids of the items the latest revision accounts for."""
        return {int(i) for i in (self.latest.item_ids if self.latest else [])}


def retracted(session: Session, story_id: int) -> bool:
    """Return True when the story's card was withdrawn."""
    stmt = select(Correction.id).where(Correction.story_id == story_id, Correction.retract)
    return session.scalar(stmt.limit(1)) is not None


def pending_story_ids(session: Session, limit: int) -> list[int]:
    """Return carded stories whose card has no revision row yet or that gained items since it."""
    latest = and_(CardRevision.story_id == Card.story_id, CardRevision.revision == Card.revision)
    withdrawn = select(Correction.story_id).where(Correction.retract).scalar_subquery()
    stmt = (
        select(Card.story_id)
        .join(Story, Story.id == Card.story_id)
        .outerjoin(CardRevision, latest)
        # One pass over cards with an index lookup each: this runs in every processing round.
        .where(or_(CardRevision.id.is_(None), Story.item_count > CardRevision.item_count))
        .where(Card.story_id.not_in(withdrawn))
        .order_by(Card.story_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def load_state(session: Session, story_id: int) -> StoryState | None:
    """Return the story's state, its card row locked (PostgreSQL) so two workers cannot race."""
    card = session.scalar(select(Card).where(Card.story_id == story_id).with_for_update())
    story = session.get(Story, story_id)
    if card is None or story is None:
        return None
    latest = session.scalar(
        select(CardRevision).where(
            CardRevision.story_id == story_id, CardRevision.revision == card.revision
        )
    )
    state = StoryState(story, card, latest)
    rows = session.execute(
        select(Item.id, Source.name, Item.url, Item.title, Item.published_at, Item.summary,
               Item.content_html, Article.text)
        .join(Source, Source.id == Item.source_id)
        .outerjoin(Article, Article.item_id == Item.id)
        .where(Item.story_id == story_id)
        .order_by(Item.published_at, Item.id)
    )  # fmt: skip
    for item_id, source, url, title, published, summary, html, text in rows:
        if not (text and text.strip()):  # no extracted text: what the feed said
            text = " ".join(_TAGS.sub(" ", summary or html or "").split())
        state.items.append(NewItem(item_id, source, url, title or "", text or "", published))
        state.sources[item_id] = source
    return state


def add_revision(
    session: Session,
    state: StoryState,
    reason: str,
    *,
    summary: str = "",
    whats_new: Sequence[dict[str, Any]] = (),
    at: datetime | None = None,
) -> CardRevision:
    """Store the card as it now is as the story's next revision (or its first); return it."""
    number = state.card.revision if state.latest is None else state.latest.revision + 1
    # Recording a card as it was made is no change: it keeps the card's own time, so an
    # upgrade that records every existing card does not make them all look updated.
    recording = state.latest is None
    at = state.card.updated_at if recording else (at or utcnow())
    row = CardRevision(
        story_id=state.story.id, revision=number, reason=reason, summary=summary,
        card=state.card.card, whats_new=list(whats_new), mode=state.card.mode,
        item_ids=sorted(i.item_id for i in state.items), item_count=len(state.items),
        created_at=at,
    )  # fmt: skip
    session.add(row)
    state.card.revision = number
    if not recording:
        state.card.updated_at = at  # what `export --updated-since` and the feeds read
    state.latest = row
    session.flush()
    return row


def absorb(state: StoryState) -> None:
    """Mark the story's items as covered without a revision (they added nothing new)."""
    assert state.latest is not None
    state.latest.item_ids = sorted(i.item_id for i in state.items)
    state.latest.item_count = len(state.items)


def story_by_uid(session: Session, uid: str) -> Story | None:
    """Return the story with this public id (or numeric id), or None."""
    story = session.scalar(select(Story).where(Story.uid == uid))
    if story is None and uid.isdigit():
        story = session.get(Story, int(uid))
    return story


def add_correction(session: Session, story_id: int, revision: int, note: str,
                   retract: bool, at: datetime) -> Correction:  # fmt: skip
    """Record a correction of a story's card at a revision; return it."""
    row = Correction(story_id=story_id, revision=revision, note=note, retract=retract,
                     created_at=at)  # fmt: skip
    session.add(row)
    return row


def load_history(session: Session, story_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return each story's revisions (oldest first) and corrections as plain data."""
    out: dict[int, dict[str, Any]] = defaultdict(lambda: {"revisions": [], "corrections": []})
    if not story_ids:
        return {}
    for r in session.scalars(select(CardRevision).where(CardRevision.story_id.in_(story_ids))
                             .order_by(CardRevision.story_id, CardRevision.revision)):  # fmt: skip
        out[r.story_id]["revisions"].append({
            "revision": r.revision, "at": r.created_at, "reason": r.reason,
            "summary": r.summary, "whats_new": list(r.whats_new or []), "card": r.card,
        })  # fmt: skip
    for c in session.scalars(select(Correction).where(Correction.story_id.in_(story_ids))
                             .order_by(Correction.story_id, Correction.id)):  # fmt: skip
        out[c.story_id]["corrections"].append({
            "revision": c.revision, "at": c.created_at, "note": c.note, "retract": c.retract,
        })  # fmt: skip
    return dict(out)


def load_changes(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """Return the newest revisions after the first (revised or corrected cards), newest first."""
    stmt = (
        select(CardRevision.story_id, CardRevision.revision, CardRevision.reason,
               CardRevision.summary, CardRevision.created_at, CardRevision.whats_new)
        .where(CardRevision.revision > 1)
        .order_by(CardRevision.created_at.desc(), CardRevision.id.desc())
        .limit(limit)
    )  # fmt: skip
    notes = {(c.story_id, c.revision): c for c in session.scalars(select(Correction))}
    out = []
    for story_id, revision, reason, summary, at, new in session.execute(stmt):
        note = notes.get((story_id, revision))
        out.append({"story_id": story_id, "revision": revision, "reason": reason,
                    "summary": summary, "at": at, "whats_new": list(new or []),
                    "note": note.note if note else None})  # fmt: skip
    return out
