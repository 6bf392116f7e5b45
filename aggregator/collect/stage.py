"""The collect stage: sync sources from config, fetch the due ones, store items, queue extraction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.collect.engine import Outcome, SourceJob, collect_sources
from aggregator.collect.entrycap import cap_rows
from aggregator.collect.fetch import Fetcher
from aggregator.collect.health import backoff_interval, later, mean_gap, next_interval
from aggregator.collect.rss import one_line
from aggregator.collect.store import (
    enqueue_extract,
    sync_sources,
    update_sources,
    upsert_items,
)
from aggregator.config import ConfigError
from aggregator.context import Context
from aggregator.log import event
from aggregator.report import StageReport
from aggregator.settings import Settings

log = logging.getLogger("aggregator.collect")


class UnknownSource(ConfigError):
    """`collect --source NAME` named no configured source."""


@dataclass
class _Prior:
    """What we knew about a source before this run (for backoff and health)."""

    consecutive_errors: int
    last_item_at: datetime | None
    extra: dict[str, Any]


def due_jobs(
    session: Session, settings: Settings, name: str | None, force: bool, now: datetime
) -> tuple[list[SourceJob], dict[int, _Prior], int]:
    """Return (jobs due now, what we knew of them, how many were not due)."""
    rows = sync_sources(session, settings)
    if name is not None and settings.source(name) is None:
        known = ", ".join(sorted(s.name for s in settings.sources)) or "none"
        raise UnknownSource([f"--source: no source named {name!r} (configured: {known})"])
    jobs, prior, not_due = [], {}, 0
    for config in settings.sources:
        row = rows[config.name]
        if (name is not None and config.name != name) or (row.extra or {}).get("disabled"):
            continue
        if not force and row.next_fetch_at is not None and row.next_fetch_at > now:
            not_due += 1
            continue
        jobs.append(SourceJob(row.id, config, etag=row.etag, last_modified=row.last_modified))
        prior[row.id] = _Prior(row.consecutive_errors or 0, row.last_item_at, row.extra or {})
    return jobs, prior, not_due


def _success_values(
    outcome: Outcome, prior: _Prior, settings: Settings, new_ids: list[int], now: datetime
) -> dict[str, Any]:
    """Return the Source columns to set after a successful fetch."""
    feed = outcome.feed
    # A 304 carries no <ttl>: the one from the last full fetch still holds.
    ttl = feed.ttl_seconds if feed is not None else prior.extra.get("ttl_seconds")
    interval = next_interval(
        outcome.job.config.every,
        settings,
        ttl=ttl,
        max_age=outcome.max_age,
        retry_after=outcome.retry_after,
    )
    values: dict[str, Any] = {
        "last_fetch_at": now,
        "last_success_at": now,
        "next_fetch_at": later(now, interval),
        "last_status": outcome.status,
        "consecutive_errors": 0,
        "last_error": None,
        "fallback": outcome.fallback,
    }
    # Validators are written only when they changed: the 304s of a batch then share every
    # value and are stored with one UPDATE.
    if outcome.etag != outcome.job.etag:
        values["etag"] = outcome.etag
    if outcome.last_modified != outcome.job.last_modified:
        values["last_modified"] = outcome.last_modified
    if feed is not None:
        values["last_warning"] = feed.warning
        if feed.ttl_seconds != prior.extra.get("ttl_seconds"):
            values["extra"] = {**prior.extra, "ttl_seconds": feed.ttl_seconds}
    if new_ids and feed is not None:
        # The feed's own window of recent entries is a fair sample of how often it posts.
        dates = feed.dates()
        newest = max([*dates, *([prior.last_item_at] if prior.last_item_at else [])], default=now)
        values.update(items_added=len(new_ids), last_item_at=newest)
        if mean_gap(dates) is not None:
            values["mean_gap_seconds"] = mean_gap(dates)
    return values


def _error_values(
    outcome: Outcome, prior: _Prior, settings: Settings, now: datetime
) -> dict[str, Any]:
    """Return the Source columns to set after a failed fetch (backoff, one-line error)."""
    errors = prior.consecutive_errors + 1
    delay = backoff_interval(
        errors, outcome.job.config.every, settings, retry_after=outcome.retry_after
    )
    return {
        "last_fetch_at": now,
        "next_fetch_at": later(now, delay),
        "last_status": outcome.status,
        "consecutive_errors": errors,
        "last_error": one_line(outcome.error or "error", 500),
    }


def store_outcome(
    session: Session, outcome: Outcome, prior: _Prior, settings: Settings, now: datetime
) -> tuple[list[int], int, dict[str, Any]]:
    """Store one source's items; return (new item ids, updated, the source's new health)."""
    new_ids: list[int] = []
    updated = 0
    if outcome.error:
        values = _error_values(outcome, prior, settings, now)
    else:
        if outcome.feed is not None:
            dropped = outcome.extra.get("entries_dropped", 0)
            name, cap = outcome.job.config.name, settings.fetch.max_entries
            outcome.feed = cap_rows(outcome.feed, cap, dropped, name)
        if outcome.feed is not None and outcome.feed.rows:
            new_ids, updated = upsert_items(session, outcome.job.source_id, outcome.feed.rows)
        values = _success_values(outcome, prior, settings, new_ids, now)
    return new_ids, updated, {"_sid": outcome.job.source_id, **values}


Stored = tuple[Outcome, list[int], int]


def store_batch(ctx: Context, batch: list[Outcome], prior: dict[int, _Prior]) -> list[Stored]:
    """Store a batch of outcomes in one transaction; return (outcome, new ids, updated) each.

    Items, their extraction jobs and the sources' health commit together. If the batch
    fails, each source is retried alone, and one that still fails is recorded as that
    source's error: a bad row never stops the others.
    """
    now = utcnow()  # one time for the batch, so that sources given the same schedule match
    try:
        with ctx.session() as session:
            results = [
                store_outcome(session, o, prior[o.job.source_id], ctx.settings, now) for o in batch
            ]
            update_sources(session, [health for _, _, health in results])
            enqueue_extract(session, [i for ids, _, _ in results for i in ids])
        return [(o, ids, updated) for o, (ids, updated, _) in zip(batch, results, strict=True)]
    except SQLAlchemyError as exc:
        if len(batch) > 1:
            return [row for outcome in batch for row in store_batch(ctx, [outcome], prior)]
        outcome = batch[0]
        outcome.error = (
            f"collect: {outcome.job.config.name}: cannot store items: {one_line(exc, 200)}"
        )
        outcome.feed = None
        with ctx.session() as session:
            health = store_outcome(
                session, outcome, prior[outcome.job.source_id], ctx.settings, utcnow()
            )[2]
            update_sources(session, [health])
        return [(outcome, [], 0)]


def _account(report: StageReport, outcome: Outcome, new_ids: list[int], updated: int) -> None:
    """Add one outcome to the stage report and the log."""
    name = outcome.job.config.name
    details = report.details
    if outcome.error:
        report.failed += 1
        if len(report.errors) < 100:
            report.errors.append(outcome.error)
        event(log, "source failed", logging.WARNING, source=name, error=outcome.error)
        return
    report.succeeded += 1
    details["new_items"] += len(new_ids)
    details["updated_items"] += updated
    details["not_modified"] += outcome.not_modified
    details["fallbacks"] += outcome.fallback is not None
    details["new_item_ids"].extend(new_ids)
    event(
        log,
        "source collected",
        source=name,
        new=len(new_ids),
        updated=updated,
        not_modified=outcome.not_modified,
        ms=outcome.elapsed_ms,
    )


def run_collect(ctx: Context, source: str | None = None, force: bool = False) -> StageReport:
    """Collect due sources (one with `source`, all now with `force`); return the stage report.

    A source that fails is recorded on its row (error, backoff) and never stops the others.
    A source's items, extraction jobs and health commit together (a few sources per
    transaction), so a kill loses or duplicates nothing: an uncommitted source is still due.
    """
    settings = ctx.settings
    report = StageReport(
        "collect",
        details={
            "new_items": 0,
            "updated_items": 0,
            "not_modified": 0,
            "fallbacks": 0,
            "not_due": 0,
            "new_item_ids": [],
        },
    )
    with ctx.session() as session:
        jobs, prior, report.details["not_due"] = due_jobs(
            session, settings, source, force, utcnow()
        )
    report.skipped += report.details["not_due"]
    if not jobs:
        return report
    fetcher = Fetcher(settings.fetch, settings.site.base_url, settings.site.title)
    try:
        with ctx.progress("collect", len(jobs)) as task:
            for batch in collect_sources(jobs, fetcher, settings, stop=lambda: ctx.stop_requested):
                task.advance(len(batch))
                report.processed += len(batch)
                live = [o for o in batch if not o.skipped]
                report.skipped += len(batch) - len(live)
                for outcome, new_ids, updated in store_batch(ctx, live, prior) if live else []:
                    _account(report, outcome, new_ids, updated)
    finally:
        fetcher.close()
    return report
