"""Main text of an HTML page with trafilatura, on a tree lightened of scripts and styles."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aggregator.extract.metadata import PageMeta, page_metadata
from aggregator.extract.text import paragraphs_text, word_count

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Scripts, styles and inline SVG are often most of a page's bytes and never article text;
# dropping them before parsing makes extraction about a third faster with the same output.
# A long <noscript> stays: some pages put the whole post there for readers without JavaScript.
_HEAVY = re.compile(r"<(?:(script|style|svg|noscript)\b.*?</\1\s*>|!--.*?-->)", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
# A <noscript> with fewer words is a notice ("enable JavaScript"), not the article.
NOSCRIPT_ARTICLE_WORDS = 80
# Parts trafilatura discards anyway; removing them first (after reading the metadata in the
# head) makes its tree walks about a fifth faster with the same benchmark score.
_NEVER_ARTICLE = ("nav", "footer", "aside")
# ...unless a malformed page put the article inside one (an unclosed <aside>, <header><nav>
# around everything): a part holding this share of the page's text, or an <article>, stays.
MAX_DROPPED_SHARE = 0.4
# A fast result below this share of the page's words may be a sign-up box, not the article.
RECALL_RETRY_SHARE = 0.15
# Markup beyond this (after stripping) is cut: no article needs it, and the parse stays bounded.
MAX_HTML_CHARS = 1_500_000
# Below this many words the fast extraction is retried in recall mode.
RECALL_RETRY_WORDS = 60

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass
class HtmlResult:
    """The text trafilatura found and what the page says about itself."""

    text: str = ""
    meta: PageMeta = field(default_factory=PageMeta)
    method: str = "trafilatura"


def _drop_block(match: re.Match[str]) -> str:
    """Return " " for a whole script/style/SVG block; the block itself when it looks malformed.

    A block's content never holds its own closing tag: when it does, an earlier closing tag
    lacked its ">" and the lazy match ran on over real content, so the block is kept for
    the HTML parser (which knows where it ends) instead of deleting what follows.
    """
    tag = match.group(1)
    if tag:
        block = match.group(0).lower()
        closing = f"</{tag.lower()}"
        if closing in block[len(tag) + 1 : block.rfind(closing)]:
            return match.group(0)
        if closing == "</noscript" and len(_TAG.sub(" ", block).split()) >= NOSCRIPT_ARTICLE_WORDS:
            return match.group(0)
    return " "


def strip_heavy(html: str) -> str:
    """Return the HTML without scripts, styles, inline SVG and comments, size-capped."""
    return _HEAVY.sub(_drop_block, html)[:MAX_HTML_CHARS]


def _parse(html: str) -> HtmlElement | None:
    from trafilatura.utils import load_html

    return load_html(html)


def _text_words(node: HtmlElement) -> int:
    """Return the number of words of text under a node."""
    return len(node.text_content().split())


def drop_page_furniture(tree: HtmlElement) -> int:
    """Remove the head, navigation, headers, footers and asides; return the page's words.

    A part is kept when it holds an <article> or a large share of the page's text (the
    article sits inside it on a malformed page).
    """
    for head in tree.findall("head"):
        head.getparent().remove(head)
    total = _text_words(tree)
    for node in list(tree.iter(*_NEVER_ARTICLE)):
        parent = node.getparent()
        if parent is None or node.find(".//article") is not None:
            continue
        if _text_words(node) > MAX_DROPPED_SHARE * total:
            continue
        node.drop_tree()  # keeps the text after the element, which is not part of it
    return total


def _trafilatura(tree: HtmlElement, url: str, *, recall: bool) -> str:
    """Return trafilatura's text (one block per line) for a parsed page (which it alters)."""
    import trafilatura

    # Measured on the Scrapinghub benchmark (bench/extraction_accuracy.py): fast recall mode
    # scores as well as the default (F1 0.963) and is quicker; the retry adds the slow
    # readability/jusText comparison for pages where that found too little.
    options = {"favor_recall": True} if recall else {"fast": True, "favor_recall": True}
    text = trafilatura.extract(
        tree,
        url=url,
        include_comments=False,
        include_tables=True,
        output_format="txt",
        with_metadata=False,
        **options,
    )
    return text or ""


def extract_html(html: str, url: str) -> HtmlResult:
    """Return the main text and metadata of a decoded HTML page."""
    light = strip_heavy(html)
    tree = _parse(light)
    if tree is None:
        return HtmlResult()
    meta = page_metadata(tree, html, url)
    page_words = drop_page_furniture(tree)
    text = _trafilatura(tree, url, recall=False)
    method = "trafilatura"
    words = word_count(text)
    short = words < RECALL_RETRY_WORDS or words < RECALL_RETRY_SHARE * page_words
    retry_tree = _parse(light) if short else None
    if retry_tree is not None:
        drop_page_furniture(retry_tree)
        wider = _trafilatura(retry_tree, url, recall=True)
        if word_count(wider) > word_count(text):
            text, method = wider, "trafilatura-recall"
    return HtmlResult(text=paragraphs_text(text), meta=meta, method=method)
