"""The one charset decoder (aggregator.charset): BOM, UTF-8 with repairs, labels, detection."""

from __future__ import annotations

import codecs

import pytest

from aggregator.charset import declared_charset, decode, decode_html, normalize_label

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


# Problem 3 of issue 19: one invalid byte in UTF-8 garbled the whole text into mojibake.
def test_charset_one_bad_byte_keeps_utf8_and_counts_it() -> None:
    body = "<p>Café 💡 naïve</p>".encode() + b"\xff" + "<p>Grüße</p>".encode()
    found = decode(body, {"content-type": "text/html; charset=utf-8"})
    assert found.codec == "utf-8" and found.replaced == 1
    assert "Café 💡 naïve" in found.text and "Grüße" in found.text and "\ufffd" in found.text
    assert found.warning("extract", "https://x.test/") == (
        "extract: https://x.test/: 1 invalid utf-8 byte(s) replaced with U+FFFD"
    )


def test_charset_undeclared_utf8_with_bad_bytes_is_sniffed() -> None:
    body = ("Ελληνικά και Café " * 3).encode() + b"\xc3\x28 end"
    found = decode(body)
    assert found.codec == "utf-8" and found.replaced == 1 and "Ελληνικά" in found.text


def test_charset_declared_utf8_ascii_with_a_stray_byte_stays_utf8() -> None:
    found = decode(b"<meta charset='utf-8'><p>plain text \x92 here</p>")
    assert found.codec == "utf-8" and found.replaced == 1


def test_charset_single_byte_guess_only_when_not_utf8_at_all() -> None:
    body = ("<p>" + TEXT * 3 + "</p>").encode("cp1252")
    found = decode(body, {"content-type": "text/html; charset=utf-8"})
    assert found.codec.startswith("cp125") and TEXT in found.text and found.replaced == 0


def test_charset_feed_with_bad_byte_warns_and_keeps_text() -> None:
    from aggregator.collect.rss import parse_feed

    title = "Café 💡 à la carte".encode()
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>" + title + b"\xfe</title><link>https://a.test/1</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, "https://a.test/feed", {"Content-Type": "application/rss+xml"})
    assert feed.entries[0].title.startswith("Café 💡 à la carte")
    assert feed.warning and "1 invalid utf-8 byte(s) replaced" in feed.warning


def test_charset_both_stages_use_the_one_decoder() -> None:
    import aggregator.collect.rss as rss
    import aggregator.extract.article as article

    assert rss.decode_feed.__module__ == article.decode.__module__ == "aggregator.charset"
