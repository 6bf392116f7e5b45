"""The extract stage: claim item jobs, fetch pages concurrently, extract, store one article each."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Job
from aggregator.extract.article import MIN_PAGE_WORDS, Extraction, ItemText, choose_text, extract
from aggregator.extract.robots import RobotsCache, RobotsUnavailable
from aggregator.extract.text import word_count
from aggregator.log import event
from aggregator.pools import kept_pool
from aggregator.report import StageReport

log = logging.getLogger("aggregator.extract")
STAGE = "extract"
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5"
# Links that are media, never articles: no fetch, the item's own text is all there is.
MEDIA_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp4", ".webm", ".mov", ".mp3")
MEDIA_HOSTS = ("i.redd.it", "v.redd.it", "i.imgur.com", "preview.redd.it")
# A transient fetch error is retried this many times when the item has no usable text of its own.
MAX_FETCH_ATTEMPTS = 3
# Below this many pages a process pool costs more to start than it saves.
PROCESS_POOL_MIN_PAGES = 16
_POOL_KEY = "extract_process_pool"
_ROBOTS_KEY = "extract_robots_cache"


@dataclass
class Work:
    """One claimed job with the item data it needs (plain data, safe to pass to threads)."""

    job_id: int
    item_id: int
    url: str | None
    attempts: int
    item: ItemText
    source_id: int | None = None


@dataclass
class Outcome:
    """The article for a job, or a transient error to retry later."""

    work: Work
    article: Extraction | None = None
    final_url: str | None = None
    retry_error: str | None = None
    retry_after: float | None = None


def _load_work(session: Session, jobs: list[Job]) -> list[Work]:
    items = {
        i.id: i
        for i in session.scalars(select(Item).where(Item.id.in_([j.subject_id for j in jobs])))
    }
    out = []
    for job in jobs:
        item = items.get(job.subject_id)
        if item is None:  # the item was deleted after the job was queued
            claims.complete(session, job, claims.SKIPPED)
            continue
        text = ItemText(
            title=item.title or "",
            content_html=item.content_html,
            summary=item.summary,
            kind=item.kind or "feed",
            engagement=dict(item.engagement or {}),
        )
        url = item.url or item.canonical_url
        out.append(Work(job.id, item.id, url, job.attempts, text, item.source_id))
    return out


def fetchable(work: Work) -> str | None:
    """Return why the item's URL is not fetched (self post, media, not http), or None."""
    if work.item.kind == "self":
        return "self post"
    parts = urlsplit(work.url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "no article URL"
    if parts.hostname in MEDIA_HOSTS or parts.path.lower().endswith(MEDIA_SUFFIXES):
        return "media link"
    return None


def _is_transient(exc: Any) -> bool:
    status = getattr(exc, "status", None)
    return exc.kind in ("timeout", "network") or (
        exc.kind == "http" and (status == 429 or (status or 0) >= 500)
    )


class _Runner:
    """Fetches and extracts one work unit at a time; shared by the worker threads."""

    def __init__(self, ctx: Context, pool: Executor | None):
        from aggregator.collect.fetch import Fetcher, FetchError

        self.fetch_error = FetchError
        self.ctx = ctx
        settings = ctx.settings
        self.fetcher = Fetcher(settings.fetch, settings.site.base_url, settings.site.title)
        self.robots: RobotsCache | None = None
        if settings.fetch.respect_robots:
            # Kept in ctx.extras so a scheduler's runs share a day of robots.txt verdicts.
            key = f"{_ROBOTS_KEY}:{self.fetcher.user_agent}"
            self.robots = ctx.extras.setdefault(
                key, RobotsCache(self._robots_text, self.fetcher.user_agent)
            )
            self.robots.fetch_text = self._robots_text
        self.pool = pool
        # Each source's article pages share one deadline per run, so a slow site holds
        # at most `source_deadline` of the run, whatever its number of links.
        self._source_deadlines: dict[int | None, float] = {}
        self._deadline_lock = threading.Lock()

    def source_deadline(self, work: Work) -> float:
        """Return the time.monotonic() by which this source's pages must be fetched this run."""
        with self._deadline_lock:
            budget = self.ctx.settings.fetch.source_deadline
            return self._source_deadlines.setdefault(work.source_id, time.monotonic() + budget)

    def _robots_text(self, url: str) -> str:
        try:
            result = self.fetcher.fetch(url, accept="text/plain")
        except self.fetch_error as exc:
            if exc.kind == "blocked":  # the address guard's reason, not "robots.txt disallows"
                raise
            raise RobotsUnavailable(exc.status if exc.kind == "http" else None, str(exc)) from None
        return result.body.decode("utf-8", errors="replace")

    def _extract(self, body: bytes, url: str, headers: dict[str, str]) -> Extraction:
        if self.pool is not None:
            try:
                return self.pool.submit(extract, body, url, headers).result()
            except BrokenProcessPool:
                # A worker died (killed, out of memory): carry on in this process.
                self.ctx.extras.pop(_POOL_KEY, None)
                self.pool = None
        return extract(body, url, headers)

    def run(self, work: Work) -> Outcome:
        """Return the outcome for one unit; an unexpected error still yields the item's text."""
        try:
            return self._run(work)
        except Exception as exc:  # a bug must not lose the item: keep its own text, say why
            log.exception("extract failed", extra={"fields": {"item": work.item_id}})
            return Outcome(
                work, choose_text(None, work.item, f"extract: {type(exc).__name__}: {exc}")
            )

    def _run(self, work: Work) -> Outcome:
        reason = fetchable(work)
        if reason:
            return Outcome(work, choose_text(None, work.item, None))
        url = work.url or ""
        deadline = self.source_deadline(work)
        try:
            if time.monotonic() >= deadline:
                raise self.fetch_error("timeout", url, "its source's time for pages ran out")
            if self.robots is not None and not self.robots.allowed(url):
                return Outcome(
                    work, choose_text(None, work.item, f"extract: robots.txt disallows {url}")
                )
            result = self.fetcher.fetch(url, accept=ACCEPT, deadline=deadline)
        except self.fetch_error as exc:
            if exc.kind == "blocked":
                exc = self.fetch_error("blocked", url, exc.detail)  # name the page, not robots.txt
            own_words = word_count(choose_text(None, work.item).text)
            if (
                _is_transient(exc)
                and own_words < MIN_PAGE_WORDS
                and work.attempts < MAX_FETCH_ATTEMPTS
            ):
                return Outcome(work, retry_error=str(exc), retry_after=exc.retry_after)
            return Outcome(work, choose_text(None, work.item, str(exc)))
        page = self._extract(result.body, result.url, result.headers)
        return Outcome(work, choose_text(page, work.item), final_url=result.url)


def _process_pool(ctx: Context, pages: int) -> Executor | None:
    """Return a process pool for CPU-bound extraction (kept in ctx.extras), or None."""
    cores = os.cpu_count() or 1
    if pages < PROCESS_POOL_MIN_PAGES or cores < 2:
        return None
    return kept_pool(ctx.extras, _POOL_KEY, cores, ["aggregator.extract.article"])


def _run_all(ctx: Context, work: list[Work], advance: Callable[[int], None]) -> list[Outcome]:
    """Return outcomes for every unit not interrupted by a stop request."""
    pages = sum(1 for w in work if fetchable(w) is None)
    runner = _Runner(ctx, _process_pool(ctx, pages))
    threads = max(1, min(ctx.settings.fetch.concurrency, len(work)))
    outcomes: list[Outcome] = []
    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="extract") as pool:
            futures: list[Future[Outcome]] = [pool.submit(runner.run, w) for w in work]
            for future in futures:
                if ctx.stop_requested:
                    for pending in futures:
                        pending.cancel()
                    break
                outcomes.append(future.result())
                advance(1)
            wait_futures(futures)
            outcomes += [
                f.result() for f in futures[len(outcomes) :] if f.done() and not f.cancelled()
            ]
    finally:
        runner.fetcher.close()
    return outcomes


