"""Reddit: praw in read-only app mode, else the subreddit's public RSS through the safe fetcher."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aggregator.collect.feed import Entry, ParsedFeed, checked_date, identity_hash, one_line
from aggregator.collect.fetch import Fetcher, FetchError, FetchResult
from aggregator.collect.rss import FEED_ACCEPT, parse_feed
from aggregator.collect.urls import canonical_url
from aggregator.settings import RedditSettings, RedditSource

# Reddit's RSS content ends with `<a href="...">[link]</a>`: the post's target.
_LINK_ANCHOR = re.compile(r"""<a href="([^"]+)">\[link\]</a>""")
# 403 reasons that RSS cannot get around either: the subreddit itself is closed.
_CLOSED = {
    "private": "is private",
    "quarantined": "is quarantined",
    "banned": "is banned",
    "gold_only": "is members-only",
}


class RedditError(Exception):
    """A subreddit that could not be read; str() is one line, retry_after from a 429."""

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(one_line(message, 400))


@dataclass
class RedditResult:
    """What a subreddit gave: entries, and how (fallback "rss" when the API was not used)."""

    feed: ParsedFeed
    fallback: str | None = None
    fetch: FetchResult | None = None


def make_reddit(settings: RedditSettings, user_agent: str, timeout: float) -> Any:
    """Return a read-only praw client (application-only OAuth) pointed at the configured URLs."""
    import praw
    import requests

    session = requests.Session()
    session.trust_env = False  # like the fetcher: no proxy from the environment
    return praw.Reddit(
        client_id=settings.client_id.get_secret_value() if settings.client_id else None,
        client_secret=(
            settings.client_secret.get_secret_value() if settings.client_secret else None
        ),
        user_agent=settings.user_agent or user_agent,
        check_for_updates=False,
        oauth_url=settings.oauth_url.rstrip("/"),
        reddit_url=settings.reddit_url.rstrip("/"),
        timeout=int(max(1, timeout)),
        requestor_kwargs={"session": session},
    )


def _comments(submission: Any, count: int, permalink: str) -> list[dict[str, Any]]:
    """Return the top `count` top-level comments (text, score, author, url), skipping stickied.

    They are kept apart from the post's own text: a discussion, never the article.
    """
    submission.comment_sort = "top"
    submission.comment_limit = count + 2
    submission.comments.replace_more(limit=0)
    out = []
    for comment in submission.comments:
        if getattr(comment, "stickied", False) or not getattr(comment, "body", ""):
            continue
        out.append(
            {
                "author": str(comment.author) if comment.author else None,
                "score": int(comment.score or 0),
                "text": comment.body,
                # Reddit's comment address is the post's permalink plus the comment id.
                "url": f"{permalink.rstrip('/')}/{comment.id}/",
            }
        )
        if len(out) >= count:
            break
    return out


def _submission_entry(
    post: Any, source: RedditSource, site: str, now: datetime, comments: list[dict[str, Any]]
) -> Entry:
    """Return a praw submission as an entry: the linked article, or the post's own text."""
    permalink = site.rstrip("/") + post.permalink
    is_self = bool(post.is_self) or not str(post.url).startswith(("http://", "https://"))
    url = permalink if is_self else str(post.url)
    title = one_line(post.title, 1000)
    published, flagged = checked_date(datetime.fromtimestamp(float(post.created_utc), UTC), now)
    flair = getattr(post, "link_flair_text", None)
    return Entry(
        guid=post.name,
        guid_hash=identity_hash(post.name, None, "", None),
        url=url,
        canonical_url=canonical_url(url),
        title=title,
        author=str(post.author) if post.author else None,
        summary=post.selftext or None if is_self else None,
        content_html=post.selftext_html or None if is_self else None,
        published_at=published,
        date_flagged=flagged,
        tags=[flair] if flair else [],
        kind="self" if is_self else "link",
        engagement={
            "platform": "reddit",
            "subreddit": source.subreddit,
            "permalink": permalink,
            "score": int(post.score or 0),
            "comments": int(post.num_comments or 0),
            "upvote_ratio": getattr(post, "upvote_ratio", None),
            "top_comments": comments,
        },
    )


def _wanted(post: Any, source: RedditSource) -> bool:
    if post.stickied and not source.include_stickied:
        return False
    if post.over_18 and not source.include_nsfw:
        return False
    return (post.score or 0) >= source.min_score and (post.num_comments or 0) >= source.min_comments


def collect_api(reddit: Any, source: RedditSource, site: str) -> ParsedFeed:
    """Return a subreddit listing read through the API (raises prawcore exceptions)."""
    now = datetime.now(UTC).replace(microsecond=0)
    subreddit = reddit.subreddit(source.subreddit)
    if source.listing == "top":
        posts = subreddit.top(time_filter=source.time_filter, limit=source.limit)
    else:
        posts = getattr(subreddit, source.listing)(limit=source.limit)
    entries, warnings = [], []
    for post in posts:
        if not _wanted(post, source):
            continue
        comments: list[dict[str, Any]] = []
        if source.top_comments and post.num_comments:  # no request for a post without comments
            try:
                permalink = site.rstrip("/") + post.permalink
                comments = _comments(post, source.top_comments, permalink)
            except Exception as exc:  # comments are a bonus: the post still counts
                warnings.append(f"comments of {post.id}: {type(exc).__name__}: {exc}")
        entries.append(_submission_entry(post, source, site, now, comments))
    title = f"r/{source.subreddit} ({source.listing})"
    warning = (
        f"collect: r/{source.subreddit}: {one_line('; '.join(warnings))}" if warnings else None
    )
    return ParsedFeed(
        title=title, link=f"{site}/r/{source.subreddit}", entries=entries, warning=warning
    )


