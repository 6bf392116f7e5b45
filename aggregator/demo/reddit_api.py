"""A small Reddit-shaped API on 127.0.0.1 for tests and the offline demo.

It serves what praw (read-only, application-only OAuth) and the public RSS fallback ask for:

- ``POST /api/v1/access_token``: an application token;
- ``GET /r/<sub>/<listing>`` (hot, new, top, rising): a Listing of the posts you gave it;
- ``GET /comments/<id>/``: the post plus its comment tree;
- ``GET /r/<sub>/<listing>.rss``: the same posts as Reddit's Atom feed.

Posts and comments are plain dicts shaped like Reddit's ``t3`` / ``t1`` ``data`` objects
(missing fields get harmless defaults). Errors are injected per target::

    with RedditAPIServer({"MachineLearning": [post, ...]}, comments={"abc": [...]}) as api:
        api.fail("r/LocalLLaMA", 403, reason="private")      # API and RSS
        api.fail("token", 401)                               # the OAuth endpoint
        api.fail("r/news", 429, retry_after=30)
        praw.Reddit(..., oauth_url=api.url, reddit_url=api.url)

``api.requests`` records (method, path) of every request, for assertions.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LISTINGS = ("hot", "new", "top", "rising")


def post_defaults(sub: str, post: dict[str, Any]) -> dict[str, Any]:
    """Return a t3 data dict with Reddit's fields filled in around the given ones."""
    pid = str(post.get("id", "p0"))
    slug = "_".join(str(post.get("title", "post")).lower().split())[:40]
    data = {
        "id": pid,
        "name": f"t3_{pid}",
        "subreddit": sub,
        "title": "Untitled",
        "author": "someone",
        "score": 1,
        "num_comments": 0,
        "upvote_ratio": 1.0,
        "created_utc": 1767225600.0,
        "is_self": False,
        "selftext": "",
        "selftext_html": None,
        "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/{slug}/",
        "domain": "self",
        "permalink": f"/r/{sub}/comments/{pid}/{slug}/",
        "stickied": False,
        "over_18": False,
        "link_flair_text": None,
        "subreddit_name_prefixed": f"r/{sub}",
    }
    data.update(post)
    if data["is_self"]:
        data["url"] = "https://www.reddit.com" + data["permalink"]
    return data


def _comment(post_id: str, comment: dict[str, Any], index: int) -> dict[str, Any]:
    cid = str(comment.get("id", f"c{index}"))
    data = {
        "id": cid,
        "name": f"t1_{cid}",
        "author": "someone",
        "body": "",
        "score": 1,
        "stickied": False,
        "parent_id": f"t3_{post_id}",
        "link_id": f"t3_{post_id}",
        "created_utc": 1767225600.0,
        "replies": "",
    }
    data.update(comment)
    return {"kind": "t1", "data": data}


def _listing(children: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {"after": None, "before": None, "dist": len(children), "children": children},
    }


def atom_feed(sub: str, listing: str, posts: list[dict[str, Any]], site: str) -> bytes:
    """Return posts as an Atom document shaped like Reddit's public .rss listings."""
    entries = []
    for post in posts:
        html = post.get("selftext_html") or ""
        html += (
            f'&#32; submitted by &#32; <a href="{site}/user/{post["author"]}">'
            f'/u/{post["author"]}</a> <br/> <span><a href="{post["url"]}">[link]</a></span>'
            f' &#32; <span><a href="{site}{post["permalink"]}">[comments]</a></span>'
        )
        when = datetime.fromtimestamp(post["created_utc"], UTC).isoformat()
        entries.append(
            f"<entry><author><name>/u/{escape(post['author'])}</name></author>"
            f'<category term="{sub}" label="r/{sub}"/><content type="html">{escape(html)}</content>'
            f'<id>{post["name"]}</id><link href="{escape(site + post["permalink"])}"/>'
            f"<updated>{when}</updated><published>{when}</published>"
            f"<title>{escape(post['title'])}</title></entry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<category term="{sub}" label="r/{sub}"/><id>/r/{sub}/{listing}.rss</id>'
        f'<link rel="alternate" href="{site}/r/{sub}/{listing}"/><title>{listing} : {sub}</title>'
        + "".join(entries)
        + "</feed>"
    ).encode()


