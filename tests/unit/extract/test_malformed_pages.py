"""Malformed pages keep their article: unclosed asides, broken script tags, posts in <noscript>."""

from __future__ import annotations

from aggregator.extract import extract
from aggregator.extract.html import strip_heavy

HTML = {"Content-Type": "text/html; charset=utf-8"}
PARAGRAPHS = "".join(
    f"<p>Paragraph {n} of the harbour survey explains how the tide gauges drifted, why the crew "
    f"recalibrated them each spring, and what the new readings mean for the quay repairs.</p>"
    for n in range(1, 9)
)


def _page(body: str, head: str = "") -> bytes:
    return (
        f"<html><head><title>Harbour survey</title>{head}</head><body>{body}</body></html>".encode()
    )


def test_article_inside_an_unclosed_aside_is_kept() -> None:
    body = f"<nav><a href='/'>Home</a></nav><aside><p>Related links</p><div>{PARAGRAPHS}</div>"
    result = extract(_page(body), "https://harbour.example/survey", HTML)
    assert "Paragraph 1 of the harbour survey" in result.text
    assert "Paragraph 8 of the harbour survey" in result.text


def test_article_inside_header_and_nav_is_kept() -> None:
    body = f"<header><nav><ul><li>Menu</li></ul><article>{PARAGRAPHS}</article></nav></header>"
    result = extract(_page(body), "https://harbour.example/survey", HTML)
    assert "Paragraph 5 of the harbour survey" in result.text


def test_script_without_closing_bracket_does_not_swallow_the_page() -> None:
    html = f"<p>Intro.</p><script>var a = 1;</script <div>{PARAGRAPHS}</div><script>b()</script>"
    assert "Paragraph 3 of the harbour survey" in strip_heavy(html)
    assert strip_heavy("<p>a</p><script>x()</script><p>b</p>") == "<p>a</p> <p>b</p>"


def test_post_in_noscript_is_kept_but_a_javascript_notice_is_not() -> None:
    page = _page(f"<div id='app'></div><noscript>{PARAGRAPHS}</noscript>")
    assert "Paragraph 2 of the harbour survey" in extract(page, "https://h.example/p", HTML).text
    notice = strip_heavy("<noscript><p>Please enable JavaScript to read this.</p></noscript>")
    assert "enable JavaScript" not in notice


def test_author_from_visible_byline_when_meta_tags_have_none() -> None:
    body = f"<article><p class='byline'>By Ingrid Solberg | March 3, 2026</p>{PARAGRAPHS}</article>"
    result = extract(_page(body), "https://harbour.example/survey", HTML)
    assert result.author == "Ingrid Solberg"
    form = f"<article>{PARAGRAPHS}</article><form><label class='author'>Name *</label></form>"
    assert extract(_page(form), "https://harbour.example/survey", HTML).author is None
