"""Text helpers: HTML fragments to paragraphs, normalized hashes, language guesses, metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import html

from aggregator.extract.metadata import page_metadata, parse_date
from aggregator.extract.text import content_hash, guess_language, html_to_text, normalize_text


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    fragment = "<p>One <b>bold</b> line.</p><script>x()</script><!-- note --><ul><li>A</li><li>B</li></ul>tail"
    assert html_to_text(fragment) == "One bold line.\n\nA\n\nB\n\ntail"


def test_html_to_text_plain_and_empty() -> None:
    assert html_to_text("Just text\r\nsecond line") == "Just text\n\nsecond line"
    assert html_to_text(None) == "" and html_to_text("  ") == ""


def test_content_hash_ignores_case_spacing_and_punctuation() -> None:
    assert content_hash("Hello,  World!\n\nBye.") == content_hash("hello world bye")
    assert content_hash("hello world") != content_hash("hello there")
    assert content_hash("  ...  ") is None
    assert normalize_text("Ｆｕｌｌwidth Café") == "fullwidth café"


def test_guess_language_needs_enough_words() -> None:
    english = (
        "The council said that it was time for the town to vote on the ferry and the wall. " * 3
    )
    german = (
        "Die Gemeinde hat beschlossen, dass der Platz nicht mit einem Zaun und eine Mauer auf den Weg zu bauen ist. "
        * 3
    )
    assert guess_language(english) == "en"
    assert guess_language(german) == "de"
    assert guess_language("too short") is None


def test_parse_date_forms() -> None:
    assert parse_date("2026-03-04T18:30:00+01:00") == datetime(2026, 3, 4, 17, 30, tzinfo=UTC)
    assert parse_date("2026-03-04T17:30:00Z") == datetime(2026, 3, 4, 17, 30, tzinfo=UTC)
    assert parse_date("Wed, 04 Mar 2026 17:30:00 GMT") == datetime(2026, 3, 4, 17, 30, tzinfo=UTC)
    assert parse_date("yesterday") is None and parse_date("1701-01-01") is None


def test_page_metadata_from_json_ld() -> None:
    page = """<html lang="en-GB"><head><title>Chips ban widens - Policy Brief</title>
    <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "name": "ignored"},
      {"@type": "NewsArticle", "headline": "Chips ban widens", "datePublished": "2026-01-05T09:00:00Z",
       "author": [{"@type": "Person", "name": "Ana Ruiz"}, {"@type": "Person", "name": "Li Wei"}],
       "publisher": {"@type": "Organization", "name": "Policy Brief"}}]}</script>
    </head><body><p>x</p></body></html>"""
    meta = page_metadata(html.document_fromstring(page), page, "https://brief.example/a")
    assert meta.title == "Chips ban widens"
    assert meta.author == "Ana Ruiz, Li Wei"
    assert meta.published_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert meta.site_name == "Policy Brief"
    assert meta.language == "en"


def test_page_metadata_bad_json_ld_and_bare_page() -> None:
    page = '<html><head><script type="application/ld+json">{not json</script></head><body><h1>Bare</h1></body></html>'
    meta = page_metadata(html.document_fromstring(page), page, "https://bare.example/x")
    assert meta.title == "Bare" and meta.author is None and meta.published_at is None
    assert meta.site_name == "bare.example"
