"""Bytes -> text for feeds and pages alike: BOM, UTF-8 (repairing a few bad bytes), labels, a guess.

The one charset decoder of the project (collect and extract both import it). Order of evidence:
a byte-order mark; UTF-16/32 without one; a declared 7-bit stateful codec; strict UTF-8; UTF-8
with a few invalid bytes (replaced, and counted so the caller can warn); the declared
single-byte codecs; a statistical guess. A single-byte guess is made only when the bytes are
not UTF-8 at all, so one stray byte never turns "Café" into "CafÃ©".
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass

# A page may declare its charset anywhere in the head; browsers stop at 1 KiB, but
# real pages put long scripts first, so look further (bounded, to stay cheap).
META_SCAN_BYTES = 64 * 1024
DETECT_BYTES = 64 * 1024
# Declared UTF-8 with this many invalid bytes or fewer stays UTF-8 even without other evidence.
DECLARED_UTF8_SLACK = 4

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:\-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:\-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:\-]+)["']""", re.I)
# 7-bit stateful encodings look like valid UTF-8 but are not; a declaration of one wins.
_SEVEN_BIT = ("iso2022", "utf-7", "utf_7", "hz")
# Characters XML 1.0 forbids; one stray control byte would push feedparser to its slow,
# lossy loose parser, so they are dropped before parsing.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PROLOG_TEXT = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_ESCAPED = re.compile("[\udc80-\udcff]+")
_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
# WHATWG Encoding: these labels all mean windows-1252 on the web.
_WINDOWS_1252_LABELS = {
    "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp819",
    "ibm819", "iso-ir-100", "windows-1252", "cp1252", "x-cp1252",
}  # fmt: skip


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, the codec used and how many invalid bytes were replaced."""

    text: str
    codec: str
    replaced: int = 0

    def warning(self, stage: str, name: str) -> str | None:
        """Return a one-line warning when bytes were replaced, else None."""
        if not self.replaced:
            return None
        return f"{stage}: {name}: {self.replaced} invalid {self.codec} byte(s) replaced with U+FFFD"


def media_type(content_type: str) -> str:
    """Return the lower-case media type of a Content-Type header ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def normalize_label(label: str | None) -> str | None:
    """Return a Python codec name for a charset label, or None when it is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    if label in ("utf-16", "utf-16le", "utf-16be", "unicode"):
        # A byte stream whose declaration was readable as ASCII cannot really be UTF-16 (WHATWG).
        return "utf-8"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _content_type(headers: Mapping[str, str] | str | None) -> str:
    if isinstance(headers, str):
        return headers
    if not headers:
        return ""
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "") or ""


def header_charset(headers: Mapping[str, str] | str | None) -> str | None:
    """Return the codec named by a Content-Type header (or a headers mapping), or None."""
    match = _HEADER_CHARSET.search(_content_type(headers))
    return normalize_label(match.group(1)) if match else None


def declared_charset(body: bytes, html: bool = True) -> str | None:
    """Return the codec the document declares itself (XML prolog, or an HTML meta tag), or None."""
    head = body[: META_SCAN_BYTES if html else 512]
    match = _XML_DECL.match(head) or (_META_CHARSET.search(head) if html else None)
    return normalize_label(match.group(1).decode("ascii", "ignore")) if match else None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        if codec == "cp1252":
            # Five bytes are undefined in windows-1252; map them as latin-1 does.
            return body.decode("latin-1")
        return None


def _mostly_utf8(body: bytes, declared_utf8: bool) -> Decoded | None:
    """Return UTF-8 text with invalid bytes replaced when the bytes are UTF-8 with a few errors."""
    escaped = body.decode("utf-8", errors="surrogateescape")
    runs = _ESCAPED.findall(escaped)
    bad = sum(len(r) for r in runs)
    valid = len(_NON_ASCII.findall(escaped, 0, len(escaped)))
    # Legacy single-byte text almost never forms valid multi-byte UTF-8 sequences, so decoded
    # non-ASCII characters outnumbering the errors is strong evidence of UTF-8.
    if (valid and valid >= bad) or (declared_utf8 and bad <= DECLARED_UTF8_SLACK):
        return Decoded(_ESCAPED.sub("\ufffd", escaped), "utf-8", bad)
    return None


def _guess(body: bytes, declared: list[str]) -> Decoded:
    """Return the body decoded by a statistical guess, else the label or cp1252."""
    from charset_normalizer import from_bytes  # comes with requests (praw)

    matches = list(from_bytes(body[:DETECT_BYTES]))
    choice = None
    if matches:
        best = min(m.chaos for m in matches)
        # Short Western text fits several single-byte codecs equally well; windows-1252 is
        # the web's legacy default (WHATWG), so it wins a near tie.
        close = [normalize_label(m.encoding) for m in matches if m.chaos <= best + 0.05]
        choice = "cp1252" if "cp1252" in close else normalize_label(matches[0].encoding)
    for codec in (choice, *[c for c in declared if not c.startswith("utf")], "cp1252"):
        text = _strict(body, codec) if codec and not codec.startswith("utf") else None
        if text is not None:
            return Decoded(text, codec)
    return Decoded(body.decode("cp1252", errors="replace"), "cp1252")


def decode(
    body: bytes, headers: Mapping[str, str] | str | None = None, html: bool = True
) -> Decoded:
    """Return the body as text with the codec used and the count of replaced invalid bytes."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(name, errors="replace"), name)
    declared = [c for c in (header_charset(headers), declared_charset(body, html)) if c]
    if body[:2] in (b"\x00<", b"<\x00"):
        return _wide(body, headers)
    seven_bit = next((c for c in declared if c.startswith(_SEVEN_BIT)), None)
    if seven_bit:
        return Decoded(body.decode(seven_bit, errors="replace"), seven_bit)
    # Valid UTF-8 with non-ASCII bytes is almost never an accident of a legacy charset, so
    # it beats a contradicting label (the usual cause of mojibake in the wild).
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    repaired = _mostly_utf8(body, "utf-8" in declared)
    if repaired is not None:
        return repaired
    for codec in declared:
        if not codec.startswith("utf"):
            text = _strict(body, codec)
            if text is not None:
                return Decoded(text, codec)
    return _guess(body, declared)


