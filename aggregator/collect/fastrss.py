"""Plain RSS 2.0 read with lxml into the shape feedparser gives, or None when it is not plain.

feedparser costs about 15 ms of CPU for a 60 KB feed, lxml under 1 ms. This reader takes
only documents whose every element it knows how feedparser would read (a closed list of
RSS 2.0 elements and a few modules, no unexpected attributes, no nested markup, no DOCTYPE,
no xml:base) and returns None for anything else, so that feedparser reads it as before.
Where feedparser transforms text (stripping, its URI fix-up, its latin-1 and cp1252 repairs,
its dates, its author split, its HTML guess for titles) this calls feedparser's own
functions. bench/feeds_parity.py checks that both give the same entries on a corpus.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any

import feedparser
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
THREAD = "{http://purl.org/syndication/thread/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"
SYNDICATION = "{http://purl.org/rss/1.0/modules/syndication/}"
COMMENT_API = "{http://wellformedweb.org/CommentAPI/}"

# An item's elements (namespace + lower-case name, as feedparser matches them) -> what they fill.
_ITEM = {
    "title": "title",
    "link": "link",
    "guid": "id",
    "pubdate": "published",
    "description": "summary",
    "author": "author",
    DC + "creator": "author",
    DC + "date": "updated",
    CONTENT + "encoded": "content",
    "category": "category",
    "enclosure": "enclosure",
    "comments": None,  # the comments page: not read by rss.py
    COMMENT_API + "commentrss": None,
    SLASH + "comments": "slash_comments",
    THREAD + "total": "thr_total",
}
# Channel elements that fill nothing rss.py reads (feedparser keeps them elsewhere).
_CHANNEL_OTHER = {
    "description",
    "language",
    "copyright",
    "managingeditor",
    "webmaster",
    "pubdate",
    "lastbuilddate",
    "category",
    "generator",
    "docs",
    "cloud",
    "image",
    "rating",
    "skiphours",
    "skipdays",
    SYNDICATION + "updateperiod",
    SYNDICATION + "updatefrequency",
    SYNDICATION + "updatebase",
}
_ATTRIBUTES = {
    "guid": {"ispermalink"},
    "category": {"domain"},
    "enclosure": {"url", "length", "type"},
}
_REPEATABLE = {"category", "enclosure", None}
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)""")
_QUERY_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_XML_TYPES = {"", "application/xml", "text/xml", "application/rss+xml"}
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, strip_cdata=True, huge_tree=False
)


class NotPlain(Exception):
    """The document needs feedparser."""


