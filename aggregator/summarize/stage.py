"""The summarize stage: claim story jobs, write cards with bounded concurrency, record every call."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.coerce import as_int
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Item, Job, Source, Story
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.output import BudgetExceeded
from aggregator.llm.pricing import DailyBudget
from aggregator.llm.store import DbCache, DbModeMemory, spent_today
from aggregator.log import event
from aggregator.report import StageReport
from aggregator.summarize.store import load_stories, write_batch
from aggregator.summarize.summarizer import (
    ExtractiveSummarizer,
    LLMSummarizer,
    story_rank,
)
from aggregator.summarize.workloop import BudgetSpent, Outcome, Unit, WorkLoop

log = logging.getLogger("aggregator.summarize")
STAGE = "summarize"
_TAGS = re.compile(r"<[^>]+>")


def rank_pending(session: Session, ctx: Context) -> int:
    """Set each pending summarize job's priority to its story's rank; return how many."""
    now = utcnow()
    rows = session.execute(
        select(Job, Story, Item, Source)
        .join(Story, Story.id == Job.subject_id)
        .outerjoin(Item, Item.id == Story.primary_item_id)
        .outerjoin(Source, Source.id == Item.source_id)
        .where(Job.stage == STAGE, Job.status == claims.PENDING)
    )
    count = 0
    for job, story, item, source in rows:
        configured = ctx.settings.source(source.name) if source else None
        engagement = (item.engagement if item else None) or {}
        job.priority = story_rank(
            source_priority=configured.priority if configured else 0,
            score=as_int(engagement.get("score")),
            comments=as_int(engagement.get("comments", engagement.get("num_comments"))),
            age_hours=(now - story.published_at).total_seconds() / 3600,
            source_count=story.source_count or 1,
        )
        count += 1
    return count


def claim_units(ctx: Context, limit: int) -> list[Unit]:
    """Claim up to `limit` summarize jobs and load their stories; empty stories are skipped."""
    lease = timedelta(seconds=ctx.settings.schedule.lease)
    with ctx.session() as session:
        jobs = claims.claim(session, STAGE, ctx.worker_id, limit, lease)
        stories = load_stories(session, [job.subject_id for job in jobs]) if jobs else {}
        units = []
        for job in jobs:
            if job.subject_id not in stories:
                job.last_error = "summarize: story has no item text to summarize"
                claims.complete(session, job, claims.SKIPPED)
                continue
            units.append(Unit(job.id, stories[job.subject_id], job.attempts))
        return units


def write_outcomes(
    ctx: Context, batch: list[tuple[Unit, Outcome]], cache: DbCache | None = None
) -> list[str]:
    """Store outcomes and their ledger rows in one transaction; return what happened to each.

    If the batch fails (a database error), each outcome is retried alone so one
    bad row cannot hold back the others; a unit that still fails keeps its lease
    and is claimed again when the lease runs out.
    """
    try:
        with ctx.session() as session:
            if cache is not None:
                cache.flush(session)  # answers paid for are kept even if their job was lost
            return write_batch(session, ctx.worker_id, batch, ctx.settings.llm.fallback_retry_after)
    except Exception as exc:
        if len(batch) == 1:
            event(
                log,
                "summarize: cannot store outcome",
                logging.ERROR,
                story=batch[0][0].story.story_id,
                error=str(exc).splitlines()[0],
            )
            return ["failed"]
    return [write_outcomes(ctx, [pair], cache)[0] for pair in batch]


def tally(report: StageReport, unit: Unit, outcome: Outcome, status: str) -> None:
    """Count one stored outcome in the report."""
    details = report.details
    report.processed += 1
    details["calls"] = details.get("calls", 0) + sum(not r.cached for r in outcome.records)
    details["cached"] = details.get("cached", 0) + sum(r.cached for r in outcome.records)
    cost = details.get("cost_usd", 0.0) + sum(r.cost_usd for r in outcome.records)
    details["cost_usd"] = round(cost, 6)
    if status == "ok":
        report.succeeded += 1
    elif status == "failed":
        report.failed += 1
        report.errors.append(f"story {unit.story.story_id}: {outcome.error}")
    elif status == "fallback":  # a labelled extractive card stands in; the LLM is asked later
        report.skipped += 1
        details["fallback"] = details.get("fallback", 0) + 1
        if not isinstance(outcome.error, BudgetExceeded):
            report.errors.append(f"story {unit.story.story_id}: {outcome.error}")
    else:
        report.skipped += 1


async def _run_llm(ctx: Context, loop: WorkLoop, budget: DailyBudget, cap: int) -> None:
    overrides = ctx.extras.get("llm_client", {})  # tests and benchmarks tune backoff here
    cache = DbCache(ctx.engine, deferred=True)
    loop.store = partial(write_outcomes, ctx, cache=cache)
    async with LLMClient(ClientConfig.from_settings(ctx.settings.llm, **overrides)) as client:
        loop.summarizer = LLMSummarizer(
            ctx.settings, client, cache=cache,
            modes=DbModeMemory(ctx.sessions, client.config.mode_reprobe_after), budget=budget,
        )  # fmt: skip
        await loop.run(cap, ctx.settings.llm.max_concurrency)


def _fill(ctx: Context, loop: WorkLoop, cap: int) -> None:
    """Give stories still waiting an extractive stand-in until the budget allows the LLM."""
    loop.stop, loop.summarizer = None, BudgetSpent()
    asyncio.run(loop.run(cap, 1))


def run_summarize(ctx: Context, limit: int | None = None, drain: bool = False) -> StageReport:
    """Summarize pending stories (LLM when configured, else extractive) and return the counts.

    One run takes `[llm] max_items_per_run` stories; `drain` (the `summarize` command)
    takes every ready one, or `limit`.
    """
    settings = ctx.settings
    report = StageReport(STAGE)
    cap = limit or (10**9 if drain else settings.llm.max_items_per_run)
    with ctx.session() as session:
        waiting = rank_pending(session, ctx)
        spent = spent_today(session)
    if settings.llm.enabled and settings.llm.batch_enabled:
        from aggregator.summarize.batching import run_batches  # it imports this module

        run_batches(ctx, report, spent)
        with ctx.session() as session:
            spent = spent_today(session)
    loop = WorkLoop(
        summarizer=None, claim=partial(claim_units, ctx), store=partial(write_outcomes, ctx),
        stored=partial(tally, report), stopping=lambda: ctx.stop_requested,
    )  # fmt: skip
    fill = settings.llm.enabled and settings.llm.fill_with_extractive
    if fill:
        loop.fallback = ExtractiveSummarizer(settings)
    with ctx.progress("summarize", min(waiting, cap) or None) as task:
        loop.progress = task
        try:
            if settings.llm.enabled:
                report.details["mode"] = "llm"
                budget = DailyBudget(settings.llm.daily_budget_usd, spent)
                if not budget.exhausted:
                    asyncio.run(_run_llm(ctx, loop, budget, cap))
                else:
                    loop.stop = "budget"
                if loop.stop == "budget" and fill and not ctx.stop_requested:
                    _fill(ctx, loop, cap - report.processed)
                    loop.stop = "budget"
            else:
                report.details["mode"] = "extractive"
                loop.summarizer = ExtractiveSummarizer(settings)
                asyncio.run(loop.run(cap, 1))
        finally:
            loop.close()
    if loop.stop:
        report.details["budget_reached" if loop.stop == "budget" else "stopped"] = loop.stop
        event(log, "summarize: stopped early", logging.WARNING, reason=loop.stop)
    return report
