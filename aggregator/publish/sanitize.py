"""Safe by construction: clean outside text, allow only http(s)/mailto links, sanitize kept HTML."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import nh3

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_REL = "nofollow noopener noreferrer"
# C0/C1 controls are invalid in XML 1.0 and useless in HTML; bidi embeddings/overrides/isolates
# can visually reorder text (a "Trojan Source" style trick) so they never reach a page.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)
# Lone surrogates cannot be encoded as UTF-8; they become "?" rather than crash the build.
_SURROGATES = re.compile("[\ud800-\udfff]")
_SAFE_URL = re.compile(
    r"^(?:https?://[^/\s\"<>?#\\]+[^\s\"<>\\]*|mailto:[^\s\"<>\\]+)$", re.IGNORECASE
)
_SPACES = re.compile(r"\s+")
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "a",
        "em",
        "strong",
        "b",
        "i",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h3",
        "h4",
        "mark",
        "sub",
        "sup",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def clean_text(value: object, *, single_line: bool = False) -> str:
    """Return text with control and bidi-override characters removed (whitespace kept or folded)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():  # ASCII is already NFC and has no surrogates: skip the slow path
        text = _SURROGATES.sub("?", unicodedata.normalize("NFC", text))
    text = _CONTROLS.sub("", text)
    if single_line:
        text = _SPACES.sub(" ", text)
    return text.strip()


def clean_tree(value: Any) -> Any:
    """Return a JSON-like value with every string passed through clean_text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: clean_tree(v) for k, v in value.items()}
    return value


def safe_url(value: object) -> str | None:
    """Return the URL if it is an absolute http(s) or mailto URL without tricks, else None."""
    if not isinstance(value, str):
        return None
    url = clean_text(value)
    # An allowlist pattern (scheme, then a host for http(s)) instead of a parser: nothing a
    # browser could read as another scheme, an attribute break or whitespace gets through.
    return url if _SAFE_URL.match(url) else None


def clean_html(html: str) -> str:
    """Return an HTML fragment reduced to the allowlist (links http(s)/mailto, rel nofollow)."""
    return nh3.clean(
        clean_text(html),
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        clean_content_tags={"script", "style", "svg", "math", "template", "iframe", "object"},
        url_schemes=set(SAFE_SCHEMES),
        link_rel=EXTERNAL_REL,
        strip_comments=True,
    )
