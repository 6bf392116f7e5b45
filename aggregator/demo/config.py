"""The demo's content: where examples/ lives, relative dates, pages, and the settings template."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# `{{date:-3d 09:15}}` is 09:15 UTC three days before today; `-5h` is five hours ago.
# An optional `|rfc822`, `|rfc3339`, `|epoch`, `|iso` or `|human` picks the format.
_DATE = re.compile(r"\{\{date:\s*([^}|]+?)\s*(?:\|(\w+))?\}\}")
_SPEC = re.compile(r"^-(\d+)([dhm])(?:\s+(\d{1,2}):(\d{2}))?$")
_STYLES = ("rfc822", "rfc3339", "epoch", "iso", "human")
SITE_URL = "http://127.0.0.1:8000/"


def examples_dir() -> Path:
    """Return the bundled examples folder, aggregator/demo/examples/ (the demo's sources and config)."""
    return Path(__file__).resolve().parent / "examples"


def load_faults(root: Path | None = None) -> dict[str, str]:
    """Return the examples' intentional faults: path on the example server -> why it is there."""
    file = (root or examples_dir()) / "faults.toml"
    if not file.exists():
        return {}
    faults = tomllib.loads(file.read_text(encoding="utf-8")).get("faults", [])
    return {fault["path"]: fault["why"] for fault in faults}


def relative_time(spec: str, now: datetime | None = None) -> datetime:
    """Return the aware UTC time a relative spec such as `-3d 09:15` or `-5h` names."""
    now = now or datetime.now(UTC)
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"demo: not a relative date {spec!r} (use e.g. -3d 09:15 or -5h)")
    amount, unit, hour, minute = match.groups()
    if unit == "d":
        day = now - timedelta(days=int(amount))
        if hour is None:
            return day.replace(microsecond=0)
        return day.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    delta = timedelta(hours=int(amount)) if unit == "h" else timedelta(minutes=int(amount))
    return (now - delta).replace(second=0, microsecond=0)


def format_time(moment: datetime, style: str) -> str:
    """Return a time in one of the demo's formats (RSS, Atom, epoch, ISO, or for people)."""
    if style == "rfc822":
        return format_datetime(moment, usegmt=True)
    if style in ("rfc3339", "iso"):
        return moment.isoformat().replace("+00:00", "Z")
    if style == "epoch":
        return str(int(moment.timestamp()))
    if style == "human":
        return moment.strftime("%d %B %Y, %H:%M UTC").lstrip("0")
    raise ValueError(f"demo: unknown date style {style!r} (one of {', '.join(_STYLES)})")


def fill_placeholders(text: str, base_url: str, style: str, now: datetime | None = None) -> str:
    """Return text with `{{base}}` and `{{date:…}}` placeholders filled for this moment."""
    now = now or datetime.now(UTC)

    def date(match: re.Match[str]) -> str:
        return format_time(relative_time(match.group(1), now), match.group(2) or style)

    return _DATE.sub(date, text).replace("{{base}}", base_url.rstrip("/"))


@dataclass
class Article:
    """One article page: its outlet, URL path, front matter and HTML body."""

    outlet: str
    slug: str
    path: str
    meta: dict[str, Any]
    body: str
    charset: str = "utf-8"
    template: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def render(self, base_url: str, now: datetime | None = None) -> bytes:
        """Return the full page, encoded in the outlet's charset."""
        published = relative_time(self.meta["published"], now)
        base = base_url.rstrip("/")
        values = {
            "title": escape(self.meta["title"]),
            "author": escape(self.meta.get("author", "")),
            "section": escape(self.meta.get("section", "News")),
            "summary": escape(self.meta.get("summary", "")),
            "published_iso": format_time(published, "iso"),
            "published_human": format_time(published, "human"),
            "canonical": base + self.path,
            "charset": self.charset,
            "body": self.body,
            **self.extra,
        }
        page = self.template
        for key, value in values.items():
            page = page.replace("{{" + key + "}}", value)
        page = fill_placeholders(page, base_url, "human", now)
        return page.encode(self.charset, errors="xmlcharrefreplace")


def load_articles(root: Path) -> dict[str, Article]:
    """Return every article under examples/articles, keyed by the URL path it is served at."""
    outlets = tomllib.loads((root / "outlets.toml").read_text(encoding="utf-8"))["outlets"]
    articles: dict[str, Article] = {}
    for file in sorted((root / "articles").glob("*/*.html")):
        outlet = outlets.get(file.parent.name)
        if outlet is None:
            raise ValueError(f"demo: {file}: no outlet {file.parent.name!r} in outlets.toml")
        meta, body = _split_front_matter(file)
        path = outlet["url"].format(slug=file.stem)
        template = (root / "outlets" / outlet["template"]).read_text(encoding="utf-8")
        extra = {"outlet": escape(outlet["name"])}
        articles[path] = Article(
            file.parent.name,
            file.stem,
            path,
            meta,
            body,
            outlet.get("charset", "utf-8"),
            template,
            extra,
        )
    return articles


