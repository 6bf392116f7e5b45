"""extract(): main text, metadata and charsets of pages written for the project."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.extract import extract
from aggregator.extract import html as html_module
from tests.unit.extract.pdf_maker import PAPER_PAGES, make_pdf

PAGES = Path(__file__).parents[2] / "fixtures" / "pages"
HTML = {"content-type": "text/html"}
BOILERPLATE = (
    "cookies",
    "Most read",
    "Subscribe today",
    "All rights reserved",
    "newsletter",
    "Who is paying",
    "Ferry timetable changes",
    "Share on social",
)


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def test_extract_boilerplate_heavy_page_keeps_article_paragraphs() -> None:
    result = extract(page("boilerplate_heavy_article.html"), "https://ledger.example/ferry", HTML)
    expected = (PAGES / "boilerplate_heavy_article.expected.txt").read_text(encoding="utf-8")
    paragraphs = result.text.split("\n\n")
    for paragraph in expected.strip().split("\n\n"):
        assert paragraph in paragraphs  # whole paragraphs, separated by blank lines
    for noise in BOILERPLATE:
        assert noise not in result.text
    assert result.method == "trafilatura"


def test_extract_boilerplate_heavy_page_metadata() -> None:
    result = extract(page("boilerplate_heavy_article.html"), "https://ledger.example/ferry", HTML)
    assert result.title == "Harbor town votes to keep its night ferry"
    assert result.author == "Mira Okafor"
    assert result.published_at == datetime(2026, 3, 4, 17, 30, tzinfo=UTC)
    assert result.site_name == "The Coastal Ledger"
    assert result.language == "en"
    assert 190 < result.word_count < 240  # the article and its headline, nothing else
    assert result.content_hash and len(result.content_hash) == 64


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("latin1_charset_in_header_only.html", {"Content-Type": "text/html; charset=ISO-8859-1"}),
        ("latin1_meta_charset.html", HTML),
    ],
)
def test_extract_latin1_page_decodes_umlauts(name: str, headers: dict[str, str]) -> None:
    result = extract(page(name), "https://insel.example/hoernum", headers)
    assert result.title == "Hörnum baut den alten Fähranleger um"
    assert "Bürgermeisterin Jördis Möller" in result.text
    assert "Hälfte" in result.text and "außerdem" in result.text
    assert "\ufffd" not in result.text and "Ã" not in result.text
    assert result.language == "de"


@pytest.mark.parametrize(
    "name",
    [
        "windows1252_meta_charset.html",
        "windows1252_meta_charset_after_1k.html",
        "windows1252_undeclared.html",
    ],
)
def test_extract_windows1252_page_decodes_quotes_and_euro(name: str) -> None:
    result = extract(page(name), "https://city.example/budget", HTML)
    assert (
        "The city’s new budget sets aside €3.2 million for cycle lanes — the largest" in result.text
    )
    assert "“a turning point for how people get around.”" in result.text
    assert "\ufffd" not in result.text and "â€" not in result.text


def test_extract_meta_charset_really_is_after_first_kib() -> None:
    body = page("windows1252_meta_charset_after_1k.html")
    assert body.index(b"charset=windows-1252") > 1024
    assert b"charset" not in body[:1024]


def test_extract_header_charset_wins_over_meta() -> None:
    body = page("latin1_meta_charset.html").replace(b"ISO-8859-1", b"utf-8")
    result = extract(body, "https://x.example/", {"content-type": "text/html; charset=latin-1"})
    assert "Bürgermeisterin Jördis Möller" in result.text


def test_extract_empty_body_is_marked_not_raised() -> None:
    for body in (b"", b"   \n  "):
        result = extract(body, "https://x.example/empty", HTML)
        assert result.text == ""
        assert result.method == "empty"
        assert result.error == "extract: empty body"


def test_extract_script_only_page_has_no_text() -> None:
    result = extract(page("script_only_page.html"), "https://app.example/story/8812", HTML)
    assert result.text == ""
    assert result.word_count == 0 and result.content_hash is None
    assert "INITIAL_STATE" not in result.text


def test_extract_huge_body_at_cap_finds_article_after_scripts() -> None:
    cap = 15 * 1024 * 1024  # the fetcher's default max_body_bytes
    article = "".join(
        f"<p>Paragraph {i}: the harbor council minutes record vote {i * 7} on budget line {i}.</p>"
        for i in range(40)
    )
    tail = f"</script></head><body><article>{article}</article></body></html>".encode()
    head = b"<html><head><title>Minutes</title><script>"
    body = head + b"var a=1;" * ((cap - len(head) - len(tail)) // 8) + tail
    assert cap - 8 < len(body) <= cap
    started = time.perf_counter()
    result = extract(body, "https://x.example/minutes", HTML)
    assert time.perf_counter() - started < 5
    assert "Paragraph 39: the harbor council minutes record vote 273" in result.text


def test_extract_cuts_oversized_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_module, "MAX_HTML_CHARS", 20_000)
    paragraphs = "".join(
        f"<p>Line number {i} of a very long page body text.</p>" for i in range(3000)
    )
    result = extract(
        f"<html><body><article>{paragraphs}</article></body></html>".encode(),
        "https://x.example/long",
        HTML,
    )
    assert "Line number 10 " in result.text
    assert "Line number 2999 " not in result.text


def test_extract_pdf_text_title_and_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    body = make_pdf(PAPER_PAGES, title="Sparse Routing for Small Language Models", author="A. Tamm")
    result = extract(
        body, "https://arxiv.example/pdf/2603.01234", {"content-type": "application/pdf"}
    )
    assert result.method == "pdf"
    assert result.title == "Sparse Routing for Small Language Models"
    assert result.author == "A. Tamm"
    assert "We propose a balancing loss that keeps every expert in use." in result.text
    assert "\n\n2 Method\n\n" in result.text
    monkeypatch.setattr("aggregator.extract.pdf.MAX_PDF_PAGES", 2)
    from aggregator.extract import pdf

    capped = pdf.extract_pdf(body, max_pages=2)
    assert capped.pages == 3 and capped.pages_read == 2
    assert "Appendix pages follow" not in capped.text


def test_extract_pdf_detected_without_content_type() -> None:
    result = extract(
        make_pdf([["Hello from a PDF served as octet-stream."]]), "https://x.example/f", {}
    )
    assert result.method == "pdf" and "Hello from a PDF" in result.text


def test_extract_broken_pdf_reports_error() -> None:
    result = extract(
        b"%PDF-1.4\nthis is not really a pdf",
        "https://x.example/bad.pdf",
        {"content-type": "application/pdf"},
    )
    assert result.method == "pdf" and result.text == ""
    assert result.error and result.error.startswith("extract: unreadable PDF")


@pytest.mark.parametrize("kind", ["image/png", "video/mp4", "application/zip"])
def test_extract_other_types_are_skipped_with_reason(kind: str) -> None:
    result = extract(b"\x89PNG\r\n\x1a\n....", "https://x.example/file", {"Content-Type": kind})
    assert result.method == "skipped"
    assert result.error == f"extract: unsupported content type {kind}"


def test_extract_plain_text_keeps_paragraphs() -> None:
    body = "First paragraph line.\n\nSecond paragraph, café.\n".encode()
    result = extract(body, "https://x.example/a.txt", {"content-type": "text/plain; charset=utf-8"})
    assert result.text == "First paragraph line.\n\nSecond paragraph, café."
    assert result.method == "plain"
