"""The recap email's two bodies: plain text wrapped at 78, and table-based HTML for every client.

Plain data in (the recap, its stories, links, who sends it), text out. Mail clients drop
<style> blocks and remote CSS, and Outlook ignores max-width on <div>, so the HTML is a
600-640 px table with inline styles; a hidden preheader gives the inbox preview line.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from html import escape
from urllib.parse import urlsplit

from aggregator.recap.compose import RecapDoc, RecapSection

WIDTH = 78  # RFC 5322 recommends lines of at most 78 characters
BOX_PX = 620
_OUTER = "margin:0;padding:0;background:#f6f6f4;"
_CELL = "padding:24px 28px;font-family:Georgia,serif;color:#1d1d1b;"
_H1 = "font-size:24px;line-height:1.25;margin:0 0 12px 0;"
_H2 = "font-size:18px;line-height:1.3;margin:24px 0 8px 0;border-top:1px solid #e4e4df;padding-top:16px;"
_P = "font-size:16px;line-height:1.55;margin:0 0 12px 0;"
_LI = "font-size:15px;line-height:1.5;margin:0 0 8px 0;"
_A = "color:#1a56a8;text-decoration:underline;"
_NOTE = "font-size:13px;line-height:1.5;color:#66665f;margin:16px 0 0 0;"
_HIDDEN = "display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;color:#f6f6f4;"
_EXTRACTIVE = (
    "This recap was assembled without a language model: each line is a story's own TL;DR,"
    " credited to its source."
)


@dataclass(frozen=True)
class StoryRef:
    """A story as the email links it: title, hook, our page (with its quotes), the original."""

    id: int
    title: str
    hook: str = ""
    url: str | None = None
    page: str | None = None


@dataclass(frozen=True)
class Envelope:
    """Who sends the email and where its links go (the footer says all of it)."""

    site_title: str
    from_address: str
    recap_link: str
    unsubscribe_link: str
    postal_address: str = ""
    language: str = "en"


def safe_url(url: str | None) -> str | None:
    """Return the URL if it is http(s), else None (no javascript: links in mail)."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    """Return lines of at most WIDTH characters (a long URL stays whole on its own line)."""
    return textwrap.wrap(text, WIDTH, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [""]  # fmt: skip


def _told(section: RecapSection, story: StoryRef) -> tuple[str, str]:
    """Return (source, sentence) for a story: the section's credited line, else its hook."""
    line = next((i for i in section.items if i.story_id == story.id), None)
    return (line.source, line.text) if line else ("", story.hook)


def _story_text(story: StoryRef, source: str = "", text: str = "") -> list[str]:
    line = story.title + (f" ({source})" if source else "") + (f" - {text}" if text else "")
    out = _wrap(line, "    ", "  * ")
    if safe_url(story.page):
        out.append(f"    Our card: {story.page}")
    if safe_url(story.url):
        out.append(f"    Original: {story.url}")
    return out


def _sender(envelope: Envelope) -> str:
    name, address = parseaddr(envelope.from_address)
    who = f"{name} <{address}>" if name and address else (address or envelope.site_title)
    return who + (f", {envelope.postal_address}" if envelope.postal_address else "")


def render_text(recap: RecapDoc, stories: Mapping[int, StoryRef], envelope: Envelope) -> str:
    """Return the plain-text part: each story's line and links, wrapped at 78 characters."""
    out = [*_wrap(recap.title), "=" * min(len(recap.title), WIDTH), "", *_wrap(recap.intro), ""]
    for section in recap.sections:
        out += [*_wrap(section.title), "-" * min(len(section.title), WIDTH)]
        if section.synthesis:
            out += [*_wrap(section.synthesis), ""]
        for sid in section.story_ids:
            if sid in stories:
                out += _story_text(stories[sid], *_told(section, stories[sid]))
        out.append("")
    if recap.what_to_watch:
        out += ["What to watch", "-------------"]
        out += [line for w in recap.what_to_watch for line in _wrap(w, "    ", "  * ")] + [""]
    out += ["Read it on the site:", envelope.recap_link, ""]
    if recap.mode == "extractive":
        out += _wrap(_EXTRACTIVE)
    out += ["", "--", *_wrap(f"You get this because you subscribed to the {envelope.site_title} "
                            f"weekly recap. Sent by {_sender(envelope)}."),
            "Unsubscribe:", envelope.unsubscribe_link]  # fmt: skip
    return "\n".join(out) + "\n"


def _link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}" style="{_A}">{escape(text)}</a>'


def _story_html(story: StoryRef, source: str = "", text: str = "") -> str:
    page, original = safe_url(story.page), safe_url(story.url)
    title = _link(page, story.title) if page else escape(story.title)
    title += f" ({escape(source)})" if source else ""
    hook = f" &mdash; {escape(text)}" if text else ""
    source = f" ({_link(original, 'original')})" if original else ""
    return f'<li style="{_LI}">{title}{hook}{source}</li>'


def _sections_html(recap: RecapDoc, stories: Mapping[int, StoryRef]) -> list[str]:
    parts = []
    for section in recap.sections:
        parts.append(f'<h2 style="{_H2}">{escape(section.title)}</h2>')
        if section.synthesis:
            parts.append(f'<p style="{_P}">{escape(section.synthesis)}</p>')
        items = [
            _story_html(stories[i], *_told(section, stories[i]))
            for i in section.story_ids
            if i in stories
        ]
        if items:
            parts.append(
                '<ul style="margin:0 0 8px 0;padding-left:20px;">' + "".join(items) + "</ul>"
            )
    if recap.what_to_watch:
        parts.append(f'<h2 style="{_H2}">What to watch</h2>')
        items = [f'<li style="{_LI}">{escape(w)}</li>' for w in recap.what_to_watch]
        parts.append('<ul style="margin:0;padding-left:20px;">' + "".join(items) + "</ul>")
    return parts


def render_html(recap: RecapDoc, stories: Mapping[int, StoryRef], envelope: Envelope) -> str:
    """Return the HTML part: a 620 px table, inline styles, no images, every text escaped."""
    note = f'<p style="{_NOTE}">{_EXTRACTIVE}</p>' if recap.mode == "extractive" else ""
    body = [
        f'<h1 style="{_H1}">{escape(recap.title)}</h1>',
        f'<p style="{_P}">{escape(recap.intro)}</p>',
        *_sections_html(recap, stories),
        f'<p style="{_P}margin-top:24px;">{_link(envelope.recap_link, "Read this recap on the site")}</p>',
        note,
        f'<p style="{_NOTE}">You get this because you subscribed to the '
        f"{escape(envelope.site_title)} weekly recap. Sent by {escape(_sender(envelope))}. "
        f"{_link(envelope.unsubscribe_link, 'Unsubscribe')}</p>",
    ]
    preheader = textwrap.shorten(recap.intro, 140, placeholder="...")
    return (
        f'<!DOCTYPE html><html lang="{escape(envelope.language, quote=True)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(recap.title)}</title></head><body style=\"{_OUTER}\">"
        f'<div style="{_HIDDEN}">{escape(preheader)}</div>'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="{_OUTER}"><tr><td align="center" style="padding:24px 8px;">'
        f'<table role="presentation" width="{BOX_PX}" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:100%;max-width:{BOX_PX}px;background:#ffffff;"><tr><td style="{_CELL}">'
        + "\n".join(p for p in body if p)
        + "</td></tr></table></td></tr></table></body></html>"
    )  # fmt: skip
