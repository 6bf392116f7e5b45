"""What a story's new items add to its card: their best sentences the card does not already say."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.llm.extractive import echoes_title, rank_sentences, terms
from aggregator.llm.segment import split_sentences

# Share of a sentence's content words (numbers included) already in one card sentence at
# which it says nothing new: "12 nodes" -> "18 nodes" keeps the new number, so it stays new.
NEAR_DUPLICATE = 0.7
NOVEL_SHARE = 0.4
MAX_POINTS = 4  # per revision: What's new is a short block, not a second card
PER_ITEM = 2
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class NewItem:
    """An item that joined a published story since its card's last revision."""

    item_id: int
    source: str
    url: str | None
    title: str
    text: str
    published_at: datetime


def content(sentence: str) -> set[str]:
    """Return a sentence's content words and numbers (what makes it a fact)."""
    return set(terms(sentence)) | set(_NUMBER.findall(sentence))


def card_sentences(card: dict[str, Any]) -> list[str]:
    """Return every sentence the card says or quotes (title, hook, TL;DR, points, citations)."""
    out = [str(card.get(k) or "") for k in ("title", "hook")]
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    out += [str(v) for v in tldr.values() if isinstance(v, str)]
    for key in ("key_takeaways", "technical_deep_dive", "future_implications", "whats_new"):
        for point in card.get(key) or []:
            if isinstance(point, dict):
                out.append(str(point.get("text") or ""))
                out += [c for c in point.get("citations") or [] if isinstance(c, str)]
    return [s for part in out for s in split_sentences(part) if s]


def is_new(sentence: str, known: Sequence[set[str]]) -> bool:
    """Return True when a sentence is no near-copy of a known one and says something unseen.

    Unseen means a number no known sentence has, or at least NOVEL_SHARE of its content
    words new: a restatement stitched from several known sentences is not news.
    """
    words = content(sentence)
    if len(words) < 3 or any(len(words & seen) / len(words) >= NEAR_DUPLICATE for seen in known):
        return False
    seen_all = set().union(*known) if known else set()
    novel = words - seen_all
    if any(_NUMBER.fullmatch(word) for word in novel):
        return True
    return len(novel) / len(words) >= NOVEL_SHARE


def _usable(sentence: str) -> bool:
    words = len(sentence.split())
    return 6 <= words <= 80 and not sentence.endswith("?") and len(sentence) <= 600


def whats_new(
    card: dict[str, Any], items: Sequence[NewItem], earlier: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Return the new items' best sentences the card (and the earlier reports) do not say yet."""
    known = [content(s) for s in card_sentences(card)]
    # A fact an earlier report gave, even if the card left it out, is not news since then.
    known += [content(s) for text in earlier for s in split_sentences(text)]
    points: list[dict[str, Any]] = []
    for item in sorted(items, key=lambda i: (i.published_at, i.item_id)):
        sentences = [s for s in split_sentences(item.text) if _usable(s)]
        scores = rank_sentences(sentences)
        order = sorted(range(len(sentences)), key=lambda k: (-scores[k], k))
        picked: list[str] = []
        for sentence in (sentences[k] for k in order):
            if len(picked) == PER_ITEM or len(points) + len(picked) == MAX_POINTS:
                break
            if echoes_title(sentence, item.title) or not is_new(sentence, known):
                continue
            picked.append(sentence)
            known.append(content(sentence))  # two sources saying the same new thing: once
        points += [point_of(sentence, item) for sentence in picked]
    return points


def point_of(sentence: str, item: NewItem) -> dict[str, Any]:
    """Return a What's new point quoting one sentence of a new item, with its source and date."""
    return {
        "text": sentence,
        "citations": [sentence],
        "source": item.source,
        "url": item.url,
        "item_id": item.item_id,
        "at": item.published_at.isoformat(),
    }


def revision_reason(new_sources: Sequence[str], points: Sequence[dict[str, Any]]) -> str | None:
    """Return why the card is revised ("new_sources"), or None: trivia is no revision."""
    return "new_sources" if new_sources or points else None


def change_summary(new_sources: Sequence[str], points: Sequence[dict[str, Any]]) -> str:
    """Return the one line an update history and the updates feed show for a revision."""
    facts = f"{len(points)} new point{'s' if len(points) != 1 else ''}" if points else ""
    sources = f"new reporting from {', '.join(new_sources)}" if new_sources else ""
    line = "; ".join(p for p in (sources, facts) if p) or "updated"
    return line[0].upper() + line[1:]