def read_plain_rss(data: bytes, media_type: str) -> dict[str, Any] | None:
    """Return {"feed", "entries", "bozo", "version"} as feedparser would, or None."""
    if media_type not in _XML_TYPES or b"<!DOCTYPE" in data[:4096] or b"xml:base" in data:
        return None
    declared = _DECLARED.match(data[:200].lstrip(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    try:
        root = etree.fromstring(data, _PARSER)
        return _document(root)
    except (etree.XMLSyntaxError, NotPlain, ValueError):
        return None


def _document(root: Any) -> dict[str, Any]:
    if root.tag != "rss" or root.attrib.get("version") not in ("2.0", "0.92", "0.91"):
        raise NotPlain
    channels = list(root)
    if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
        raise NotPlain
    feed: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for child in channels[0]:
        name = _name(child)
        if name is None:
            continue
        if name == "item":
            entries.append(_item(child))
        elif name in ("title", "link", "ttl"):
            if name in seen or child.attrib or len(child):
                raise NotPlain
            seen.add(name)
            text = _text(child, uri=name == "link")
            feed[name] = _QUERY_ENTITY.sub(r"&\g<1>", text) if name == "link" else text
            if name == "title":
                feed["title_detail"] = {"type": _title_type(text)}
        elif name == ATOM + "link":
            if child.attrib.get("rel", "alternate").lower() == "alternate":
                raise NotPlain
        elif name not in _CHANNEL_OTHER:
            raise NotPlain
    if not entries:
        raise NotPlain  # feedparser's version string decides about empty feeds
    return {"feed": feed, "entries": entries, "bozo": False, "version": "rss20"}


def _name(element: Any) -> str | None:
    """Return an element's namespace and lower-case local name (None for comments, PIs)."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    space, _, local = tag.rpartition("}")
    return (space + "}" if space else "") + local.lower()


def _text(element: Any, uri: bool = False) -> str:
    """Return an element's text as feedparser's pop() leaves it (markup inside: not plain)."""
    if len(element):
        raise NotPlain
    text = (element.text or "").strip()
    if uri and text:
        text = _urljoin("", text)
    if text.isascii():  # neither repair below can change ASCII text
        return text
    # feedparser repairs UTF-8 that was read as latin-1, then maps cp1252's C1 range.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


def _title_type(text: str) -> str:
    """Return the type feedparser gives an RSS title: plain text unless it looks like HTML."""
    if "<" not in text and "&" not in text:  # HTML to feedparser has a close tag or an entity
        return "text/plain"
    return "text/html" if _FeedParserMixin.looks_like_html(text) else "text/plain"


def _item(element: Any) -> dict[str, Any]:
    if element.attrib:
        raise NotPlain
    entry: dict[str, Any] = {"links": []}
    seen: set[str] = set()
    for child in element:
        name = _name(child)
        if name is None:
            continue
        key = _ITEM.get(name, "unknown")
        if key == "unknown" or (key in seen and key not in _REPEATABLE):
            raise NotPlain
        attributes = {k.lower() for k in child.attrib}
        if attributes - _ATTRIBUTES.get(name, set()) or (key is None and len(child)):
            raise NotPlain
        if key is not None:
            seen.add(key)
            _fill(entry, key, child)
    if "content" in entry and "summary" not in entry:
        entry["summary"] = entry["content"][0]["value"]
    entry["enclosures"] = [
        {k: v for k, v in link.items() if k != "rel"}
        for link in entry["links"]
        if link["rel"] == "enclosure"
    ]
    return entry


def _fill(entry: dict[str, Any], key: str, child: Any) -> None:
    """Put one element into the entry where feedparser would."""
    if key == "enclosure":
        if len(child):
            raise NotPlain
        attrs = {k.lower(): v.lower() if k == "type" else v for k, v in child.attrib.items()}
        href = attrs.pop("url", None)
        if href:
            attrs["href"] = href
        elif href is not None:
            attrs["url"] = href
        entry["links"].append({**attrs, "rel": "enclosure"})
        return
    text = _text(child, uri=key == "link")
    if key == "link":
        entry["link"] = _QUERY_ENTITY.sub(r"&\g<1>", text.replace("&amp;", "&"))
        entry["links"].append(
            {"rel": "alternate", "type": "text/html", **({"href": text} if text else {})}
        )
    elif key == "id":
        entry["id"] = text
        permalink = {k.lower(): v for k, v in child.attrib.items()}.get("ispermalink", "true")
        if permalink == "true":
            entry.setdefault("link", text)
    elif key == "title":
        entry["title"], entry["title_detail"] = text, {"type": _title_type(text)}
    elif key in ("published", "updated"):
        entry[key + "_parsed"] = _parse_date(text)
    elif key == "content":
        entry["content"] = [{"type": "text/html", "value": text}]
    elif key == "category":
        if text:
            entry.setdefault("tags", []).append({"term": text})
    elif key == "author":
        entry["author"] = text
        _author_detail(entry)
    else:
        entry[key] = text


class _AuthorContext:
    """Just enough of a feedparser parser for its own author split to run on one entry."""

    def __init__(self, entry: dict[str, Any]):
        self.context = feedparser.FeedParserDict(author=entry["author"])
        self.context["authors"] = [feedparser.FeedParserDict()]

    def _get_context(self) -> Any:
        return self.context


def _author_detail(entry: dict[str, Any]) -> None:
    """Set author_detail as feedparser's _sync_author_detail does for a one-author entry."""
    detail = _split_author(entry["author"])
    if detail is not None:
        entry["author_detail"] = dict(detail)


@functools.lru_cache(maxsize=256)
def _split_author(author: str) -> tuple[tuple[str, str], ...] | None:
    """Return feedparser's (name, email) split of an author line (a feed repeats a few)."""
    shim = _AuthorContext({"author": author})
    _FeedParserMixin._sync_author_detail(shim)  # type: ignore[arg-type]
    detail = shim.context.get("author_detail")
    return None if detail is None else tuple(detail.items())
