"""The local server speaks UTF-8; the publish queries work on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from aggregator.config import output_dir
from aggregator.context import Context
from aggregator.publish.server import serve_site
from aggregator.publish.stage import export_records, run_publish
from tests.integration.publish.conftest import SiteFactory

pytestmark = pytest.mark.integration


def test_serve_site_sends_utf8_and_the_404_page(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>💡 日本語</p>", encoding="utf-8")
    (tmp_path / "404.html").write_text("<p>lost</p>", encoding="utf-8")
    with serve_site(tmp_path) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "index.html", timeout=5) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.read().decode("utf-8") == "<p>💡 日本語</p>"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(server.url + "nope/", timeout=5)
        assert error.value.code == 404 and error.value.read() == b"<p>lost</p>"


def test_publish_and_export_on_each_backend(pub_any_ctx: Context) -> None:
    factory = SiteFactory(pub_any_ctx)
    first = factory.story("Один 💡", topics=[("evaluation", 0.9)])
    factory.story(
        "Two",
        related=[first],
        items=[
            {"source": "Blog", "url": "https://b.example/2"},
            {
                "source": "r/ML",
                "kind": "reddit",
                "url": "https://redd.it/2",
                "engagement": {"score": 7, "num_comments": 3, "permalink": "/r/ML/comments/2/"},
            },
        ],
    )
    report = run_publish(pub_any_ctx)
    assert report.failed == 0 and report.succeeded == 2, report.errors
    site = output_dir(pub_any_ctx.settings)
    index = json.loads((site / "api/items.json").read_text(encoding="utf-8"))
    assert [i["title"] for i in index["items"]] == ["Один 💡", "Two"]
    assert index["items"][1]["engagement"]["comments"] == 3
    assert index["items"][1]["related"] == [index["items"][0]["id"]]
    with pub_any_ctx.session() as session:
        assert export_records(session, settings=pub_any_ctx.settings) == index["items"]
