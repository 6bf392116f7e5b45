"""RSS, Atom, RDF and JSON Feed bytes -> entries as plain data; never raises on bad input."""

from __future__ import annotations

import calendar
import gzip
import html
import io
import re
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from aggregator.charset import decode_feed, media_type
from aggregator.collect.fastrss import read_plain_rss
from aggregator.collect.feed import (  # re-exported: callers import them from here too
    CRASH_MARK,
    EARLIEST,
    Entry,
    ParsedFeed,
    checked_date,
    comment_count,
    dedupe_entries,
    entry_fingerprint,
    identity_hash,
    one_line,
)
from aggregator.collect.jsonfeed import parse_json_feed
from aggregator.collect.urls import canonical_url

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
__all__ = [
    "CRASH_MARK",
    "EARLIEST",
    "FEED_ACCEPT",
    "Entry",
    "ParsedFeed",
    "checked_date",
    "dedupe_entries",
    "entry_fingerprint",
    "identity_hash",
    "one_line",
    "parse_feed",
]
MAX_INFLATED = 15 * 1024 * 1024  # the fetch cap ([fetch] max_body_bytes default), after inflating
# A relative href/src in escaped or CDATA HTML; only then is feedparser's (slow) resolver needed.
_RELATIVE_REF = re.compile(
    r"""(?:href|src)\s*=\s*(?:\\?["']|&quot;|&\#3[49];|&\#x2[27];|&apos;)?\s*"""
    r"""(?!(?:https?|mailto|data|tel|ftp):|&|["'\\])""",
)  # matched against lower-cased text: IGNORECASE makes this scan 5x slower
_TAGS = re.compile(r"<[^>]*>")
# GUIDs are opaque (RSS 2.0): feedparser resolves permalink-style ones against the fetch URL,
# which would change an entry's identity whenever the feed moves or redirects.
feedparser.mixin._FeedParserMixin.can_be_relative_uri = (
    feedparser.mixin._FeedParserMixin.can_be_relative_uri - {"id"}
)


def parse_feed(body: bytes, url: str, headers: dict | None = None) -> ParsedFeed:
    """Return the feed's entries; a malformed feed yields what was readable plus a warning."""
    try:
        return _parse(body, url, {str(k).lower(): str(v) for k, v in (headers or {}).items()})
    except Exception as exc:  # the contract is "never raises": report it as a warning
        return ParsedFeed(
            None,
            None,
            [],
            bozo=True,
            warning=f"rss: {url}: {CRASH_MARK} ({type(exc).__name__}: {one_line(exc)})",
        )


