"""The demo's local web: feeds, article pages and Reddit-shaped data from examples/ on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from aggregator.demo.config import examples_dir as default_examples_dir
from aggregator.demo.config import (
    fill_placeholders,
    load_articles,
    load_reddit,
    paragraphs_html,
)
from aggregator.demo.reddit_api import RedditAPIServer, atom_feed
from aggregator.publish.server import serve_site

_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding=["']([\w.-]+)["']""")
_LISTING = re.compile(
    r"^/r/(?P<sub>\w+)(?:/(?P<listing>hot|new|top|rising))?/?\.(?P<fmt>json|rss)$"
)
# A thread, or one comment of it (/r/sub/comments/id/slug/comment_id/): both show the thread.
_THREAD = re.compile(
    r"^/r/(?P<sub>\w+)/comments/(?P<id>\w+)(?:/[^/.]*)?(?:/(?P<comment>\w+))?/?(?:\.(?P<fmt>json))?$"
)
_PERIODS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 31, "year": 366, "all": 100000}
ROBOTS = b"User-agent: *\nAllow: /\n"
# Where the examples sit on the local server; the built site has the rest.
EXAMPLES = "/examples"

_DAY2 = re.compile(r"<!--day2.*?<!--/day2-->\s*", re.S)


@dataclass
class Response:
    """What the handler sends: status, body and headers."""

    status: int
    body: bytes
    content_type: str
    etag: bool = False


def sort_listing(posts: list[dict], listing: str, period: str, limit: int) -> list[dict]:
    """Return the posts a listing shows: top by score within the period, new by time, hot."""
    now = datetime.now(UTC).timestamp()
    if listing == "top":
        cutoff = now - _PERIODS.get(period, 1) * 86400
        chosen = sorted((p for p in posts if p["created_utc"] >= cutoff), key=lambda p: -p["score"])
    elif listing in ("new", "rising"):
        chosen = sorted(posts, key=lambda p: -p["created_utc"])
    else:  # hot: stickied first, then score decayed by age, roughly as Reddit does

        def heat(p: dict) -> tuple[bool, float]:
            return (not p["stickied"], -p["score"] / (2 + (now - p["created_utc"]) / 3600) ** 1.5)

        chosen = sorted(posts, key=heat)
    return chosen[:limit]


def listing_json(posts: list[dict]) -> dict:
    """Return a Reddit `Listing` of link posts (without the comments)."""
    children = [
        {"kind": "t3", "data": {k: v for k, v in p.items() if k != "comments"}} for p in posts
    ]
    return {
        "kind": "Listing",
        "data": {"after": None, "before": None, "dist": len(children), "children": children},
    }


def thread_json(post: dict) -> list[dict]:
    """Return a thread as Reddit's public JSON does: the post listing, then its comments."""
    comments = [{"kind": "t1", "data": {**c, "replies": ""}} for c in post["comments"]]
    return [
        listing_json([post]),
        {"kind": "Listing", "data": {"after": None, "before": None, "children": comments}},
    ]


def thread_html(post: dict, base_url: str = "") -> bytes:
    """Return a plain HTML page of a Reddit thread (self text and top comments)."""
    comments = "".join(
        f'<div class="comment"><p class="author">{escape(c["author"])} '
        f"({c['score']} points)</p>{paragraphs_html(c['body'])}</div>"
        for c in post["comments"]
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{escape(post['title'])} : {post['subreddit']}</title></head><body>"
        f'<header><a href="{base_url}/r/{post["subreddit"]}/hot.rss">r/{post["subreddit"]}</a></header>'
        f"<main><h1>{escape(post['title'])}</h1><p>submitted by {escape(post['author'])}"
        f'</p>{post["selftext_html"] or ""}<section class="comments">{comments}</section>'
        f"</main></body></html>"
    ).encode()


