"""The orchestrator: one readable function per job, calling the stage runners in order."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from aggregator.context import Context
from aggregator.log import event
from aggregator.report import StageNotBuilt, StageReport

log = logging.getLogger("aggregator.pipeline")

# Stage name -> (module, runner function). Work flows top to bottom.
RUNNERS: dict[str, tuple[str, str]] = {
    "collect": ("aggregator.collect.stage", "run_collect"),
    "extract": ("aggregator.extract.stage", "run_extract"),
    "dedupe": ("aggregator.dedupe.stage", "run_dedupe"),
    "summarize": ("aggregator.summarize.stage", "run_summarize"),
    "revise": ("aggregator.revise.stage", "run_revise"),
    "publish": ("aggregator.publish.stage", "run_publish"),
    "recap": ("aggregator.recap.stage", "run_recap"),
    "deliver": ("aggregator.deliver.stage", "run_deliver"),
    "notify": ("aggregator.notify.stage", "run_notify"),
}
PROCESS_STAGES = ("extract", "dedupe", "summarize", "revise")
# Bound on rounds of the process loop so a stage that keeps re-queueing cannot spin forever.
MAX_ROUNDS = 50


def load_runner(stage: str) -> Callable[..., StageReport]:
    """Return the runner function of a stage; raise StageNotBuilt if its code does not exist."""
    module_name, function = RUNNERS[stage]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise StageNotBuilt(f"{stage}: this stage is not built yet") from None
        raise
    return getattr(module, function)


def available_stages() -> list[str]:
    """Return the stages whose runner exists, in flow order."""
    out = []
    for stage in RUNNERS:
        try:
            load_runner(stage)
        except StageNotBuilt:
            continue
        out.append(stage)
    return out


def run_stage(ctx: Context, stage: str, **options: Any) -> StageReport:
    """Run one stage once and log its summary line."""
    report = load_runner(stage)(ctx, **options)
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
    """Run extract -> dedupe -> summarize until no stage finds ready work; return merged reports."""
    merged = {stage: StageReport(stage) for stage in stages}
    built = [s for s in stages if s in available_stages()]
    for _ in range(MAX_ROUNDS):
        progressed = False
        for stage in built:
            if ctx.stop_requested:
                return list(merged.values())
            report = run_stage(ctx, stage)
            _merge(merged[stage], report)
            progressed = progressed or report.processed > 0
        if not progressed:
            break
    return [merged[s] for s in built]


def run_once(ctx: Context, *, publish: bool = True) -> list[StageReport]:
    """Run every built stage once, in order: collect, process pending work, publish, notify."""
    stages = available_stages()
    reports: list[StageReport] = []
    if "collect" in stages:
        reports.append(run_stage(ctx, "collect"))
    reports += process_pending(ctx)
    if publish and "publish" in stages and not ctx.stop_requested:
        reports.append(run_stage(ctx, "publish"))
    if "notify" in stages and not ctx.stop_requested:  # after publish: the pages exist
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
