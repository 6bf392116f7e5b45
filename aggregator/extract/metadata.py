"""Page metadata from meta tags and JSON-LD: title, author, date, site name, language."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement

_JSON_LD = re.compile(r"<script[^>]+application/ld\+json[^>]*>(.*?)</script\s*>", re.S | re.I)
_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "techarticle",
    "scholarlyarticle",
    "analysisnewsarticle",
    "webpage",
    "report",
}
_TITLE_SEPARATORS = (" | ", " - ", " — ", " – ", " :: ", " · ")
_LANG = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?$")


@dataclass
class PageMeta:
    """What the page says about itself."""

    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    site_name: str | None = None
    language: str | None = None


def json_ld_blocks(html: str) -> list[dict[str, Any]]:
    """Return the article-like JSON-LD objects of a page (flattening @graph), best first."""
    found: list[dict[str, Any]] = []
    for raw in _JSON_LD.findall(html[:2_000_000]):
        try:
            data = json.loads(raw.strip())
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            node = stack.pop(0)
            if not isinstance(node, dict):
                continue
            stack.extend(node.get("@graph") or [])
            kinds = node.get("@type") or []
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if any(str(k).lower() in _ARTICLE_TYPES for k in kinds):
                found.append(node)
    # Real articles before generic WebPage nodes.
    found.sort(key=lambda n: "webpage" in str(n.get("@type", "")).lower())
    return found


def parse_date(value: Any) -> datetime | None:
    """Return an aware UTC datetime from ISO 8601 or RFC 2822 text, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if not 1990 <= parsed.year <= 2100:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _meta_map(tree: HtmlElement) -> dict[str, str]:
    """Return the first content of each <meta> name/property/itemprop, keys lower-cased."""
    out: dict[str, str] = {}
    for node in tree.iter("meta"):
        key = node.get("property") or node.get("name") or node.get("itemprop")
        key = key or node.get("http-equiv")
        content = node.get("content")
        if key and content and content.strip():
            out.setdefault(key.strip().lower(), content.strip())
    return out


def _name_of(value: Any) -> str | None:
    """Return a person's or organisation's name from a JSON-LD value (dict, list or text)."""
    if isinstance(value, list):
        names = [n for n in (_name_of(v) for v in value) if n]
        return ", ".join(dict.fromkeys(names)) or None
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, str) and value.strip() and not value.startswith("http"):
        return " ".join(value.split())
    return None


def _strip_site(title: str, site_name: str | None) -> str:
    """Return a title without a trailing or leading ' | Site name' part."""
    for sep in _TITLE_SEPARATORS:
        if sep in title:
            parts = [p.strip() for p in title.split(sep)]
            if site_name and site_name.lower() in (parts[-1].lower(), parts[0].lower()):
                kept = parts[:-1] if site_name.lower() == parts[-1].lower() else parts[1:]
                return sep.join(kept)
            if len(parts[-1]) < 30 and len(parts[0]) > 2 * len(parts[-1]):
                return sep.join(parts[:-1])
    return title


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def _language(tree: HtmlElement, meta: dict[str, str]) -> str | None:
    for value in (
        tree.get("lang"),
        tree.get("xml:lang"),
        meta.get("content-language"),
        meta.get("og:locale"),
    ):
        value = (value or "").strip().split(",")[0]
        if _LANG.match(value):
            return value.split("-")[0].split("_")[0].lower()
    return None


def _page_date(tree: HtmlElement, meta: dict[str, str], ld: dict[str, Any]) -> datetime | None:
    for key in (
        "article:published_time",
        "og:published_time",
        "datepublished",
        "publish-date",
        "pubdate",
        "publishdate",
        "dc.date",
        "dc.date.issued",
        "date",
        "sailthru.date",
        "parsely-pub-date",
    ):
        parsed = parse_date(meta.get(key))
        if parsed:
            return parsed
    parsed = parse_date(ld.get("datePublished")) or parse_date(ld.get("dateCreated"))
    if parsed:
        return parsed
    for node in tree.iter("time"):
        parsed = parse_date(node.get("datetime"))
        if parsed:
            return parsed
    return None


