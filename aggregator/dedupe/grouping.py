"""Group plain documents into stories by the dedupe stage's own matching (no database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.dedupe.index import Doc, StoryIndex, place, signatures

# Documents without a date share one instant: only their content decides.
UNDATED = datetime(2000, 1, 1, tzinfo=UTC)


def _when(value: Any) -> datetime:
    """Return a document's publication time as an aware datetime (UNDATED when missing)."""
    if value is None or value == "":
        return UNDATED
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise ValueError(f"dedupe: published_at {value!r} is not a datetime or ISO string")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def group_documents(
    docs: Iterable[Mapping[str, Any]], window: timedelta | None = None
) -> dict[Any, Any]:
    """Return {id: story key} for documents given in arrival order; a story's key is the id of
    the document that founded it. Each document is a dict {id, title, text, published_at,
    source}; placement is the dedupe stage's (window, near-duplicates, same-event)."""
    rows = list(docs)
    index = StoryIndex() if window is None else StoryIndex(window=window)
    placed: dict[Any, Any] = {}
    founders: dict[int, Any] = {}
    texts = [(str(d.get("title") or ""), str(d.get("text") or "")) for d in rows]
    sigs = list(signatures(texts))
    index.prime(sigs)  # as the stage does with its batch
    for n, (row, sig) in enumerate(zip(rows, sigs, strict=True)):
        doc = Doc(n, texts[n][0], "", _when(row.get("published_at")))
        match, _ = place(index, doc, sig, n)
        if match is None:
            founders[n] = row["id"]
            placed[row["id"]] = row["id"]
        else:
            placed[row["id"]] = founders[match.story]
    return placed
