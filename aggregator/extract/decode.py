"""Bytes to text: BOM, then the HTTP charset, then the page's own declaration, then detection."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

# A page may declare its charset anywhere in the head; browsers stop at 1 KiB, but
# real pages put long scripts first, so look further (bounded, to stay cheap).
META_SCAN_BYTES = 64 * 1024
DETECT_BYTES = 64 * 1024

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:\-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:\-]+)", re.I)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:\-]+)", re.I)
# WHATWG Encoding: these labels all mean windows-1252 on the web.
_WINDOWS_1252_LABELS = {
    "iso-8859-1",
    "iso8859-1",
    "latin1",
    "latin-1",
    "l1",
    "us-ascii",
    "ascii",
    "cp819",
    "ibm819",
    "iso-ir-100",
    "windows-1252",
    "cp1252",
    "x-cp1252",
}


def normalize_label(label: str | None) -> str | None:
    """Return a Python codec name for a charset label, or None when it is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    if label in ("utf-16", "utf-16le", "utf-16be", "unicode"):
        # A byte stream that reached the meta scan as ASCII cannot really be UTF-16 (WHATWG).
        return "utf-8"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(headers: Mapping[str, str] | None) -> str | None:
    """Return the codec named by a Content-Type header, or None."""
    if not headers:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    match = _HEADER_CHARSET.search(content_type or "")
    return normalize_label(match.group(1)) if match else None


def declared_charset(body: bytes) -> str | None:
    """Return the codec declared by the page itself (XML declaration or meta tag), or None."""
    head = body[:META_SCAN_BYTES]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return normalize_label(match.group(1).decode("ascii", "ignore")) if match else None


def _decode_strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        if codec == "cp1252":
            # Five bytes are undefined in windows-1252; map them as latin-1 does.
            return body.decode("latin-1")
        return None


def detected_charset(body: bytes) -> str | None:
    """Return the most likely codec of undeclared bytes (charset-normalizer), or None."""
    from charset_normalizer import from_bytes

    best = from_bytes(body[:DETECT_BYTES]).best()
    return normalize_label(best.encoding) if best else None


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Return (text, codec) for an HTML body, never raising on bad bytes."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace"), codec
    tried: list[str] = []
    for codec in (header_charset(headers), declared_charset(body), "utf-8"):
        if codec and codec not in tried:
            tried.append(codec)
            text = _decode_strict(body, codec)
            if text is not None:
                return text, codec
    guess = detected_charset(body) or "cp1252"
    text = _decode_strict(body, guess)
    if text is None:
        guess, text = "cp1252", body.decode("cp1252", errors="replace")
    return text, guess