_BYLINE_XPATH = (
    './/*[@rel="author" or @itemprop="author" or contains(@class, "byline") or '
    'contains(@class, "author") or contains(@id, "byline") or contains(@id, "author")]'
)
_BYLINE_PREFIX = re.compile(r"^(?:(?:written|posted|reported|words|story|text)\s+)?by[:\s]+", re.I)
_BYLINE_END = re.compile(
    r"\s*(?:[|•·—–]|\s-\s|\s+on\s+[A-Z]|updated\b|published\b|\d|(?:Staff|Senior|Contributor|"
    r"Reporter|Correspondent|Editor|Writer)\b|\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b|"
    r"(?:Jan|Febr)uary|March|April|"
    r"May\b|June|July|August|(?:Septem|Octo|Novem|Decem)ber|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|"
    r"Sun)day).*$"
)
_NAME_PARTICLES = frozenset(["and", "de", "van", "von", "der", "da", "di", "la", "le", "bin", "al"])
_NOT_A_NAME = re.compile(
    r"\b(?:author|authors|about|follow|posts?|view|more|staff|comments?)\b", re.I
)


def _byline_name(text: str) -> str | None:
    """Return the person's name in a byline text ("By Ada Lovelace | May 3"), or None."""
    text = _BYLINE_END.sub("", _BYLINE_PREFIX.sub("", " ".join(text.split()))).strip(" ,:-")
    words = text.split()
    if any(w[0].islower() and w not in _NAME_PARTICLES for w in words):
        return None  # "the defense ministries": a phrase, not a name
    if not 2 <= len(words) <= 6 or _NOT_A_NAME.search(text) or not text[0].isupper():
        return None
    if any(c in text for c in "*()@?!"):
        return None  # a form label ("Name *") or a sentence, not a byline
    return text


def visible_byline(tree: HtmlElement) -> str | None:
    """Return the author a visible byline names (rel/itemprop/class "author" or "byline")."""
    for node in tree.xpath(_BYLINE_XPATH)[:20]:
        if any(
            a.tag == "form" or "comment" in (a.get("class") or "") for a in node.iterancestors()
        ):
            continue  # a comment's author or a comment form's label
        named = node.find('.//*[@itemprop="name"]')
        text = (named if named is not None else node).text_content()
        name = _byline_name(text) if len(text) < 200 else None
        if name:
            return name
    return None


def page_metadata(tree: HtmlElement, html: str, url: str) -> PageMeta:
    """Return what the page says about its title, author, date, site name and language."""
    meta = _meta_map(tree)
    blocks = json_ld_blocks(html) if "ld+json" in html else []
    ld = blocks[0] if blocks else {}
    site = _first(
        meta.get("og:site_name"), _name_of(ld.get("publisher")), meta.get("application-name")
    )
    title_node = tree.find(".//title")
    h1 = tree.find(".//h1")
    title = _first(
        meta.get("og:title"),
        meta.get("twitter:title"),
        ld.get("headline"),
        title_node.text_content() if title_node is not None else None,
        h1.text_content() if h1 is not None else None,
    )
    author = _first(
        meta.get("author"),
        meta.get("article:author"),
        meta.get("dc.creator"),
        meta.get("byl"),
        meta.get("parsely-author"),
    )
    if author and author.startswith("http"):
        author = None
    author = author or _name_of(ld.get("author")) or visible_byline(tree)
    if author:
        author = re.sub(r"^by\s+", "", author, flags=re.I)
    return PageMeta(
        title=_strip_site(title, site) if title else None,
        author=author,
        published_at=_page_date(tree, meta, ld),
        site_name=site or (urlsplit(url).hostname or None),
        language=_language(tree, meta),
    )