def _wide(body: bytes, headers: Mapping[str, str] | str | None) -> Decoded:
    """Return UTF-16/32 text that came without a BOM (its labels read with the NULs removed)."""
    header = _HEADER_CHARSET.search(_content_type(headers))
    prolog = _XML_DECL.match(body[:512].replace(b"\x00", b""))
    for label in (
        header.group(1) if header else None,
        prolog.group(1).decode() if prolog else None,
    ):
        try:
            codec = codecs.lookup(label).name if label else ""
        except LookupError:
            continue
        if codec.startswith(("utf-16-", "utf-32-")):
            return Decoded(body.decode(codec, errors="replace"), codec)
    codec = "utf-16-be" if body[0] == 0 else "utf-16-le"
    return Decoded(body.decode(codec, errors="replace"), codec)


def decode_feed(body: bytes, content_type: str = "") -> Decoded:
    """Return feed text without XML-illegal characters and with its prolog saying UTF-8."""
    found = decode(body, content_type, html=False)
    text = _PROLOG_TEXT.sub(r"\1\2utf-8\2", _XML_ILLEGAL.sub("", found.text), count=1)
    return Decoded(text, found.codec, found.replaced)


def decode_feed_text(body: bytes, content_type: str = "") -> str:
    """Return feed text ready for the XML parser (see decode_feed)."""
    return decode_feed(body, content_type).text


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Return (text, codec) for an HTML body, never raising on bad bytes."""
    found = decode(body, headers)
    return found.text, found.codec
