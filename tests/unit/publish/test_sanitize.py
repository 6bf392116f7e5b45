"""Outside text and URLs are made safe before they reach a page."""

from __future__ import annotations

import pytest

from aggregator.publish.sanitize import clean_html, clean_text, safe_url
from aggregator.slugs import slugify


def test_clean_text_removes_bidi_overrides_and_controls() -> None:
    hostile = "admin\u202e\u2066txt.exe\u2069\x00\x07 ok\x1b"
    assert clean_text(hostile) == "admintxt.exe ok"


def test_clean_text_keeps_emoji_and_non_latin_text() -> None:
    text = "💡 Второй 日本語 العربية ✓"
    assert clean_text(text) == text


def test_clean_text_single_line_folds_whitespace() -> None:
    assert clean_text(" a\n\n b\tc ", single_line=True) == "a b c"


def test_clean_text_replaces_lone_surrogates() -> None:
    assert clean_text("a\ud800b").encode("utf-8") == b"a?b"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "/relative/path",
        "//evil.example/x",
        "http://",
        "https://ex ample.org/",
        'https://a.org/"onmouseover=x',
        "java\u202escript:alert(1)",
        None,
        42,
    ],
)
def test_safe_url_rejects_everything_but_absolute_http_and_mailto(url: object) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a?b=1#c",
        "http://127.0.0.1:8000/",
        "mailto:editor@example.org",
    ],
)
def test_safe_url_accepts_http_https_mailto(url: str) -> None:
    assert safe_url(url) == url


def test_clean_html_strips_scripts_handlers_and_bad_links() -> None:
    dirty = (
        '<p onclick="x()">Hi<script>alert(1)</script><img src=x onerror=alert(1)>'
        '<a href="javascript:alert(1)">js</a><a href="https://ok.example/">ok</a>'
        '<iframe srcdoc="<script>x</script>"></iframe><svg><script>x</script></svg>'
        '<math><mi xlink:href="javascript:x">m</mi></math>'
        '<form><button formaction="javascript:x">b</button></form>'
        '<div style="width:expression(alert(1))">css</div></p>'
    )
    clean = clean_html(dirty)
    for bad in (
        "script",
        "onclick",
        "onerror",
        "javascript",
        "iframe",
        "srcdoc",
        "svg",
        "math",
        "formaction",
        "expression",
        "<img",
        "style=",
    ):
        assert bad not in clean.lower()
    assert '<a href="https://ok.example/" rel="nofollow noopener noreferrer">ok</a>' in clean
    assert "Hi" in clean and "css" in clean


def test_slugify_makes_path_safe_ascii_slugs() -> None:
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("Café Déjà Vu!") == "cafe-deja-vu"
    assert slugify("日本語", fallback="x") == "x"
    assert len(slugify("a" * 500)) == 80
