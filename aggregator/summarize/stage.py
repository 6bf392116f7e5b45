"""The summarize stage: claim story jobs, write cards with bounded concurrency, record every call."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import Article, Item, Job, Source, Story, StoryTopic
from aggregator.db.models import Card as CardRow
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.output import BudgetExceeded
from aggregator.llm.pricing import DailyBudget, next_utc_day
from aggregator.llm.store import DbCache, DbModeMemory, record_calls, spent_today
from aggregator.log import event
from aggregator.report import StageReport
from aggregator.summarize.store import keep_stand_in, without_llm_cards
from aggregator.summarize.summarizer import (
    CardResult,
    ExtractiveSummarizer,
    LLMSummarizer,
    StoryInput,
    card_hash,
    story_rank,
)
from aggregator.summarize.workloop import BudgetSpent, Outcome, Unit, WorkLoop

log = logging.getLogger("aggregator.pipeline.summarize")
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
            score=_int(engagement.get("score")),
            comments=_int(engagement.get("comments", engagement.get("num_comments"))),
            age_hours=(now - story.published_at).total_seconds() / 3600,
            source_count=story.source_count or 1,
        )
        count += 1
    return count


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def load_stories(session: Session, story_ids: list[int]) -> dict[int, StoryInput]:
    """Return the summarizing input of each story with text: its primary item's article."""
    columns = (Story.id, Story.title, Item.title, Item.url, Item.published_at, Item.summary,
               Item.content_html, Article.text, Article.title, Source.name)  # fmt: skip
    query = (
        select(*columns).select_from(Story)
        .join(Item, or_(Item.id == Story.primary_item_id, Item.story_id == Story.id))
        .outerjoin(Article, Article.item_id == Item.id)
        .outerjoin(Source, Source.id == Item.source_id)
        .where(Story.id.in_(story_ids))
        # The primary item first; a story without one falls back to its oldest item.
        .order_by(Story.id, (Item.id == Story.primary_item_id).desc(), Item.id)
    )  # fmt: skip
    stories: dict[int, StoryInput] = {}
    for (
        sid,
        story_title,
        title,
        url,
        published,
        summary,
        html,
        text,
        a_title,
        source,
    ) in session.execute(query):
        if sid in stories:
            continue
        if not (text and text.strip()):  # no extracted text: fall back to what the feed said
            text = " ".join(_TAGS.sub(" ", summary or html or "").split())
        title = title or a_title or story_title or ""
        if text or title:
            stories[sid] = StoryInput(
                story_id=sid,
                title=title,
                text=text or title,
                source_name=source or "",
                url=url,
                published_at=published,
            )
    return stories


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


def store_cards(session: Session, results: dict[int, CardResult]) -> None:
    """Insert or update stories' cards (a new revision when content changed) and their topics."""
    existing = {row.story_id: row for row in session.scalars(
        select(CardRow).where(CardRow.story_id.in_(results)))}  # fmt: skip
    new = []
    for story_id, result in results.items():
        data = result.card.model_dump(mode="json")
        fields = {"card": data, "content_hash": card_hash(data), "updated_at": utcnow(),
                  **result.meta.model_dump()}  # fmt: skip
        row = existing.get(story_id)
        if row is None:
            new.append({"story_id": story_id, "revision": 1, "created_at": utcnow(), **fields})
        elif row.content_hash != fields["content_hash"] or row.mode != result.meta.mode:
            for key, value in fields.items():
                setattr(row, key, value)
            row.revision += 1
    if new:  # one multi-row insert: this runs for every batch of cards
        session.execute(insert(CardRow), new)
    session.execute(delete(StoryTopic).where(StoryTopic.story_id.in_(results)))
    topics = [{"story_id": story_id, "topic_slug": t.slug, "score": t.score}
              for story_id, result in results.items() for t in result.topics]  # fmt: skip
    if topics:
        session.execute(insert(StoryTopic), topics)


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
            return _write(session, ctx.worker_id, batch, ctx.settings.llm.fallback_retry_after)
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


def _write(
    session: Session, worker: str, batch: list[tuple[Unit, Outcome]], retry_after: float
) -> list[str]:
    """Store a batch of outcomes; return what happened to each."""
    record_calls(session, [record for _, outcome in batch for record in outcome.records])
    ids = [unit.job_id for unit, _ in batch]
    jobs = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(ids)))}
    owned = {i for i, job in jobs.items()
             if job.claimed_by == worker and job.status == claims.RUNNING}  # fmt: skip
    cards = {unit.story.story_id: outcome.result for unit, outcome in batch
             if outcome.result is not None and unit.job_id in owned}  # fmt: skip
    stand_ins = {unit.story.story_id: outcome.fallback for unit, outcome in batch
                 if outcome.fallback is not None and unit.job_id in owned}  # fmt: skip
    cards.update(without_llm_cards(session, stand_ins))
    if cards:
        store_cards(session, cards)
    statuses = []
    for unit, outcome in batch:
        if unit.job_id not in owned:
            statuses.append("lost")  # our lease ran out and another worker owns the job now
        else:
            statuses.append(_settle(session, jobs[unit.job_id], outcome, retry_after))
    return statuses


def _settle(session: Session, job: Job, outcome: Outcome, retry_after: float) -> str:
    """Move a job on after its outcome: done, released (tomorrow if over budget) or failed."""
    if outcome.result is not None:
        claims.complete(session, job)
        return "ok"
    error = outcome.error
    if outcome.fallback is not None and error is not None:
        return keep_stand_in(session, job, error, retry_after)
    if isinstance(error, BudgetExceeded):
        claims.release(session, job, next_attempt_at=next_utc_day())
        return "budget"
    if error is None:
        claims.release(session, job)
        return "released"
    delay = claims.retry_delay(job.attempts).total_seconds()
    wait = max(delay, error.retry_after or 0.0)
    claims.fail(session, job, str(error), retry_at=utcnow() + timedelta(seconds=wait))
    return "failed"


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
