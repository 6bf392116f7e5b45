"""choose_text(): the page when usable, else feed text, Reddit self-text or discussion, marked."""

from __future__ import annotations

from pathlib import Path

from aggregator.extract.article import Extraction, ItemText, choose_text, extract

PAGES = Path(__file__).parents[2] / "fixtures" / "pages"
LONG_FEED = "<p>" + " ".join(f"word{i}" for i in range(300)) + "</p>"
SHORT_FEED = "<p>A short teaser of the story in the feed.</p>"


def article_page() -> Extraction:
    body = (PAGES / "boilerplate_heavy_article.html").read_bytes()
    return extract(body, "https://ledger.example/ferry", {"content-type": "text/html"})


def test_choose_text_prefers_a_good_page() -> None:
    chosen = choose_text(article_page(), ItemText(title="t", summary=SHORT_FEED))
    assert chosen.method == "trafilatura"
    assert chosen.error is None
    assert "Port Elwen" in chosen.text


def test_choose_text_script_only_page_uses_feed_text_and_marks_it() -> None:
    shell = extract((PAGES / "script_only_page.html").read_bytes(), "https://app.example/", {})
    chosen = choose_text(shell, ItemText(title="Story", content_html=LONG_FEED))
    assert chosen.method == "feed-short-page"
    assert chosen.error == "extract: page text too short (0 words)"
    assert chosen.text.startswith("word0 word1") and chosen.word_count == 300


def test_choose_text_paywall_teaser_loses_to_full_feed_text() -> None:
    teaser = Extraction(text=" ".join(["teaser"] * 80), method="trafilatura")
    chosen = choose_text(teaser, ItemText(content_html=LONG_FEED))
    assert chosen.method == "feed-short-page" and chosen.word_count == 300


def test_choose_text_short_page_beats_shorter_feed() -> None:
    page = Extraction(text="Twenty words " * 10, method="trafilatura")
    chosen = choose_text(page, ItemText(summary=SHORT_FEED))
    assert chosen.text == page.text and chosen.error.startswith("extract: page text too short")


def test_choose_text_fetch_error_keeps_feed_text_and_records_error() -> None:
    chosen = choose_text(
        None, ItemText(content_html=LONG_FEED, summary=SHORT_FEED), "fetch: x: timed out"
    )
    assert chosen.method == "feed" and chosen.word_count == 300
    assert chosen.error == "fetch: x: timed out"


def test_choose_text_feed_summary_when_content_missing() -> None:
    chosen = choose_text(None, ItemText(summary="<p>Only a summary.</p><p>Second part.</p>"))
    assert chosen.text == "Only a summary.\n\nSecond part." and chosen.method == "feed"


def test_choose_text_reddit_self_post_uses_selftext() -> None:
    item = ItemText(kind="self", engagement={"selftext": "My long question. " * 30})
    chosen = choose_text(None, item)
    assert chosen.method == "reddit-selftext" and chosen.word_count == 90


def test_choose_text_reddit_short_self_post_never_adds_the_comments() -> None:
    item = ItemText(
        kind="self",
        engagement={
            "selftext": "Thoughts on the new model?",
            "top_comments": [{"body": "It is fast.", "score": 10}, "Plain string comment."],
        },
    )
    chosen = choose_text(None, item)
    assert chosen.method == "reddit-selftext" and chosen.text == "Thoughts on the new model?"


def test_choose_text_reddit_self_post_body_from_the_feed_content() -> None:
    item = ItemText(kind="self", content_html="<p>Our own post body, long enough.</p>")
    chosen = choose_text(None, item)
    assert chosen.text == "Our own post body, long enough." and chosen.method == "reddit-selftext"


def test_choose_text_reddit_link_post_never_falls_back_to_comments() -> None:
    item = ItemText(kind="link", engagement={"top_comments": [{"body": "Paper link is broken."}]})
    chosen = choose_text(None, item, "fetch: x: HTTP 404")
    assert chosen.method == "none" and chosen.text == ""
    assert chosen.error == "fetch: x: HTTP 404"


def test_choose_text_nothing_at_all_is_an_error_not_a_crash() -> None:
    chosen = choose_text(
        Extraction(method="empty", error="extract: empty body"), ItemText(title="T")
    )
    assert chosen.text == "" and chosen.method == "none"
    assert chosen.error == "extract: empty body"
    assert choose_text(None, ItemText()).error == "extract: no text in the page or the item"


def test_choose_text_skipped_type_uses_feed() -> None:
    skipped = Extraction(method="skipped", error="extract: unsupported content type image/png")
    chosen = choose_text(skipped, ItemText(summary=SHORT_FEED))
    assert chosen.method == "feed" and chosen.error == skipped.error
