"""Many sources at once: fetch in threads, parse feeds in a process pool (both cores).

Plain data in (SourceJob), plain data out (Outcome) as each source finishes; the caller
stores them. A failing source becomes an Outcome with an error, never an exception.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aggregator.collect.compact import CompactFeed, compact, parse_compact
from aggregator.collect.entrycap import trim_feed
from aggregator.collect.fetch import Fetcher, FetchError, FetchResult
from aggregator.collect.health import cache_max_age
from aggregator.collect.reddit import RedditError, RedditResult, collect_subreddit, make_reddit
from aggregator.collect.rss import FEED_ACCEPT, one_line, parse_feed
from aggregator.pools import process_pool
from aggregator.settings import RedditSource, RSSSource, Settings

# Below this many feeds, starting worker processes costs more than parsing in the threads.
PROCESS_POOL_MIN_FEEDS = 16


@dataclass
class SourceJob:
    """One source to collect now, with the validators from its last fetch."""

    source_id: int
    config: RSSSource | RedditSource
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Outcome:
    """How collecting one source went."""

    job: SourceJob
    feed: CompactFeed | None = None
    not_modified: bool = False
    error: str | None = None
    skipped: bool = False
    status: int | None = None
    retry_after: float | None = None
    max_age: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    fallback: str | None = None
    elapsed_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _from_fetch(job: SourceJob, result: FetchResult) -> Outcome:
    """Return an outcome carrying what the response says about caching and validators."""
    return Outcome(
        job=job,
        not_modified=result.not_modified,
        status=result.status,
        retry_after=result.retry_after,
        max_age=cache_max_age(result.headers),
        # A 304 may omit the validators; keep the ones we sent (RFC 9110 §15.4.5).
        etag=result.etag or job.etag,
        last_modified=result.last_modified or job.last_modified,
        elapsed_ms=result.elapsed_ms,
    )


class Collector:
    """Runs the fetch threads and the parse processes for one batch of sources."""

    def __init__(
        self, settings: Settings, fetcher: Fetcher, stop: Callable[[], bool], workers: int = 0
    ):
        self.settings = settings
        self.fetcher = fetcher
        self.stop = stop
        self.results: queue.Queue[Outcome] = queue.Queue()
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._reddit: Any = None
        self._reddit_lock = threading.Lock()

    def _finish_parse(self, outcome: Outcome, future: Future[CompactFeed]) -> None:
        try:
            outcome.feed = future.result()
        except Exception as exc:  # a worker process died (out of memory, killed)
            outcome.error = (
                f"collect: {outcome.job.config.name}: parser process failed: {one_line(exc, 200)}"
            )
        self.results.put(outcome)

    def guarded(self, work: Callable[[SourceJob], None], job: SourceJob) -> None:
        """Run one source's work; a bug becomes that source's error, never a hung batch."""
        try:
            work(job)
        except Exception as exc:
            self.results.put(
                Outcome(
                    job=job,
                    error=f"collect: {job.config.name}: internal "
                    f"error: {type(exc).__name__}: {one_line(exc, 200)}",
                )
            )

    def work_through(self, todo: deque[tuple[Callable[[SourceJob], None], SourceJob]]) -> None:
        """Take sources off the shared queue until it is empty: one task per thread, not one
        per source, so the caller is not handing work over (and contending for the GIL with
        every busy thread) a thousand times before it can store the first outcome."""
        while True:
            try:
                work, job = todo.popleft()
            except IndexError:
                return
            self.guarded(work, job)

    def fetch_rss(self, job: SourceJob) -> None:
        """Fetch one feed; hand its body to the parse pool (or parse here) and report."""
        config = job.config
        assert isinstance(config, RSSSource)
        if self.stop():
            self.results.put(Outcome(job=job, skipped=True))
            return
        try:
            result = self.fetcher.fetch(
                config.url, etag=job.etag, last_modified=job.last_modified, accept=FEED_ACCEPT
            )
        except FetchError as exc:
            self.results.put(
                Outcome(
                    job=job,
                    error=str(exc),
                    status=exc.status,
                    retry_after=exc.retry_after,
                    extra={"kind": exc.kind},
                )
            )
            return
        outcome = _from_fetch(job, result)
        # Cut a huge feed to its newest entries before parsing (memory, time): issue 19.
        body, outcome.extra["entries_dropped"] = trim_feed(
            result.body, self.settings.fetch.max_entries
        )
        pool = None if result.not_modified else self._parse_pool()
        if result.not_modified:
            self.results.put(outcome)
        elif pool is not None:
            # A worker parses and also makes the rows (hashes, JSON): work there is spread
            # over the cores, while this process's own CPU (network, database) comes on top.
            future = pool.submit(parse_compact, body, result.url, result.headers)
            future.add_done_callback(lambda f: self._finish_parse(outcome, f))
        else:
            outcome.feed = compact(parse_feed(body, result.url, result.headers))
            self.results.put(outcome)

    def _parse_pool(self) -> ProcessPoolExecutor | None:
        """Return the parse pool, started on the first body to parse (a run of 304s needs none)."""
        if not self.workers:
            return None
        with self._pool_lock:
            if self.pool is None:
                self.pool = process_pool(self.workers, ["aggregator.collect.compact"])
            return self.pool

    def close(self) -> None:
        """Stop the parse pool (waiting for parses in progress)."""
        with self._pool_lock:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
            self.workers = 0

    def collect_reddit(self, job: SourceJob) -> None:
        """Read one subreddit (API or RSS fallback) and report."""
        config = job.config
        assert isinstance(config, RedditSource)
        if self.stop():
            self.results.put(Outcome(job=job, skipped=True))
            return
        try:
            # One praw client, used by one thread at a time: praw is not thread-safe, and
            # Reddit's rate limit is per client anyway.
            with self._reddit_lock:
                result = collect_subreddit(
                    config,
                    self.settings.reddit,
                    self.fetcher,
                    reddit=self._praw(),
                    etag=job.etag,
                    last_modified=job.last_modified,
                )
        except (RedditError, FetchError) as exc:
            self.results.put(Outcome(job=job, error=str(exc), retry_after=exc.retry_after))
            return
        self.results.put(self._from_reddit(job, result))

    def _praw(self) -> Any:
        """Return the shared praw client (None without credentials)."""
        reddit = self.settings.reddit
        if self._reddit is None and reddit.has_credentials:
            self._reddit = make_reddit(reddit, self.fetcher.user_agent, self.settings.fetch.timeout)
        return self._reddit

    def _from_reddit(self, job: SourceJob, result: RedditResult) -> Outcome:
        outcome = _from_fetch(job, result.fetch) if result.fetch else Outcome(job=job)
        outcome.feed = None if outcome.not_modified else compact(result.feed)
        outcome.fallback = result.fallback
        return outcome


def _pool_size(feeds: int) -> int:
    """Return how many parse processes to start (0: parse in the fetch threads)."""
    cpus = os.cpu_count() or 1
    return 0 if feeds < PROCESS_POOL_MIN_FEEDS or cpus < 2 else min(cpus, 8)


def _host(config: RSSSource | RedditSource) -> str:
    """Return the host a source's requests go to (its slots), "reddit" for every subreddit."""
    if isinstance(config, RedditSource):
        return "reddit"
    try:
        return (urlsplit(config.url).hostname or config.url).lower()
    except ValueError:  # the fetcher reports it; here it only counts as a host of its own
        return config.url


