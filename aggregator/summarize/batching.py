"""The summarize stage's Batch API path: a backlog submitted as one batch, polled, stored.

Part of the stage's runner (it claims jobs and stores cards). A batch row and its claimed
jobs are committed before anything is uploaded, and the remote id right after the batch
is created, so a restart finds the batch (by its tag if the crash came in between) and
never submits the same stories twice. Every answer is validated and grounded like a live
one; a line that failed, or whose card is not grounded enough, is asked live.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aggregator.context import Context
from aggregator.llm.batch import FINISHED, BatchAPI, LineResult, request_line
from aggregator.llm.complete import starting_mode
from aggregator.llm.pricing import DailyBudget
from aggregator.llm.store import (
    DbModeMemory,
    add_batch,
    open_batches,
    record_calls,
    update_batch,
)
from aggregator.log import event
from aggregator.report import StageReport
from aggregator.summarize.batched import Requests
from aggregator.summarize.store import (
    ask_live,
    backlog_size,
    claim_backlog,
    give_back,
    jobs_by_id,
    load_stories,
    release,
    store_cards,
    without_llm_cards,
    write_batch,
)
from aggregator.summarize.summarizer import CardResult, ExtractiveSummarizer, StoryInput
from aggregator.summarize.workloop import Outcome, Unit

log = logging.getLogger("aggregator.summarize.batch")


def worker_of(batch_id: int) -> str:
    """Return the claim owner of a batch's jobs."""
    return f"batch:{batch_id}"


def submit_backlog(ctx: Context, api: BatchAPI, parts: Requests, spent: float,
                   report: StageReport) -> int:  # fmt: skip
    """Submit the waiting stories as one batch when there are more than the threshold."""
    settings = ctx.settings.llm
    memory = DbModeMemory(ctx.sessions, parts.config.mode_reprobe_after)
    mode = starting_mode(parts.config, memory.get(parts.config.server_key))[0]
    with ctx.session() as session:
        if backlog_size(session) <= settings.batch_threshold:
            return 0
        batch_id = add_batch(session, parts.config.model, mode, {})
        jobs = claim_backlog(session, worker_of(batch_id), 50_000)  # the Batch API's line limit
        stories = load_stories(session, [job.subject_id for job in jobs])
        budget = DailyBudget(settings.daily_budget_usd, spent)
        lines, owners, waiting = [], {}, []
        for job in jobs:
            story = stories.get(job.subject_id)
            body = parts.body(story, mode) if story else None
            estimate = parts.estimate(body) if body else 0.0
            if body is None or not budget.admit(estimate):
                release(session, job)  # live (or tomorrow) takes it
                continue
            custom_id = f"story-{story.story_id}"
            lines.append(request_line(custom_id, body))
            owners[custom_id] = job.id
            waiting.append(story)
        update_batch(session, batch_id, lines=owners, status="preparing" if lines else "done")
    if not lines:
        return 0
    try:
        remote_id = api.submit(lines, tag=str(batch_id))
    except Exception as exc:
        _give_back(ctx, batch_id, owners, f"batch: could not submit: {exc}", retry_live=False)
        return 0
    with ctx.session() as session:
        update_batch(session, batch_id, remote_id=remote_id, status="submitted")
        if ctx.settings.llm.fill_with_extractive:  # the batch may take hours: no hole meanwhile
            store_cards(session, without_llm_cards(session, stand_ins(ctx, waiting)))
    report.details["batch_submitted"] = report.details.get("batch_submitted", 0) + len(lines)
    event(log, "summarize: batch submitted", batch=remote_id, stories=len(lines))
    return len(lines)


def stand_ins(ctx: Context, stories: list[StoryInput]) -> dict[int, CardResult]:
    """Return labelled extractive cards for stories whose LLM card is in a batch."""
    writer = ExtractiveSummarizer(ctx.settings)

    async def make_all() -> list[CardResult]:
        return [await writer.summarize(story) for story in stories]

    made = asyncio.run(make_all())
    for result in made:
        result.meta.fallback_reason = "waiting for the Batch API's answer"
    return {story.story_id: result for story, result in zip(stories, made, strict=True)}