def _inflate(body: bytes) -> bytes:
    """Return gzip/zlib bodies inflated (served without Content-Encoding), capped."""
    if body[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as handle:
            return handle.read(MAX_INFLATED)
    if body[:1] == b"\x78" and len(body) > 2 and (body[0] * 256 + body[1]) % 31 == 0:
        try:
            return zlib.decompressobj().decompress(body, MAX_INFLATED)
        except zlib.error:
            return body
    return body


def _parse(body: bytes, url: str, headers: dict[str, str], fast: bool = True) -> ParsedFeed:
    now = datetime.now(UTC).replace(microsecond=0)
    body = _inflate(body)
    if not body.strip():
        return ParsedFeed(None, None, [], warning=f"rss: {url}: empty body", bozo=True)
    mtype = media_type(headers.get("content-type", ""))
    decoded = decode_feed(body, headers.get("content-type", ""))
    text = decoded.text
    if text.lstrip("\ufeff \t\r\n").startswith(("{", "[")) or "json" in mtype:
        return _charset_warned(parse_json_feed(text, url, now), decoded.warning("rss", url))
    relative = bool(_RELATIVE_REF.search(text.lower()))
    response_headers = {"content-type": f"{mtype or 'application/xml'}; charset=utf-8"}
    if relative:
        # Only HTML with relative links needs feedparser to know the document's address:
        # with one, it re-joins the base URI at every element (a third of its time).
        # Entry and enclosure links are resolved here either way.
        response_headers["content-location"] = headers.get("content-location") or url
    encoded = text.encode("utf-8", "surrogatepass")
    # Plain RSS 2.0 without relative links in its HTML: lxml gives feedparser's entries,
    # ten times faster (fastrss.py; bench/feeds_parity.py compares the two).
    plain = read_plain_rss(encoded, mtype) if fast and not relative else None
    if plain is not None:
        return _charset_warned(_from_feedparser(plain, url, now), decoded.warning("rss", url))
    data = feedparser.parse(
        io.BytesIO(encoded),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=relative,
    )
    return _charset_warned(_from_feedparser(data, url, now), decoded.warning("rss", url))


def _charset_warned(feed: ParsedFeed, warning: str | None) -> ParsedFeed:
    """Return the feed with the charset warning added when it has no other warning."""
    if warning and not feed.warning:
        feed.warning = warning
    return feed


def _from_feedparser(data: Any, url: str, now: datetime) -> ParsedFeed:
    feed = data.get("feed", {})
    base = feed.get("link") or url
    entries = [_entry(raw, url, now) for raw in data.get("entries", [])]
    # A fragment with no identity and nothing to show (a truncated feed's last item) is noise.
    entries = dedupe_entries([e for e in entries if _has_substance(e)])
    warning = None
    bozo = bool(data.get("bozo"))
    if bozo:
        exc = data.get("bozo_exception")
        warning = f"rss: {url}: {type(exc).__name__}: {one_line(exc)}"
    if not entries and not data.get("version"):
        bozo = True
        warning = f"rss: {url}: not a feed (no RSS, Atom or JSON Feed found)"
    ttl = str(feed.get("ttl", "")).strip()
    return ParsedFeed(
        title=_plain(feed.get("title"), feed.get("title_detail")) or None,
        link=canonical_url(base) or None,
        entries=entries,
        warning=warning,
        ttl_seconds=int(ttl) * 60 if ttl.isdigit() and int(ttl) > 0 else None,
        bozo=bozo,
    )


def _has_substance(entry: Entry) -> bool:
    """Return True if an entry has an identity or something to read (RSS 2.0 needs a title
    or a description; a truncated feed's last fragment has neither)."""
    return bool(
        entry.guid
        or entry.canonical_url
        or entry.title
        or entry.summary
        or entry.content_html
        or entry.enclosures
    )


def _plain(value: Any, detail: Any = None) -> str:
    """Return a title as plain text on one line (tags stripped when it is HTML)."""
    text = str(value or "")
    if "<" in text and (not detail or "html" in str(detail.get("type", "html"))):
        text = html.unescape(_TAGS.sub(" ", text))
    return " ".join(text.split())[:1000]


def _parsed_date(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
    return None


def _content(raw: Any) -> str | None:
    contents = raw.get("content") or []
    for item in contents:
        if "html" in str(item.get("type", "")) and item.get("value"):
            return str(item["value"])
    return str(contents[0].get("value")) if contents and contents[0].get("value") else None


def _entry(raw: Any, url: str, now: datetime) -> Entry:
    link = raw.get("link") or next(
        (lk.get("href") for lk in raw.get("links", []) if lk.get("href")), None
    )
    canonical = canonical_url(link, url)
    title = _plain(raw.get("title"), raw.get("title_detail"))
    summary = raw.get("summary") or None
    content = _content(raw)
    guid = one_line(raw.get("id") or "", 2000) or None
    published, flagged = checked_date(_parsed_date(raw), now)
    detail = raw.get("author_detail") or {}
    author = one_line(detail.get("name") or raw.get("author") or "", 500) or None
    tags = list(
        dict.fromkeys(
            one_line(t.get("term") or t.get("label") or "", 200) for t in raw.get("tags") or []
        )
    )
    enclosures = [
        {
            "url": urljoin(url, e["href"].strip()),
            "type": e.get("type"),
            "length": int(e["length"]) if str(e.get("length", "")).isdigit() else None,
        }
        for e in raw.get("enclosures") or []
        if e.get("href")
    ]
    return Entry(
        guid=guid,
        guid_hash=identity_hash(guid, canonical, title, content or summary),
        url=urljoin(url, link.strip()) if link and canonical else None,
        canonical_url=canonical,
        title=title,
        author=author,
        summary=summary,
        content_html=content,
        published_at=published,
        date_flagged=flagged,
        tags=[t for t in tags if t],
        enclosures=enclosures,
        # The comment count as Reddit items store it (publish/views.py reads "comments").
        engagement=comment_count(raw.get("slash_comments")) or comment_count(raw.get("thr_total")),
    )
