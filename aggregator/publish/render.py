"""Jinja environment (autoescape always on) and the filters the templates use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from aggregator.publish.data import SiteConfig
from aggregator.publish.paths import relative_root
from aggregator.publish.sanitize import EXTERNAL_REL, clean_html, clean_text, safe_url

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# Pages carry no script at all; only the search page may load our own module and pagefind's wasm.
CSP = Markup(
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
CSP_SEARCH = Markup(
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def iso_utc(value: datetime | None) -> str:
    """Return an ISO 8601 UTC timestamp ending in Z ("" for None)."""
    if value is None:
        return ""
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    # An f-string is several times faster than strftime, and this runs for every story.
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


def make_environment(config: SiteConfig) -> Environment:
    """Return the Jinja environment for one build of this site."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    zone = ZoneInfo(config.timezone)

    def local(value: datetime) -> datetime:
        return value.astimezone(zone)

    env.filters.update(
        iso=iso_utc,
        date=lambda v: local(v).strftime("%-d %b %Y"),
        datetime=lambda v: local(v).strftime("%-d %b %Y, %H:%M ") + (local(v).tzname() or ""),
        pct=lambda v: f"{round(float(v) * 100)}%",
        text=clean_text,
        line=lambda v: clean_text(v, single_line=True),
        safe_url=safe_url,
        clean_html=clean_html,
        quote_fragment=_text_fragment,
    )
    env.globals.update(
        site=config, rel_external=Markup(EXTERNAL_REL), csp=CSP, csp_search=CSP_SEARCH
    )
    return env


def page_globals(config: SiteConfig, path: str) -> dict[str, Any]:
    """Return the per-page values every template uses: root prefix, canonical URL, path."""
    canonical_path = path[: -len("index.html")] if path.endswith("index.html") else path
    return {
        "root": Markup(relative_root(path)),
        "path": path,
        "canonical": config.base_url + canonical_path,
    }


# Percent-encoding table: unreserved characters stay, everything else (including "-" and ",",
# which are syntax inside a text directive) is escaped. Faster than urllib.parse.quote.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~")
_PCT = [chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256)]


def _pct(word: str) -> str:
    """Return one word percent-encoded; a plain ASCII letters-and-digits word is returned as is."""
    if word.isascii() and word.isalnum():  # most words of a quote: nothing to encode
        return word
    return "".join([_PCT[b] for b in word.encode("utf-8")])


def _text_fragment(url: str, quote_text: str) -> str:
    """Return url with a text fragment that scrolls to the quoted passage (when it has no #)."""
    if "#" in url:
        return url
    words = quote_text.split()
    if not words:
        return url

    def enc(part: list[str]) -> str:
        return "%20".join([_pct(w) for w in part])

    fragment = enc(words) if len(words) <= 8 else enc(words[:4]) + "," + enc(words[-4:])
    return f"{url}#:~:text={fragment}"