def _give_back(ctx: Context, batch_id: int, owners: dict[str, int], reason: str,
               *, retry_live: bool) -> None:  # fmt: skip
    """Return a batch's jobs to the queue (asked live next when `retry_live`); close the row."""
    with ctx.session() as session:
        give_back(session, list(owners.values()), worker_of(batch_id), reason,
                  retry_live=retry_live)  # fmt: skip
        update_batch(session, batch_id, status="failed", error=reason[:500])
    event(log, "summarize: batch given back", logging.WARNING, batch=batch_id, reason=reason)


def poll_batches(ctx: Context, api: BatchAPI, parts: Requests, report: StageReport) -> None:
    """Advance every open batch: adopt one created before a crash, store finished ones."""
    with ctx.session() as session:
        rows = open_batches(session)
    for row in rows:
        remote_id = row["remote_id"]
        if remote_id is None:  # interrupted between the row and the remote id
            remote_id = api.find(str(row["id"]))
            if remote_id is None:
                _give_back(ctx, row["id"], row["lines"], "batch: interrupted before it was "
                           "created; queued again", retry_live=False)  # fmt: skip
                continue
            with ctx.session() as session:
                update_batch(session, row["id"], remote_id=remote_id, status="submitted")
        remote = api.poll(remote_id)
        if remote.status not in FINISHED:
            with ctx.session() as session:
                update_batch(session, row["id"], remote_status=remote.status)
            continue
        results = api.results(remote) if remote.status == "completed" else {}
        store_batch(ctx, row, results, parts, report)
        with ctx.session() as session:
            update_batch(session, row["id"], remote_status=remote.status,
                         status="done" if remote.status == "completed" else "failed",
                         error=remote.error)  # fmt: skip


def store_batch(ctx: Context, row: dict[str, Any], results: dict[str, LineResult],
                parts: Requests, report: StageReport) -> None:  # fmt: skip
    """Store a finished batch's cards; lines that failed or are missing are asked live."""
    worker, mode = worker_of(row["id"]), row["output_mode"] or "json_schema"
    with ctx.session() as session:
        jobs = jobs_by_id(session, list(row["lines"].values()))
        stories = load_stories(session, [job.subject_id for job in jobs.values()])
        done, retry, records = [], {}, []
        for custom_id, job_id in row["lines"].items():
            job = jobs.get(job_id)
            if job is None or job.claimed_by != worker or job.subject_id not in stories:
                continue  # the lease ran out and a live worker took it
            story = stories[job.subject_id]
            result = results.get(custom_id) or LineResult(custom_id, error="batch: no answer")
            made, record = parts.card(story, mode, result)
            if isinstance(made, CardResult):
                done.append((Unit(job.id, story, job.attempts), Outcome(made, None, made.records)))
            else:
                retry[job.id], records = made, [*records, record]
        write_batch(session, worker, done, ctx.settings.llm.fallback_retry_after)
        record_calls(session, records)
        for job_id, reason in retry.items():  # attempts stay counted: the live path takes them
            ask_live(session, jobs[job_id], reason)
    details = report.details
    details["batch_cards"] = details.get("batch_cards", 0) + len(done)
    details["batch_retried_live"] = details.get("batch_retried_live", 0) + len(retry)
    report.processed += len(done)
    report.succeeded += len(done)
    report.details["cost_usd"] = round(
        details.get("cost_usd", 0.0)
        + sum(o.result.meta.cost_usd for _, o in done if o.result)
        + sum(r.cost_usd for r in records),
        6,
    )


def run_batches(ctx: Context, report: StageReport, spent: float) -> None:
    """Poll open batches, then submit the backlog as a new one when it is big enough."""
    parts = Requests.from_settings(ctx.settings, **ctx.extras.get("llm_client", {}))
    api = BatchAPI(parts.config)
    try:
        poll_batches(ctx, api, parts, report)
        submit_backlog(ctx, api, parts, spent, report)
    except Exception as exc:
        event(log, "summarize: batch step failed", logging.WARNING,
              error=" ".join(str(exc).split())[:500])  # fmt: skip
        report.errors.append(f"batch: {' '.join(str(exc).split())[:300]}")
    finally:
        api.close()