def _store_article(session: Session, ctx: Context, outcome: Outcome) -> Article:
    found = outcome.article or Extraction(error="extract: nothing extracted")
    keep_html = (
        ctx.settings.retention.raw_html_days > 0 or ctx.settings.fetch.keep_raw_html_days > 0
    )
    article = session.scalar(select(Article).where(Article.item_id == outcome.work.item_id))
    if article is None:
        article = Article(item_id=outcome.work.item_id, method=found.method)
        session.add(article)
    article.final_url = outcome.final_url
    article.title, article.author, article.site_name = found.title, found.author, found.site_name
    article.published_at = found.published_at
    article.language = (found.language or None) and found.language[:16]
    article.text, article.word_count = found.text, found.word_count
    article.content_hash, article.method = found.content_hash, found.method[:32]
    article.error = found.error or found.warning
    article.raw_html = found.raw_html if keep_html else None
    article.extracted_at = utcnow()
    return article


def _record(session: Session, ctx: Context, outcomes: list[Outcome], report: StageReport) -> None:
    jobs = {
        j.id: j
        for j in session.scalars(select(Job).where(Job.id.in_([o.work.job_id for o in outcomes])))
    }
    for outcome in outcomes:
        job = jobs.get(outcome.work.job_id)
        if job is None or job.status != claims.RUNNING or job.claimed_by != ctx.worker_id:
            continue  # our lease ran out and another worker owns the job now
        report.processed += 1
        if outcome.retry_error:
            retry_at = (
                utcnow() + timedelta(seconds=outcome.retry_after) if outcome.retry_after else None
            )
            claims.fail(session, job, outcome.retry_error, retry_at=retry_at)
            report.failed += 1
            report.errors.append(outcome.retry_error)
            continue
        article = _store_article(session, ctx, outcome)
        claims.complete(session, job)
        claims.enqueue(session, "dedupe", [outcome.work.item_id])
        report.succeeded += 1
        methods = report.details.setdefault("methods", {})
        methods[article.method] = methods.get(article.method, 0) + 1
        event(
            log,
            "article stored",
            logging.DEBUG,
            item=outcome.work.item_id,
            method=article.method,
            words=article.word_count,
            error=article.error or "",
        )


def _release_unfinished(
    session: Session, ctx: Context, work: list[Work], done: list[Outcome]
) -> None:
    finished = {o.work.job_id for o in done}
    for job in session.scalars(
        select(Job).where(Job.id.in_([w.job_id for w in work if w.job_id not in finished]))
    ):
        if job.claimed_by == ctx.worker_id:
            claims.release(session, job)


def run_extract(ctx: Context, limit: int | None = None) -> StageReport:
    """Claim up to `limit` extract jobs (default: the batch size), store their articles."""
    report = StageReport(STAGE)
    lease = timedelta(seconds=ctx.settings.schedule.lease)
    with ctx.session() as session:
        jobs = claims.claim(
            session, STAGE, ctx.worker_id, limit or ctx.settings.schedule.batch_size, lease
        )
        work = _load_work(session, jobs)
    if not work:
        return report
    with ctx.progress("extract", len(work)) as task:
        outcomes = _run_all(ctx, work, task.advance)
    with ctx.session() as session:
        _record(session, ctx, outcomes, report)
        _release_unfinished(session, ctx, work, outcomes)
    report.skipped = len(jobs) - len(work)
    return report
