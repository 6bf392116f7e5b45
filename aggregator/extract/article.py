"""Article text for an item: the page through trafilatura (or pypdf), else the item's own text.

`extract(html, url, headers)` is the stable entry point (docs/architecture.md); `choose_text`
applies the fallbacks (feed content, Reddit self-text, discussion) and records which was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aggregator.charset import decode
from aggregator.extract.html import extract_html
from aggregator.extract.pdf import extract_pdf
from aggregator.extract.text import (
    content_hash,
    guess_language,
    html_to_text,
    paragraphs_text,
    word_count,
)

# A page with less text than this is a paywall teaser, a consent wall or a script-only shell.
MIN_PAGE_WORDS = 50
# A page much shorter than the full text the feed carried is a teaser too.
MIN_PAGE_SHARE_OF_FEED = 0.4
_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")


@dataclass
class Extraction:
    """An article's text and what is known about it; `method` says where the text came from."""

    text: str = ""
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    method: str = "none"
    error: str | None = None
    warning: str | None = None  # a note that does not make the text unusable (replaced bytes)
    raw_html: str | None = field(default=None, repr=False)

    @property
    def word_count(self) -> int:
        """Return the number of words in the text."""
        return word_count(self.text)

    @property
    def content_hash(self) -> str | None:
        """Return the sha256 of the normalized text (None when there is no text)."""
        return content_hash(self.text)


def _content_type(headers: Mapping[str, str] | None) -> str:
    if not headers:
        return ""
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "") or ""
    return value.split(";")[0].strip().lower()


def _from_pdf(body: bytes) -> Extraction:
    try:
        pdf = extract_pdf(body)
    except ValueError as exc:
        return Extraction(method="pdf", error=str(exc))
    note = None
    if pdf.pages_read < pdf.pages:
        note = f"extract: PDF cut at {pdf.pages_read} of {pdf.pages} pages"
    return Extraction(
        text=pdf.text,
        title=pdf.title,
        author=pdf.author,
        published_at=pdf.published_at,
        language=guess_language(pdf.text),
        method="pdf",
        warning=note,
    )


def extract(html: bytes, url: str, headers: Mapping[str, str] | None = None) -> Extraction:
    """Return the article in a fetched body (HTML, plain text or PDF); never raises.

    Args:
        html: the response body as received.
        url: the final URL of the page (resolves relative links, names the site).
        headers: response headers; Content-Type decides the parser and the charset.
    """
    kind = _content_type(headers)
    if not html or not html.strip():
        return Extraction(method="empty", error="extract: empty body")
    if kind == "application/pdf" or html[:1024].lstrip().startswith(b"%PDF-"):
        return _from_pdf(html)
    if kind and kind not in _HTML_TYPES and kind != "text/plain":
        return Extraction(method="skipped", error=f"extract: unsupported content type {kind}")
    decoded = decode(html, headers)
    text, note = decoded.text, decoded.warning("extract", url)
    if kind == "text/plain":
        plain = paragraphs_text(text)
        return Extraction(
            text=plain, language=guess_language(plain), method="plain", raw_html=text, warning=note
        )
    try:
        result = extract_html(text, url)
    except Exception as exc:  # a parser bug on one odd page must not stop the stage
        return Extraction(method="error", error=f"extract: {type(exc).__name__}: {exc}"[:300])
    meta = result.meta
    return Extraction(
        text=result.text,
        title=meta.title,
        author=meta.author,
        published_at=meta.published_at,
        # Templates often declare a wrong lang attribute; a confident guess from the text wins.
        language=guess_language(result.text) or meta.language,
        site_name=meta.site_name,
        method=result.method,
        raw_html=text,
        warning=note,
    )


@dataclass
class ItemText:
    """What an item carried itself: the fallbacks when its page gives too little."""

    title: str = ""
    content_html: str | None = None
    summary: str | None = None
    kind: str = "feed"
    engagement: dict[str, Any] = field(default_factory=dict)

    def feed_text(self) -> str:
        """Return the longer of the feed's content and summary as plain text."""
        texts = [html_to_text(self.content_html), html_to_text(self.summary)]
        return max(texts, key=word_count)

    def selftext(self) -> str:
        """Return a Reddit post's own text (self posts), or an empty string."""
        return paragraphs_text(str(self.engagement.get("selftext") or ""))


def _item_fallback(item: ItemText) -> tuple[str, str]:
    """Return (text, method) from the item's own content, best source first.

    A Reddit thread's comments are never the article: a self post's text is its body
    (even when that is empty), a link post's is the linked page or the feed's excerpt.
    """
    if item.kind == "self":
        return item.selftext() or item.feed_text(), "reddit-selftext"
    feed = item.feed_text()
    if word_count(feed) > 0:
        return feed, "feed"
    own = item.selftext()
    return (own, "reddit-selftext") if own else ("", "none")


def page_is_usable(page: Extraction, fallback_words: int) -> bool:
    """Return True when the page's text is long enough to beat the item's own text."""
    words = page.word_count
    return words >= MIN_PAGE_WORDS and words >= MIN_PAGE_SHARE_OF_FEED * fallback_words


def choose_text(
    page: Extraction | None, item: ItemText, fetch_error: str | None = None
) -> Extraction:
    """Return the article for an item: the page when usable, else the best fallback, marked."""
    own, method = _item_fallback(item)
    own_words = word_count(own)
    if page is not None and page_is_usable(page, own_words):
        return page
    base = page or Extraction()
    error = (page.error if page else None) or fetch_error
    if page is not None and page.method not in ("empty", "skipped") and page.error is None:
        # The page was read but held too little: a paywall, consent wall or script shell.
        error = f"extract: page text too short ({page.word_count} words)"
        if page.word_count > own_words:
            return replace(page, error=error)  # a short page still beats a shorter fallback
        if own_words:
            method = f"{method}-short-page"
    if not own_words:
        error = error or "extract: no text in the page or the item"
    return replace(
        base,
        text=own,
        method=method,
        language=guess_language(own) or base.language,
        error=error,
        title=base.title or item.title or None,
    )
