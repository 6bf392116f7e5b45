"""The orchestrator: one readable function per job, calling the stage runners in order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aggregator.collect.stage import run_collect
from aggregator.context import Context
from aggregator.db.claims import make_due_now
from aggregator.dedupe.stage import run_dedupe
from aggregator.deliver.stage import run_deliver
from aggregator.extract.stage import run_extract
from aggregator.log import event
from aggregator.notify.stage import run_notify
from aggregator.publish.stage import run_publish
from aggregator.recap.stage import run_recap
from aggregator.report import StageReport
from aggregator.revise.stage import run_revise
from aggregator.summarize.stage import run_summarize

log = logging.getLogger("aggregator.pipeline")

# Stage name -> runner. Work flows top to bottom.
RUNNERS: dict[str, Callable[..., StageReport]] = {
    "collect": run_collect,
    "extract": run_extract,
    "dedupe": run_dedupe,
    "summarize": run_summarize,
    "revise": run_revise,
    "publish": run_publish,
    "recap": run_recap,
    "deliver": run_deliver,
    "notify": run_notify,
}
PROCESS_STAGES = ("extract", "dedupe", "summarize", "revise")
# Bound on rounds of the process loop so a stage that keeps re-queueing cannot spin forever.
MAX_ROUNDS = 50


def run_stage(ctx: Context, stage: str, **options: Any) -> StageReport:
    """Run one stage once and log its summary line."""
    report = RUNNERS[stage](ctx, **options)
    event(
        log,
        "stage finished",
        stage=stage,
        ok=report.succeeded,
        failed=report.failed,
        skipped=report.skipped,
        processed=report.processed,
    )
    return report


def process_pending(ctx: Context, stages: tuple[str, ...] = PROCESS_STAGES) -> list[StageReport]:
    """Run extract -> dedupe -> summarize -> revise until none finds ready work; return reports."""
    merged = {stage: StageReport(stage) for stage in stages}
    for _ in range(MAX_ROUNDS):
        progressed = False
        for stage in stages:
            if ctx.stop_requested:
                return list(merged.values())
            report = run_stage(ctx, stage)
            _merge(merged[stage], report)
            progressed = progressed or report.processed > 0
        if not progressed:
            break
    return [merged[s] for s in stages]


def drain_stage(
    ctx: Context,
    stage: str,
    limit: int | None = None,
    on_batch: Callable[[StageReport], None] | None = None,
) -> StageReport:
    """Run one stage batch after batch until it finds no ready work or `limit` units are done.

    Returns the merged report; `on_batch` sees each batch's report (for a progress bar).
    """
    total = StageReport(stage)
    while not ctx.stop_requested:
        options: dict[str, Any] = {}
        if limit is not None:
            left = limit - total.processed
            if left <= 0:
                break
            # Batches keep their usual size so leases stay short; only the last one is smaller.
            if left < ctx.settings.schedule.batch_size:
                options["limit"] = left
        report = run_stage(ctx, stage, **options)
        _merge(total, report)
        if on_batch is not None:
            on_batch(report)
        # Units that failed are re-queued with a delay, so an empty batch means nothing is ready.
        if report.processed == 0:
            break
    return total


def run_once(ctx: Context, *, publish: bool = True, force: bool = False) -> list[StageReport]:
    """Run every stage once, in order: collect, process pending work, publish, notify.

    `force` fetches every source now (ignoring schedules and error backoff) and makes
    work waiting for a retry ready at once.
    """
    reports: list[StageReport] = []
    if force:
        with ctx.session() as session:
            event(log, "forced", jobs_made_due=make_due_now(session))
    reports.append(run_stage(ctx, "collect", force=force))
    reports += process_pending(ctx)
    if publish and not ctx.stop_requested:
        reports.append(run_stage(ctx, "publish"))
    if not ctx.stop_requested:  # after publish: the pages exist
        reports.append(run_stage(ctx, "notify"))
    return reports


def _merge(total: StageReport, part: StageReport) -> None:
    total.processed += part.processed
    total.succeeded += part.succeeded
    total.failed += part.failed
    total.skipped += part.skipped
    total.errors += part.errors
    for key, value in part.details.items():
        if isinstance(value, int | float) and isinstance(total.details.get(key, 0), int | float):
            total.details[key] = total.details.get(key, 0) + value
        else:
            total.details[key] = value