class DemoContent:
    """Everything the demo serves, rendered from examples/ for the current moment."""

    def __init__(self, root: Path, base_url: str):
        self.root, self.base_url = root, base_url.rstrip("/")
        self.articles = load_articles(root)
        self.feeds = {
            "/" + f.relative_to(root / "feeds").as_posix(): f
            for f in sorted((root / "feeds").glob("*/*"))
            if f.is_file()
        }
        self.reddit = load_reddit(root, self.base_url)
        self._day = datetime.now(UTC).date()
        self.day2 = False  # feed entries marked <!--day2 ...--> appear on the demo's day 2

    def refresh(self) -> None:
        """Re-date the Reddit data when the day has turned (pages and feeds date themselves)."""
        if datetime.now(UTC).date() != self._day:
            self.reddit, self._day = load_reddit(self.root, self.base_url), datetime.now(UTC).date()

    def feed(self, file: Path) -> Response:
        """Return a feed with dates filled, encoded in the charset its XML declaration names."""
        text = file.read_text(encoding="utf-8")
        if not self.day2:
            text = _DAY2.sub("", text)
        atom = "<feed" in text[:500]
        text = fill_placeholders(text, self.base_url, "rfc3339" if atom else "rfc822")
        match = _XML_ENCODING.search(text[:200].encode())
        charset = match.group(1).decode().lower() if match else "utf-8"
        kind = "application/atom+xml" if atom else "application/rss+xml"
        body = text.encode(charset, errors="xmlcharrefreplace")
        return Response(200, body, f"{kind}; charset={charset}", etag=True)

    def get(self, path: str, query: dict[str, list[str]]) -> Response:
        """Return the response for a GET of this path."""
        self.refresh()
        if path == "/robots.txt":
            return Response(200, ROBOTS, "text/plain; charset=utf-8")
        if path in self.feeds:
            return self.feed(self.feeds[path])
        if path in self.articles:
            article = self.articles[path]
            return Response(
                200,
                article.render(self.base_url),
                f"text/html; charset={article.charset}",
                etag=True,
            )
        if match := _LISTING.match(path):
            return self.listing(
                match.group("sub"), match.group("listing") or "hot", match.group("fmt"), query
            )
        if (match := _THREAD.match(path)) and match.group("sub") in self.reddit:
            return self.thread(match.group("sub"), match.group("id"), match.group("fmt"))
        if path in ("/", "/index.html"):
            return Response(200, self.index(), "text/html; charset=utf-8")
        return not_found(path)

    def listing(self, sub: str, listing: str, fmt: str, query: dict[str, list[str]]) -> Response:
        """Return a subreddit listing as JSON or as Reddit's Atom feed."""
        if sub not in self.reddit:
            return not_found(f"/r/{sub}")
        limit = int(query.get("limit", ["25"])[0] or 25)
        posts = sort_listing(self.reddit[sub], listing, query.get("t", ["day"])[0], limit)
        if fmt == "rss":
            body = atom_feed(sub, listing, posts, self.base_url)
            return Response(200, body, "application/atom+xml; charset=UTF-8", etag=True)
        return Response(
            200, json.dumps(listing_json(posts)).encode(), "application/json; charset=UTF-8"
        )

    def thread(self, sub: str, post_id: str, fmt: str | None) -> Response:
        """Return one Reddit thread as JSON or HTML."""
        post = next((p for p in self.reddit[sub] if p["id"] == post_id), None)
        if post is None:
            return not_found(f"/r/{sub}/comments/{post_id}")
        if fmt == "json":
            return Response(200, json.dumps(thread_json(post)).encode(), "application/json")
        return Response(200, thread_html(post, self.base_url), "text/html; charset=utf-8")

    def index(self) -> bytes:
        """Return a small HTML index of what the demo serves."""
        links = [*self.feeds, *(f"/r/{s}/hot.rss" for s in self.reddit), *self.articles]
        items = "".join(
            f'<li><a href="{escape(self.base_url + p)}">{escape(p)}</a></li>' for p in links
        )
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo sources'
            f"</title></head><body><h1>Demo sources</h1><ul>{items}</ul></body></html>"
        ).encode()