def _split_front_matter(file: Path) -> tuple[dict[str, Any], str]:
    """Return a `+++`-delimited TOML front matter and the HTML body that follows it."""
    text = file.read_text(encoding="utf-8")
    _, head, body = text.split("+++", 2) if text.startswith("+++") else ("", "", text)
    meta = tomllib.loads(head)
    for key in ("title", "published"):
        if key not in meta:
            raise ValueError(f"demo: {file}: front matter lacks {key!r}")
    return meta, body.strip()


def _slug(title: str) -> str:
    """Return a Reddit-style URL slug of a title."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50]


def load_reddit(root: Path, base_url: str, now: datetime | None = None) -> dict[str, list[dict]]:
    """Return each example subreddit's posts (Reddit API fields, comments under `comments`)."""
    now = now or datetime.now(UTC)
    subreddits: dict[str, list[dict]] = {}
    for file in sorted((root / "reddit").glob("*.json")):
        text = fill_placeholders(file.read_text(encoding="utf-8"), base_url, "iso", now)
        data = json.loads(text)
        sub = data["subreddit"]
        subreddits[sub] = [_post_fields(post, sub, base_url, now) for post in data["posts"]]
    return subreddits


def _post_fields(post: dict[str, Any], sub: str, base_url: str, now: datetime) -> dict:
    """Return one post with the derived fields the Reddit API would add."""
    post = dict(post)
    post.setdefault("permalink", f"/r/{sub}/comments/{post['id']}/{_slug(post['title'])}/")
    is_self = not post.get("url")
    post.setdefault("selftext", "")
    if is_self:
        post["url"] = base_url.rstrip("/") + post["permalink"]
    post["created_utc"] = float(relative_time(post["created_utc"], now).timestamp())
    post.update(
        name=f"t3_{post['id']}",
        is_self=is_self,
        subreddit=sub,
        subreddit_name_prefixed=f"r/{sub}",
        ups=post["score"],
        domain=f"self.{sub}" if is_self else urlsplit(post["url"]).netloc,
        selftext_html=paragraphs_html(post["selftext"]) if is_self else None,
    )
    post.setdefault("stickied", False)
    post.setdefault("over_18", False)
    comments = []
    for comment in post.get("comments", []):
        comment = dict(
            comment,
            name=f"t1_{comment['id']}",
            link_id=f"t3_{post['id']}",
            parent_id=f"t3_{post['id']}",
            depth=0,
            subreddit=sub,
        )
        comment["created_utc"] = float(relative_time(comment["created_utc"], now).timestamp())
        comment["permalink"] = f"{post['permalink']}{comment['id']}/"
        comments.append(comment)
    post["comments"] = comments
    return post


def paragraphs_html(text: str) -> str:
    """Return Reddit-style HTML for plain text paragraphs."""
    paragraphs = "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())
    return f'<!-- SC_OFF --><div class="md">{paragraphs}</div><!-- SC_ON -->'


def _toml_escape(value: str) -> str:
    """Return text escaped for a TOML basic string (JSON's escapes are TOML's, non-ASCII raw)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def demo_settings_toml(
    base_url: str,
    output_dir: Path,
    database_url: str,
    *,
    reddit_url: str | None = None,
    site_url: str = SITE_URL,
    examples: Path | None = None,
) -> str:
    """Return the demo's aggregator.toml text with the server, site and database filled in.

    `reddit_url` is the Reddit-shaped API praw talks to (defaults to the demo server).
    """
    template = ((examples or examples_dir()) / "aggregator.toml").read_text(encoding="utf-8")
    values = {
        "{base}": base_url.rstrip("/"),
        "{reddit_url}": (reddit_url or base_url).rstrip("/"),
        "{output_dir}": Path(output_dir).as_posix(),
        "{database_url}": database_url,
        "{site_url}": site_url,
    }
    lines = []
    for line in template.splitlines(keepends=True):
        # Comments name the placeholders; elsewhere each sits inside a quoted TOML string,
        # so the template itself stays valid TOML.
        if not line.lstrip().startswith("#"):
            for key, value in values.items():
                line = line.replace(key, _toml_escape(value))
        lines.append(line)
    return "".join(lines)
