"""Pure helpers of the extract stage: which URLs are fetched, and extract() never raising."""

from __future__ import annotations

import pytest

import aggregator.extract.article as extract_module
from aggregator.extract.article import ItemText, extract
from aggregator.extract.stage import Work, fetchable


@pytest.mark.parametrize(
    ("url", "kind", "reason"),
    [
        ("https://news.example/a", "feed", None),
        ("https://news.example/a", "link", None),
        ("https://www.reddit.com/r/x/comments/1", "self", "self post"),
        ("https://i.redd.it/abc.jpeg", "link", "media link"),
        ("https://cdn.example/clip.MP4", "link", "media link"),
        (None, "feed", "no article URL"),
        ("mailto:a@b.example", "feed", "no article URL"),
    ],
)
def test_fetchable_reasons(url: str | None, kind: str, reason: str | None) -> None:
    work = Work(job_id=1, item_id=1, url=url, attempts=1, item=ItemText(kind=kind))
    assert fetchable(work) == reason


def test_extract_parser_failure_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str, url: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(extract_module, "extract_html", broken)
    result = extract(b"<html><body><p>x</p></body></html>", "https://x.example/", {})
    assert result.method == "error"
    assert result.error == "extract: RecursionError: maximum recursion depth exceeded"
