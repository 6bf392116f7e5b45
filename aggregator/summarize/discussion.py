"""What the discussion adds: the highest-scored comments that bring facts the article lacks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aggregator.llm.extractive import find_entities, terms
from aggregator.llm.segment import is_whole, shorten, split_sentences

MAX_POINTS = 3
QUOTE_CHARS = 300
_NUMBER = re.compile(r"\d")
_CORRECTION = re.compile(
    r"\b(actually|incorrect|wrong|not true|misleading|correction|in fact|to be fair|"
    r"that's not|that is not|isn't|aren't|doesn't|didn't|disagree|source\?|citation needed)\b",
    re.I,
)


def _comments(raw: Any) -> list[dict[str, Any]]:
    """Return well-formed comments {text, score, url, author}, best scored first."""
    out = []
    for comment in raw if isinstance(raw, list) else []:
        if not isinstance(comment, dict):
            continue
        text = comment.get("text") or comment.get("body")
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            score = int(comment.get("score") or 0)
        except (TypeError, ValueError):
            score = 0
        url = comment.get("url") if isinstance(comment.get("url"), str) else None
        out.append({"text": " ".join(text.split()), "score": score, "url": url})
    return sorted(out, key=lambda c: -c["score"])


def _adds(sentence: str, known_terms: set[str], known_names: set[str]) -> bool:
    """Return True when a comment sentence brings a number, a new name, or a correction."""
    if _CORRECTION.search(sentence):
        return True
    new_names = [n for n in find_entities([sentence]) if n.lower() not in known_names]
    new_terms = set(terms(sentence)) - known_terms
    return bool(_NUMBER.search(sentence) and new_terms) or bool(new_names)


def pick_discussion(comments: Any, article: str) -> dict[str, Any] | None:
    """Return {points: [{text, quote, comment_url, score}], disputes} or None when nothing is added.

    `text` is the comment's sentence that adds something; `quote` is the comment itself
    (shortened at a clause with an ellipsis when long). Both are the commenter's words.
    """
    known_terms = set(terms(article))
    known_names = {n.lower() for n in find_entities(split_sentences(article), limit=200)}
    points, disputes = [], False
    for comment in _comments(comments):
        sentences = [s for s in split_sentences(comment["text"]) if is_whole(s)]
        adding = [s for s in sentences if _adds(s, known_terms, known_names)]
        if not adding:
            continue
        disputes = disputes or any(_CORRECTION.search(s) for s in adding)
        points.append(
            {
                "text": shorten(adding[0], QUOTE_CHARS),
                "quote": shorten(comment["text"], QUOTE_CHARS),
                "comment_url": comment["url"],
                "score": comment["score"],
            }
        )
        if len(points) >= MAX_POINTS:
            break
    return {"points": points, "disputes": disputes} if points else None


def comments_block(comments: Sequence[dict[str, Any]]) -> str:
    """Return comments as a delimited prompt block (score first); empty when there are none."""
    lines = [f"- ({c['score']} points) {c['text']}" for c in _comments(list(comments))]
    return "\n".join(lines)
