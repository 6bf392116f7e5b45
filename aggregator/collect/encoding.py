"""Feed bytes -> text: BOM, valid UTF-8, the HTTP charset, the XML prolog, then a guess."""

from __future__ import annotations

import codecs
import re

_PROLOG_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
# Characters XML 1.0 forbids; one stray control byte would push feedparser to its slow,
# lossy loose parser, so they are dropped before parsing.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PROLOG_TEXT = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
# 7-bit stateful encodings look like valid UTF-8 but are not; a declaration of one wins.
_SEVEN_BIT = ("iso2022", "utf_7", "hz")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def media_type(content_type: str) -> str:
    """Return the lower-case media type of a Content-Type header ('' when absent)."""
    return content_type.split(";", 1)[0].strip().lower()


def _codec(name: str | None) -> str | None:
    """Return Python's codec name for a charset label, or None if unknown."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def _declared(body: bytes, content_type: str) -> tuple[str | None, str | None]:
    """Return the codecs named by the HTTP charset and by the XML prolog."""
    header = _CHARSET.search(content_type or "")
    head = body[:512]
    if head[:2] in (b"\x00<", b"<\x00"):  # UTF-16 without BOM: read the prolog as ASCII
        head = head.replace(b"\x00", b"")
    prolog = _PROLOG_ENCODING.match(head)
    return (
        _codec(header.group(1)) if header else None,
        _codec(prolog.group(1).decode("ascii")) if prolog else None,
    )


def _decode(body: bytes, content_type: str) -> str:
    """Return the body as text, trying the most trustworthy evidence first."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace")
    header, prolog = _declared(body, content_type)
    declared = [c for c in (header, prolog) if c]
    if body[:2] == b"\x00<" or body[:2] == b"<\x00":
        wide = next((c for c in declared if c.startswith(("utf_16", "utf_32"))), None)
        return body.decode(wide or ("utf-16-be" if body[0] == 0 else "utf-16-le"), "replace")
    seven_bit = next((c for c in declared if c.startswith(_SEVEN_BIT)), None)
    if seven_bit:
        return body.decode(seven_bit, errors="replace")
    # Valid UTF-8 with non-ASCII bytes is almost never an accident of a legacy charset, so
    # it beats a contradicting label (the usual cause of mojibake in the wild).
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for codec in declared:
        if codec.startswith(("utf_8", "utf_16", "utf_32")):
            continue
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    return _guess(body, declared)


def _guess(body: bytes, declared: list[str]) -> str:
    """Return the body decoded by a statistical guess, else the label or cp1252, lossily."""
    try:
        from charset_normalizer import from_bytes  # comes with requests (praw)
    except ImportError:  # pragma: no cover - a guess is a nicety, not a requirement
        from_bytes = None
    matches = list(from_bytes(body[:200_000])) if from_bytes else []
    if matches:
        best = min(m.chaos for m in matches)
        # Short Western text fits several single-byte codecs equally well; windows-1252 is
        # the web's legacy default (WHATWG), so it wins a near tie.
        close = [m.encoding for m in matches if m.chaos <= best + 0.05]
        choice = "cp1252" if "cp1252" in close else matches[0].encoding
        try:
            return body.decode(choice, errors="replace")
        except LookupError:
            pass
    fallback = next((c for c in declared if not c.startswith("utf")), "cp1252")
    return body.decode(fallback, errors="replace")


def decode_feed_text(body: bytes, content_type: str = "") -> str:
    """Return feed text with illegal XML characters removed and the prolog saying UTF-8."""
    text = _XML_ILLEGAL.sub("", _decode(body, content_type))
    return _PROLOG_TEXT.sub(r"\1\2utf-8\2", text, count=1)
