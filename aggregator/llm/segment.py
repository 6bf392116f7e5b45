"""Sentences a reader can trust: a maintained segmenter, non-prose lines dropped, cuts marked."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Terminal punctuation, optionally followed by closing quotes or brackets.
_WHOLE = re.compile(r"(?:[.!?…]|\.\.\.)[\"'”’)\]]*$")
_CLAUSE = re.compile(r"(?:[,;:]|\s[–—-])\s")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?(?:\s+\d{{4}})?|"
    r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?|"
    r"(?:UTC|GMT|[ECMP][SD]?T)\b)",
    re.I,
)
_STAMP = re.compile(
    r"^(?:published|updated|posted|last updated|first published|modified)\b[^.!?]*$", re.I
)
_BYLINE = re.compile(
    r"^(?:by|words by|written by|reporting by|story by|text by)\s+[A-Z][\w.'-]*(?:\s+\S+){0,7}$",
    re.I,
)
_CREDIT = re.compile(
    r"^\(?(?:photo|image|picture|illustration|photograph|graphic|video|credit|source)s?"
    r"(?:\s+(?:by|credit|courtesy))?\s*[:|/-]|"
    r"\b(?:getty images|shutterstock|associated press|reuters|afp|ap photo)\)?\s*$|"
    r"^(?:photo|illustration|image)\s+by\b",
    re.I,
)
_PROMPT = re.compile(
    r"^(?:share(?: this| on)?|subscribe|sign up|follow us|read more|related|"
    r"advertisement|sponsored|tweet|email this|print this|listen to|watch:|"
    r"recommended|more from|see also|back to top|skip to|comments?\s*\(|"
    r"join our|get our|download our app)\b",
    re.I,
)
_CLICK = re.compile(r"^(?:click|tap) here\b", re.I)
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Lines shorter than this without an ending are headings, labels or menu leftovers.
MIN_PROSE_WORDS = 8


@lru_cache(maxsize=1)
def _backend():
    """Return sentencex's segment function (see docs/extractive.md for why this one)."""
    import sentencex

    return sentencex.segment


def split_paragraph(paragraph: str) -> list[str]:
    """Return one paragraph's sentences, whitespace collapsed."""
    flat = " ".join(paragraph.split())
    if not flat:
        return []
    return [s.strip() for s in _backend()("en", flat) if s.strip()]


def split_sentences(text: str) -> list[str]:
    """Return the text's sentences (a line break always ends a sentence)."""
    out: list[str] = []
    for line in re.split(r"\n", text):
        out += split_paragraph(line)
    return out


def is_whole(sentence: str) -> bool:
    """Return True when a sentence ends as a sentence does (terminal mark or an ellipsis)."""
    return bool(_WHOLE.search(sentence.strip()))


def starts_whole(sentence: str) -> bool:
    """Return False for a sentence that starts mid-way (a lower-case first letter)."""
    first = next((c for c in sentence if c.isalnum()), "")
    return not first.islower()


def balanced(sentence: str) -> bool:
    """Return True when every quote and bracket the sentence opens it also closes."""
    straight = sentence.count('"') % 2 == 0
    curly = sentence.count("“") == sentence.count("”")
    return straight and curly and sentence.count("(") == sentence.count(")")


def is_prose(line: str) -> bool:
    """Return False for datelines, bylines, "Section | Author | Date" rows, credits and prompts."""
    line = " ".join(line.split())
    if not line:
        return False
    words = _WORDS.findall(_DATE.sub(" ", line))
    if line.count("|") >= 1 or line.count(" · ") >= 2 or line.count(" • ") >= 1:
        return False
    if _STAMP.match(line) or _BYLINE.match(line) or _CREDIT.search(line):
        return False
    if (_PROMPT.match(line) and len(line.split()) <= 6) or _CLICK.match(line):
        return False
    if _DATE.search(line) and len(words) <= 4:
        return False  # a dateline: little but a date, a time and a place
    return len(line.split()) >= MIN_PROSE_WORDS or is_whole(line)


def prose_text(text: str) -> str:
    """Return the text with its non-prose lines removed (paragraph breaks kept)."""
    kept = [line for line in text.split("\n") if not line.strip() or is_prose(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def shorten(sentence: str, limit: int) -> str:
    """Return the sentence, or its start cut at a clause boundary with an ellipsis to fit."""
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    head = sentence[: limit - 1]
    cuts = [m.start() for m in _CLAUSE.finditer(head) if m.start() >= limit // 3]
    end = cuts[-1] if cuts else head.rfind(" ")
    short = head[: max(end, 1)].rstrip(" ,;:–—-")
    # A quotation cut short still closes, after the ellipsis that marks the cut.
    closing = "”" * max(0, short.count("“") - short.count("”"))
    closing += '"' * (short.count('"') % 2)
    return short[: limit - 1 - len(closing)].rstrip() + "…" + closing


# Curly quotes, primes, and the dash family become their ASCII forms before comparing.
_FOLD = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...", "\u00ad": "",
})  # fmt: skip
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Return text with Unicode forms, quotes, dashes and whitespace made uniform."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return _SPACE.sub(" ", text).strip()