class RedditAPIServer:
    """A loopback Reddit API (ThreadingHTTPServer on a free port) serving the dicts you pass."""

    def __init__(
        self,
        subreddits: dict[str, list[dict[str, Any]]] | None = None,
        comments: dict[str, list[dict[str, Any]]] | None = None,
        *,
        site: str = "https://www.reddit.com",
        host: str = "127.0.0.1",
    ):
        self.subreddits = {
            k.lower(): [post_defaults(k, p) for p in v] for k, v in (subreddits or {}).items()
        }
        self.comments = comments or {}
        self.site = site
        self.errors: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {}
        self.requests: list[tuple[str, str]] = []
        self._server = _QuietServer((host, 0), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL, e.g. http://127.0.0.1:41234."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(
        self, target: str, status: int, *, reason: str | None = None, retry_after: int | None = None
    ) -> None:
        """Make a target answer with an error: "token", "r/<sub>" or "rss:r/<sub>"."""
        body: dict[str, Any] = {"message": _REASONS.get(status, "Error"), "error": status}
        if reason:
            body["reason"] = reason
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.errors[target.lower()] = (status, body, headers)

    def clear(self, target: str | None = None) -> None:
        """Remove one injected error, or all of them."""
        if target is None:
            self.errors.clear()
        else:
            self.errors.pop(target.lower(), None)

    def start(self) -> RedditAPIServer:
        """Start serving in a daemon thread; return self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RedditAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up early (praw timing out) is not worth a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


_REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _handler_for(api: RedditAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stall

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(
            self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(
                status, json.dumps(payload).encode(), "application/json; charset=UTF-8", headers
            )

        def _error_for(self, *targets: str) -> bool:
            for target in targets:
                if target in api.errors:
                    status, body, headers = api.errors[target]
                    self._json(status, body, headers)
                    return True
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            path = urlsplit(self.path).path.rstrip("/")
            api.requests.append(("POST", path))
            if path != "/api/v1/access_token":
                self._json(404, {"message": "Not Found", "error": 404})
            elif not self._error_for("token"):
                self._json(
                    200,
                    {
                        "access_token": "local-token",
                        "token_type": "bearer",
                        "expires_in": 86400,
                        "scope": "*",
                    },
                )

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            api.requests.append(("GET", parts.path))
            segments = [s for s in parts.path.split("/") if s]
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if len(segments) == 3 and segments[0] == "r":
                self._subreddit(segments[1], segments[2], query)
            elif len(segments) >= 2 and segments[0] == "comments":
                self._comments(segments[1], query)
            else:
                self._json(404, {"message": "Not Found", "error": 404})

        def _subreddit(self, sub: str, listing: str, query: dict[str, str]) -> None:
            key = f"r/{sub.lower()}"
            rss = listing.endswith(".rss")
            listing = listing.removesuffix(".rss").removesuffix(".json")
            if self._error_for(*((f"rss:{key}", key) if rss else (key,))):
                return
            if listing not in LISTINGS or sub.lower() not in api.subreddits:
                self._json(404, {"message": "Not Found", "error": 404})
                return
            posts = api.subreddits[sub.lower()][: int(query.get("limit") or 100)]
            if rss:
                self._send(
                    200,
                    atom_feed(sub, listing, posts, api.site),
                    "application/atom+xml; charset=UTF-8",
                )
            else:
                self._json(
                    200,
                    _listing([{"kind": "t3", "data": p} for p in posts]),
                    {
                        "x-ratelimit-remaining": "599",
                        "x-ratelimit-used": "1",
                        "x-ratelimit-reset": "0",
                    },
                )

        def _comments(self, post_id: str, query: dict[str, str]) -> None:
            post = next(
                (p for posts in api.subreddits.values() for p in posts if p["id"] == post_id), None
            )
            if post is None or self._error_for(f"comments/{post_id}"):
                if post is None:
                    self._json(404, {"message": "Not Found", "error": 404})
                return
            limit = int(query.get("limit") or 200)
            tree = [
                _comment(post_id, c, i) for i, c in enumerate(api.comments.get(post_id, [])[:limit])
            ]
            self._json(200, [_listing([{"kind": "t3", "data": post}]), _listing(tree)])

    return Handler