def _fetch_threads(jobs: list[SourceJob], settings: Settings) -> int:
    """Return how many fetch threads can be busy at once: `[fetch] concurrency`, but no more
    than the hosts' slots allow (`per_host_concurrency` each). More threads only wait for a
    slot, and each one more contending for the GIL makes every request cost more CPU."""
    per_host = settings.fetch.per_host_concurrency
    hosts = Counter(_host(job.config) for job in jobs)
    useful = sum(min(count, per_host) for count in hosts.values())
    return max(1, min(settings.fetch.concurrency, useful))


def _next_batch(results: queue.Queue[Outcome], size: int, max_wait: float) -> list[Outcome]:
    """Return the next outcome plus whatever else arrives within max_wait, up to size.

    Few large transactions beat many small ones: each commit (and each GIL hand-back after
    a database call) costs far more than a row.
    """
    batch = [results.get()]
    deadline = time.monotonic() + max_wait
    while len(batch) < size:
        try:
            batch.append(results.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
    return batch


def collect_sources(
    jobs: list[SourceJob],
    fetcher: Fetcher,
    settings: Settings,
    *,
    stop: Callable[[], bool] = lambda: False,
    max_batch: int = 100,
    max_wait: float = 0.25,
) -> Iterator[list[Outcome]]:
    """Yield every job's Outcome, in completion order, in batches of whatever is ready.

    Fetching (threads) and parsing (processes) go on while the caller stores a batch, so
    a slow store makes the next batch bigger instead of stalling the network.
    """
    rss = [j for j in jobs if isinstance(j.config, RSSSource)]
    reddit = [j for j in jobs if isinstance(j.config, RedditSource)]
    collector = Collector(settings, fetcher, stop, workers=_pool_size(len(rss)))
    todo: deque[tuple[Callable[[SourceJob], None], SourceJob]] = deque(
        [(collector.fetch_rss, job) for job in rss]
        + [(collector.collect_reddit, job) for job in reddit]
    )
    count = _fetch_threads(jobs, settings)
    threads = ThreadPoolExecutor(count, thread_name_prefix="collect")
    try:
        for _ in range(count):
            threads.submit(collector.work_through, todo)
        remaining = len(jobs)
        while remaining:
            batch = _next_batch(collector.results, min(max_batch, remaining), max_wait)
            remaining -= len(batch)
            yield batch
    finally:
        todo.clear()  # a caller that stops early: no source is started after this
        threads.shutdown(wait=True, cancel_futures=True)
        collector.close()
