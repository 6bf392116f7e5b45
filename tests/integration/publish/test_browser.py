"""The built site in a real headless Chromium: hostile input runs no script, no CSP violations,
landmarks present; screenshots are kept as build artifacts (not in git)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.context import Context
from aggregator.publish.search import index_site, pagefind_executable
from aggregator.publish.server import serve_site
from aggregator.publish.stage import run_publish
from tests.integration.publish.cdp import Chromium, chromium_path
from tests.integration.publish.conftest import make_card

pytestmark = [pytest.mark.integration, pytest.mark.browser]
if chromium_path() is None:
    pytestmark.append(
        pytest.mark.skip(reason="Debian's chromium is not installed (/usr/bin/chromium)")
    )

ARTIFACTS = (
    Path(os.environ.get("AGGREGATOR_ARTIFACTS", Path(__file__).resolve().parents[3] / "artifacts"))
    / "screenshots"
)
MARK = "window.__pwned=1"
HOSTILE = [
    f"<script>{MARK}</script>",
    f'<img src=x onerror="{MARK}">',
    f'<svg onload="{MARK}"><script>{MARK}</script></svg>',
    f'<math><mtext><a xlink:href="javascript:{MARK}">m</a></mtext></math>',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    f'<form><button formaction="javascript:{MARK}">go</button></form>',
    '<div style="background:url(javascript:alert(1));width:expression(alert(1))">css</div>',
    f'</title></textarea><scr<script>ipt>{MARK}</script>"><body onload="{MARK}">',
    "\u202eevil\u202c \u2066trick\u2069",
]
EVIL = " ".join(HOSTILE)
JS_URL = f"javascript:{MARK}"
DATA_URL = "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+"


@pytest.fixture
def hostile_site(factory, pub_ctx: Context, site_dir: Path) -> Iterator[str]:
    """Build a site from feed items and a card carrying every trick; serve it; yield its URL."""
    point = {"text": EVIL[:590], "citations": [HOSTILE[0], HOSTILE[1]]}
    card = make_card(
        title=HOSTILE[1][:100],
        hook=HOSTILE[0][:160],
        key_takeaways=[point],
        technical_deep_dive=[point],
        future_implications=[point],
        entities=HOSTILE[:5],
        tldr={
            "what_changed": EVIL[:400],
            "why_it_matters": HOSTILE[7][:400],
            "what_to_do_next": HOSTILE[4][:400],
        },
    )
    first = factory.story("Plain neighbour 💡 日本語", slug="plain")
    factory.story(
        EVIL,
        card=card,
        slug="hostile",
        related=[first],
        items=[
            {"source": HOSTILE[0], "url": JS_URL, "title": EVIL, "author": HOSTILE[2]},
            {"source": "Data <b>feed</b>", "url": DATA_URL, "title": HOSTILE[5]},
            {
                "source": "r/evil",
                "kind": "reddit",
                "url": JS_URL,
                "engagement": {"score": 5, "comments": 1, "permalink": JS_URL},
            },
        ],
    )
    factory.recap(
        "2026-W47",
        EVIL[:200],
        {
            "intro": EVIL,
            "sections": [
                {"title": HOSTILE[0], "html": EVIL, "items": [{"title": HOSTILE[1], "text": EVIL}]}
            ],
            "what_to_watch": [HOSTILE[2]],
        },
    )
    report = run_publish(pub_ctx)
    assert report.failed == 0, report.errors
    with serve_site(site_dir) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """Return one headless Chromium shared by this module's tests (startup is the slow part)."""
    with Chromium(tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


PAGES = [
    "index.html",
    "items/2026/11/hostile/index.html",
    "items/2026/11/plain/index.html",
    "recaps/2026-W47/index.html",
    "archive/2026-W47/index.html",
    "topics/evaluation/index.html",
    "about/index.html",
    "subscribe/index.html",
]


def test_browser_hostile_input_runs_no_script(hostile_site: str, browser: Chromium) -> None:
    page = browser.new_page()
    for rel in PAGES:
        page.goto(hostile_site + rel)
        assert page.evaluate("window.__pwned === undefined"), rel
        assert (
            page.evaluate(
                "document.querySelectorAll('script, iframe, svg, math, form, object, "
                "embed, [onerror], [onload], [srcdoc], [formaction]').length"
            )
            == 0
        ), rel
        bad_links = page.evaluate(
            "[...document.querySelectorAll('a[href]')].map(a => a.href)"
            ".filter(h => !/^(https?:|mailto:)/.test(h))"
        )
        assert bad_links == [], (rel, bad_links)
        problems = [
            m for m in page.messages() if "Content Security Policy" in m or "exception" in m
        ]
        assert problems == [], (rel, problems)
    page.goto(hostile_site + "items/2026/11/hostile/index.html")
    title = page.evaluate("document.querySelector('h1').textContent")
    assert title.startswith("<img src=x onerror=")  # shown as text, not markup
    assert "\u202e" not in page.evaluate("document.body.textContent")


def test_browser_checks_can_fail(hostile_site: str, browser: Chromium, site_dir: Path) -> None:
    """Controls: an unprotected inline script does set the marker; under our CSP it is refused."""
    from aggregator.publish.render import CSP

    script = f"<script>{MARK}</script>"
    (site_dir / "control-open.html").write_text(f"<!doctype html><title>c</title>{script}")
    (site_dir / "control-csp.html").write_text(
        f'<!doctype html><meta http-equiv="Content-Security-Policy" content="{CSP}">{script}'
    )
    page = browser.new_page()
    page.goto(hostile_site + "control-open.html")
    assert page.evaluate("window.__pwned") == 1
    page.goto(hostile_site + "control-csp.html")
    assert page.evaluate("window.__pwned === undefined")
    assert any("Content Security Policy" in m for m in page.messages()), page.messages()


def test_browser_screenshots_and_landmarks(hostile_site: str, browser: Chromium) -> None:
    page = browser.new_page()
    for rel, name in (("index.html", "index"), ("items/2026/11/plain/index.html", "item")):
        page.goto(hostile_site + rel)
        landmarks = page.evaluate(
            "({banner: !!document.querySelector('header[role=banner]'),"
            " nav: !!document.querySelector('nav[aria-label]'),"
            " main: !!document.querySelector('main#main'),"
            " footer: !!document.querySelector('footer[role=contentinfo]'),"
            " h1: document.querySelectorAll('h1').length, lang: document.documentElement.lang,"
            " charset: document.characterSet, imgsWithoutAlt:"
            " document.querySelectorAll('img:not([alt])').length,"
            " css: getComputedStyle(document.body).fontFamily})"
        )
        assert (
            landmarks["banner"] and landmarks["nav"] and landmarks["main"] and landmarks["footer"]
        )
        assert (
            landmarks["h1"] == 1 and landmarks["lang"] == "en" and landmarks["charset"] == "UTF-8"
        )
        assert landmarks["imgsWithoutAlt"] == 0 and "system-ui" in landmarks["css"]
        page.screenshot(ARTIFACTS / f"{name}.png")
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
    assert page.evaluate("document.title") == "Plain neighbour 💡 日本語 · Signal"
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.call(
        "Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}]
    )
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light
    page.screenshot(ARTIFACTS / "item-dark.png")


@pytest.mark.skipif(pagefind_executable() is None, reason="pagefind binary not installed")
def test_browser_search_finds_stories_under_the_csp(
    hostile_site: str, browser: Chromium, site_dir: Path, pub_ctx: Context
) -> None:
    pub_ctx.settings.site.search = True
    run_publish(pub_ctx, search=False)  # adds the search page
    assert index_site(site_dir) is None
    page = browser.new_page()
    page.goto(hostile_site + "search/index.html?q=neighbour", settle=0.2)
    for _ in range(50):
        if page.evaluate("document.querySelectorAll('#search-results li').length") > 0:
            break
        browser.drain(0.2)
    links = page.evaluate("[...document.querySelectorAll('#search-results a')].map(a => a.href)")
    assert links == [hostile_site + "items/2026/11/plain/"]
    assert page.evaluate("window.__pwned === undefined")
    assert [m for m in page.messages() if "Content Security Policy" in m] == []
