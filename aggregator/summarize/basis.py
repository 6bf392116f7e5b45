"""A card's basis: what it was written from (full text, a feed excerpt, the title) and how much."""

from __future__ import annotations

import re

from aggregator.llm.schema import Basis

# Under this many words nothing deep can be grounded: the card is a TL;DR only, and says so.
MIN_DEEP_WORDS = 120
# Extraction methods that mean the text is the feed's own excerpt, not the page.
_EXCERPT = re.compile(r"^(feed|none)")
_WORD = re.compile(r"\w+")


def card_basis(method: str | None, text: str, title: str) -> Basis:
    """Return the basis of a story's text: its kind and word count."""
    words = len(_WORD.findall(text))
    same_as_title = " ".join(text.split()).strip(" .") == " ".join(title.split()).strip(" .")
    if not words or same_as_title:
        return Basis(kind="title_only", words=len(_WORD.findall(title)))
    if method is None or _EXCERPT.match(method):
        return Basis(kind="feed_excerpt", words=words)
    return Basis(kind="full_text", words=words)


def is_deep(basis: Basis) -> bool:
    """Return True when the source is long enough for a Deep insight section."""
    return basis.kind != "title_only" and basis.words >= MIN_DEEP_WORDS