def rss_url(settings: RedditSettings, source: RedditSource) -> str:
    """Return the subreddit listing's public RSS address."""
    url = f"{settings.rss_url.rstrip('/')}/r/{source.subreddit}/{source.listing}.rss"
    url += f"?limit={source.limit}"
    return url + (f"&t={source.time_filter}" if source.listing == "top" else "")


def _from_rss_entry(entry: Entry, source: RedditSource) -> Entry:
    """Return a Reddit RSS entry turned into a link or self item (no score in RSS)."""
    permalink = entry.url
    match = _LINK_ANCHOR.search(entry.content_html or entry.summary or "")
    target = match.group(1).replace("&amp;", "&") if match else None
    is_link = bool(
        target and canonical_url(target) and canonical_url(target) != entry.canonical_url
    )
    if is_link:
        entry.url, entry.canonical_url = target, canonical_url(target)
        entry.summary = entry.content_html = None
    entry.kind = "link" if is_link else "self"
    entry.engagement = {
        **entry.engagement,  # a comment count the feed gave (slash:comments, thr:total)
        "platform": "reddit",
        "subreddit": source.subreddit,
        "permalink": permalink,
        "via": "rss",
    }
    return entry


def collect_rss(
    fetcher: Fetcher,
    settings: RedditSettings,
    source: RedditSource,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> RedditResult:
    """Return the subreddit's public RSS listing through the safe fetcher (FetchError on failure)."""
    result = fetcher.fetch(
        rss_url(settings, source), etag=etag, last_modified=last_modified, accept=FEED_ACCEPT
    )
    if result.not_modified:
        return RedditResult(ParsedFeed(None, None, []), fallback="rss", fetch=result)
    feed = parse_feed(result.body, result.url, result.headers)
    feed.entries = [_from_rss_entry(e, source) for e in feed.entries]
    return RedditResult(feed, fallback="rss", fetch=result)


def _status_reason(exc: Any) -> tuple[int | None, str | None]:
    """Return (HTTP status, Reddit's `reason`) of a prawcore response error."""
    response = getattr(exc, "response", None)
    if response is None:
        return None, None
    try:
        reason = response.json().get("reason")
    except Exception:  # not JSON, or not an object
        reason = None
    return response.status_code, reason if isinstance(reason, str) else None


def _fallback(
    fetcher: Fetcher,
    settings: RedditSettings,
    source: RedditSource,
    why: str,
    etag: str | None,
    last_modified: str | None,
) -> RedditResult:
    """Return the RSS listing, with a warning saying why the API was not used."""
    name = f"r/{source.subreddit}"
    try:
        result = collect_rss(fetcher, settings, source, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        raise RedditError(
            f"collect: {name}: {why}; RSS fallback failed: {exc}", retry_after=exc.retry_after
        ) from None
    note = f"collect: {name}: read from public RSS ({why}): no scores, comments or filters"
    result.feed.warning = "; ".join(w for w in (note, result.feed.warning) if w)
    return result


def collect_subreddit(
    source: RedditSource,
    settings: RedditSettings,
    fetcher: Fetcher,
    *,
    reddit: Any = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> RedditResult:
    """Return a subreddit's posts through the API, or through RSS when the API is unavailable.

    Raises RedditError for a closed subreddit (403 private/quarantined, 404 banned), a
    429 (with retry_after) or a network failure.
    """
    import prawcore

    name = f"r/{source.subreddit}"
    if not settings.has_credentials or reddit is None:
        return _fallback(
            fetcher, settings, source, "no Reddit API credentials", etag, last_modified
        )
    for base in (settings.oauth_url, settings.reddit_url):  # praw connects on its own
        refused = fetcher.refused(base)
        if refused:
            raise RedditError(f"collect: {name}: {base}: {refused}")
    try:
        return RedditResult(collect_api(reddit, source, settings.reddit_url.rstrip("/")))
    except prawcore.TooManyRequests as exc:
        retry = float(exc.retry_after) if str(exc.retry_after or "").isdigit() else None
        raise RedditError(f"collect: {name}: rate limited by Reddit (429)", retry) from None
    except prawcore.Redirect:
        raise RedditError(f"collect: {name} does not exist (redirected to search)") from None
    except prawcore.OAuthException as exc:
        why = f"API refused the credentials ({one_line(exc, 80)})"
        return _fallback(fetcher, settings, source, why, etag, last_modified)
    except prawcore.ResponseException as exc:
        status, reason = _status_reason(exc)
        if status == 403 and reason in _CLOSED:
            raise RedditError(f"collect: {name} {_CLOSED[reason]} (403)") from None
        if status == 404:
            raise RedditError(f"collect: {name} is banned or missing (404)") from None
        if status in (401, 403):
            why = f"API answered {status}"
            return _fallback(fetcher, settings, source, why, etag, last_modified)
        raise RedditError(f"collect: {name}: Reddit API answered {status}") from None
    except prawcore.PrawcoreException as exc:
        raise RedditError(f"collect: {name}: {type(exc).__name__}: {exc}") from None
