"""Slugs: lower-case ASCII path segments for titles and names (one rule for the whole site)."""

from __future__ import annotations

import re
import unicodedata

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(value: str, *, fallback: str = "item", max_length: int = 80) -> str:
    """Return a slug of letters, digits and single hyphens, cut at a word boundary; else fallback."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length].strip("-")
    return slug or fallback
