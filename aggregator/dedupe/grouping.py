"""Group plain documents into stories by the dedupe stage's own matching (no database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.dedupe.index import Doc, StoryIndex, gc_paused, place, signatures
from aggregator.dedupe.regroup import Placed, regroup

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
    the document that founded it (its earliest member in arrival order). Each document is a
    dict {id, title, text, published_at, source}; placement is the dedupe stage's (window,
    near-duplicates, same-event, then the second pass over the batch, `regroup`)."""
    rows = list(docs)
    with gc_paused():
        index = StoryIndex() if window is None else StoryIndex(window=window)
        texts = [(str(d.get("title") or ""), str(d.get("text") or "")) for d in rows]
        sigs = list(signatures(texts))
        index.prime(sigs)  # as the stage does with its batch
        batch: list[Placed] = []
        for n, (row, sig) in enumerate(zip(rows, sigs, strict=True)):
            doc = Doc(n, texts[n][0], "", _when(row.get("published_at")))
            neighbours: dict[int, float] = {}
            match, _ = place(index, doc, sig, n, neighbours=neighbours)
            batch.append(Placed(doc, sig, n if match is None else match.story, match, neighbours))
        final = regroup(index, batch, fixed=set())
    founders = {story: rows[n]["id"] for n, (story, match) in enumerate(final) if match is None}
    return {row["id"]: founders[story] for row, (story, _) in zip(rows, final, strict=True)}
