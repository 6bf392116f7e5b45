"""Factories for the operations tests: stories ready to summarize, a generated news site."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Source, Story

WORDS = (
    "latency",
    "throughput",
    "checkpoint",
    "tokenizer",
    "cluster",
    "benchmark",
    "adapter",
    "quantization",
    "scheduler",
    "retrieval",
    "compiler",
    "dataset",
)


def article_text(n: int) -> str:
    """Return a distinct multi-paragraph article for story n (distinct words keep stories apart)."""
    a, b, c = WORDS[n % 12], WORDS[(n * 5 + 3) % 12], WORDS[(n * 7 + 1) % 12]
    return "\n\n".join(
        [
            f"Team {n} reported that its {a} work cut costs by {n % 40 + 5} percent this quarter.",
            f"The group said the {b} change shipped to {n * 3 + 10} customers after a long trial.",
            f"Engineers measured the {c} results on {n % 9 + 2} clusters before the release {n}.",
            f"Analysts expect rivals to respond to release {n} within {n % 6 + 2} months.",
        ]
    )


def add_stories(ctx: Context, count: int) -> list[int]:
    """Insert `count` stories (source, item, article) and queue them for summarizing."""
    now = utcnow()
    with ctx.session() as session:
        source = Source(name="Ops source", kind="rss", url="http://127.0.0.1/feed.xml")
        session.add(source)
        session.flush()
        ids = []
        for n in range(count):
            item = Item(
                source_id=source.id,
                guid_hash=f"{n:064x}",
                guid=str(n),
                url=f"http://127.0.0.1/a/{n}",
                canonical_url=f"http://127.0.0.1/a/{n}",
                title=f"Release {n} of the {WORDS[n % 12]} project",
                published_at=now - timedelta(hours=n % 100),
                kind="feed",
            )
            session.add(item)
            session.flush()
            session.add(
                Article(
                    item_id=item.id,
                    text=article_text(n),
                    word_count=60,
                    content_hash=f"{n:064x}",
                    method="test",
                )
            )
            story = Story(
                uid=f"{n:012x}",
                slug=f"release-{n}",
                title=item.title,
                primary_item_id=item.id,
                published_at=item.published_at,
                week=item.published_at.strftime("%G-W%V"),
            )
            session.add(story)
            session.flush()
            item.story_id = story.id
            ids.append(story.id)
        claims.enqueue(session, "summarize", ids)
    return ids


def aggregator_process(config: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `python -m aggregator --config CONFIG ARGS…` with a clean environment plus env."""
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGGREGATOR_", "OPENAI_", "REDDIT_"))
    }
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--config", str(config), *args],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class NewsSite:
    """A loopback site with `feeds` RSS feeds of `per_feed` items each, and their article pages."""

    def __init__(self, feeds: int, per_feed: int):
        self.feeds, self.per_feed = feeds, per_feed
        self.published = utcnow()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body, kind = site.page(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def page(self, path: str) -> tuple[bytes, str]:
        """Return the body and content type for a path (empty body: 404)."""
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n", "text/plain"
        if path.startswith("/feed/"):
            f = int(path.split("/")[2].split(".")[0])
            entries = "".join(self.entry(f * self.per_feed + i) for i in range(self.per_feed))
            xml = (
                f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Feed {f}</title><link>{self.base}/</link>{entries}</channel></rss>"
            )
            return xml.encode(), "application/rss+xml; charset=utf-8"
        if path.startswith("/a/"):
            n = int(path.split("/")[2])
            paragraphs = "".join(f"<p>{p}</p>" for p in article_text(n).split("\n\n"))
            html = (
                f"<html><head><meta charset='utf-8'><title>Release {n}</title></head><body>"
                f"<nav>Home | About</nav><article><h1>Release {n}</h1>{paragraphs}"
                f"</article><footer>Copyright</footer></body></html>"
            )
            return html.encode(), "text/html; charset=utf-8"
        return b"", "text/plain"

    def entry(self, n: int) -> str:
        """Return one RSS item."""
        when = format_datetime(self.published - timedelta(hours=n), usegmt=True)
        return (
            f"<item><title>Release {n} of the {WORDS[n % 12]} project</title>"
            f"<link>{self.base}/a/{n}</link><guid>{self.base}/a/{n}</guid>"
            f"<pubDate>{when}</pubDate><description>{article_text(n)[:120]}</description></item>"
        )

    def config(self, path: Path, database_url: str, **extra: str) -> Path:
        """Write an aggregator.toml for this site and return its path."""
        sources = "".join(
            f"[[sources]]\nkind = 'rss'\nname = 'Feed {f}'\nurl = '{self.base}/feed/{f}.xml'\n"
            for f in range(self.feeds)
        )
        extra_text = "".join(f"{v}\n" for v in extra.values())
        path.write_text(
            f"[site]\noutput_dir = '{path.parent / 'site'}'\nsearch = false\n"
            f"[database]\nurl = '{database_url}'\n[fetch]\nallow_private_networks = true\n"
            f"{extra_text}{sources}"
        )
        return path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    """Return a running loopback news site with 4 feeds of 25 items (100 items)."""
    site = NewsSite(feeds=4, per_feed=25)
    yield site
    site.stop()
