"""decode_html(): BOM, HTTP charset, page declaration, then detection; never raises."""

from __future__ import annotations

import codecs

import pytest

from aggregator.extract.decode import declared_charset, decode_html, normalize_label

TEXT = "Grüße aus Köln – “Anführungszeichen” kosten 5 €."


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("ISO-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("US-ASCII", "cp1252"),
        ("windows-1252", "cp1252"),
        ("UTF-8", "utf-8"),
        ("utf-16", "utf-8"),
        ("koi8-r", "koi8-r"),
        ("no-such-charset", None),
        ("", None),
    ],
)
def test_decode_normalize_label_follows_whatwg(label: str, codec: str | None) -> None:
    assert normalize_label(label) == codec


def test_decode_bom_wins_over_everything() -> None:
    body = codecs.BOM_UTF8 + TEXT.encode("utf-8")
    text, codec = decode_html(body, {"content-type": "text/html; charset=windows-1252"})
    assert (text, codec) == (TEXT, "utf-8")


def test_decode_utf16_with_bom() -> None:
    text, _ = decode_html(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"))
    assert text == TEXT


def test_decode_http_charset_before_meta() -> None:
    body = ('<meta charset="utf-8">' + TEXT).encode("cp1252")
    text, codec = decode_html(body, {"Content-Type": "text/html; charset=windows-1252"})
    assert codec == "cp1252" and TEXT in text


def test_decode_meta_charset_when_header_has_none() -> None:
    body = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">' + TEXT
    text, codec = decode_html(body.encode("cp1252"), {"content-type": "text/html"})
    assert codec == "cp1252" and TEXT in text


def test_decode_xml_declaration() -> None:
    body = ('<?xml version="1.0" encoding="ISO-8859-1"?><html><p>Köln</p></html>').encode("latin-1")
    assert declared_charset(body) == "cp1252"
    assert "Köln" in decode_html(body)[0]


def test_decode_wrong_declaration_falls_back() -> None:
    # Declared UTF-8 but really windows-1252: strict UTF-8 fails, detection takes over.
    body = ('<meta charset="utf-8"><p>' + TEXT * 5 + "</p>").encode("cp1252")
    text, _ = decode_html(body)
    assert "Köln" in text and "\ufffd" not in text


def test_decode_undeclared_utf8() -> None:
    text, codec = decode_html(("<p>" + TEXT + "</p>").encode("utf-8"))
    assert codec == "utf-8" and TEXT in text


def test_decode_undefined_cp1252_bytes_do_not_raise() -> None:
    text, _ = decode_html(b'<meta charset="windows-1252"><p>a\x81b\x9dc</p>')
    assert text.startswith("<meta") and "a" in text
