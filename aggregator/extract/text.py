"""Plain-text helpers: paragraphs, word counts, content hashes, HTML fragments, language."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "section",
    "article",
    "figure",
    "figcaption",
    "hr",
    "dd",
    "dt",
    "header",
    "footer",
}
# A handful of very frequent words per language: enough to tell them apart on a paragraph.
_STOPWORDS = {
    "en": {"the", "and", "of", "to", "is", "in", "that", "it", "for", "with", "was", "on"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "ein", "eine", "auf", "zu", "den"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "dans", "que", "pour", "pas", "du"},
    "es": {"el", "la", "los", "las", "y", "que", "es", "en", "por", "una", "para", "del"},
    "it": {"il", "che", "di", "e", "la", "per", "una", "sono", "della", "non", "gli", "con"},
    "nl": {"de", "het", "een", "en", "van", "is", "niet", "dat", "op", "voor", "zijn", "met"},
    "pt": {"o", "que", "de", "e", "os", "uma", "para", "com", "não", "em", "da", "do"},
}


def words(text: str) -> list[str]:
    """Return the word tokens of a text (letters and digits, any script)."""
    return _WORD.findall(text)


def word_count(text: str) -> int:
    """Return the number of words in a text."""
    return sum(1 for _ in _WORD.finditer(text))


def normalize_text(text: str) -> str:
    """Return the text reduced to lower-case words separated by single spaces."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(text: str) -> str | None:
    """Return the sha256 of the normalized text, or None for a text without words."""
    normalized = normalize_text(text)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest() if normalized else None


def paragraphs_text(lines: str) -> str:
    """Return text with one paragraph per non-empty line, paragraphs separated by blank lines."""
    paragraphs = (_SPACES.sub(" ", line).strip() for line in lines.splitlines())
    return "\n\n".join(p for p in paragraphs if p)


def html_to_text(fragment: str | None) -> str:
    """Return the plain text of an HTML fragment (a feed's content), paragraphs kept."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        return paragraphs_text(fragment.replace("\r", ""))
    from lxml import etree, html

    try:
        root = html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return paragraphs_text(re.sub(r"<[^>]+>", " ", fragment))
    etree.strip_elements(root, "script", "style", "noscript", "template", with_tail=False)
    parts: list[str] = []
    for event, node in etree.iterwalk(root, events=("start", "end")):
        is_element = isinstance(node.tag, str)  # comments and PIs: keep only their tail
        tag = node.tag if is_element else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            parts.append((node.text or "") if is_element else "")
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if node is not root:
                parts.append(node.tail or "")
    return paragraphs_text("".join(parts))


def guess_language(text: str) -> str | None:
    """Return an ISO 639-1 guess from frequent words, or None when unsure."""
    tokens = [t.casefold() for t in _WORD.findall(text[:5000])]
    if len(tokens) < 20:
        return None
    scores = {lang: sum(1 for t in tokens if t in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= max(3, len(tokens) // 25) else None