def not_found(path: str) -> Response:
    """Return a 404 page."""
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
        f"</head><body><h1>404: page not found</h1><p>{escape(path)}</p></body></html>"
    )
    return Response(404, body.encode(), "text/html; charset=utf-8")


def answer(
    content: DemoContent, raw_path: str, request_headers: Mapping[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """Return status, headers and body for a GET of raw_path (path and query) on the examples."""
    url = urlsplit(raw_path)
    try:
        response = content.get(url.path, parse_qs(url.query))
    except Exception as exc:  # a broken example file must show, not hang the client
        response = Response(500, f"demo: {exc}".encode(), "text/plain; charset=utf-8")
    headers = {"Content-Type": response.content_type}
    if response.etag:
        etag = '"' + hashlib.sha1(response.body).hexdigest()[:20] + '"'
        headers.update(ETag=etag, **{"Cache-Control": "max-age=300"})
        wanted = {
            t.strip().removeprefix("W/")
            for t in request_headers.get("If-None-Match", "").split(",")
        }
        if etag in wanted or "*" in wanted:  # RFC 9110 13.1.2: a match means 304
            return HTTPStatus.NOT_MODIFIED, headers, b""
    return response.status, headers, response.body


def token_answer(raw_path: str) -> tuple[int, dict[str, str], bytes]:
    """Return praw's application token (it asks `reddit_url`, which is this server so that
    permalinks on the demo site point here), or 404 for any other POST."""
    json_type = {"Content-Type": "application/json"}
    if urlsplit(raw_path).path.rstrip("/") != "/api/v1/access_token":
        return 404, json_type, b'{"message": "Not Found", "error": 404}'
    token = {"access_token": "local-token", "token_type": "bearer", "expires_in": 86400}
    return 200, json_type, json.dumps({**token, "scope": "*"}).encode()


class DemoServer:
    """The running demo: `.base_url` (feeds, pages, Reddit RSS and JSON), `.reddit_url` (the
    Reddit-shaped API praw talks to), `.site_url`, `.stop()`; usable as a context manager.

    The examples are mounted under /examples/ of the one local site server
    (aggregator/publish/server.py), so while the demo is served every link on the demo site,
    the example outlets' pages included, works from the same port.
    """

    def __init__(self, root: Path, site_dir: Path | None = None, port: int = 0):
        self.content: DemoContent | None = None
        self.site = serve_site(
            site_dir or root / "site-not-built", port=port, mounts={EXAMPLES: self._answer}
        )
        self.site_url = self.site.url
        self.base_url = self.site_url.rstrip("/") + EXAMPLES
        self.content = DemoContent(root, self.base_url)
        self.reddit_api = _start_reddit_api(self.content)
        self.reddit_url = self.reddit_api.url

    def _answer(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.content is None:  # a request raced the start-up
            return 503, {"Content-Type": "text/plain; charset=utf-8"}, b"demo: starting"
        if method == "POST":
            return token_answer(raw_path)
        return answer(self.content, raw_path, headers)

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return self.base_url + path

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        self.site.stop()
        self.reddit_api.stop()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _start_reddit_api(content: DemoContent) -> RedditAPIServer:
    """Return a running Reddit-shaped API (for praw) over the demo's subreddits, top first."""
    posts = {
        sub: sorted(
            ({k: v for k, v in p.items() if k != "comments"} for p in sub_posts),
            key=lambda p: -p["score"],
        )
        for sub, sub_posts in content.reddit.items()
    }
    comments = {p["id"]: p["comments"] for sub_posts in content.reddit.values() for p in sub_posts}
    return RedditAPIServer(posts, comments, site=content.base_url).start()


def start_demo_server(
    examples_dir: Path | None = None, site_dir: Path | None = None, port: int = 0
) -> DemoServer:
    """Return a running server of the demo's examples (default: the bundled ones) under
    /examples/, and of the built site in site_dir at /, on 127.0.0.1:port (0: any free port)."""
    return DemoServer(Path(examples_dir or default_examples_dir()), site_dir, port)
