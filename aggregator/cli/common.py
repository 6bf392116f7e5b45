"""Shared pieces of the command line: the user-error type, error handling, the run state."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from aggregator.config import ConfigError, MissingConfig, load_settings
from aggregator.db.session import DatabaseError
from aggregator.evals.sets import EvalError
from aggregator.report import StageReport
from aggregator.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A one-line error for the user: no traceback, exit code 1 (2 for configuration)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def handle_errors(func: F) -> F:
    """Turn known failures into one-line errors with the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MissingConfig as exc:
            raise UserError(exc.message, 2) from None
        except ConfigError as exc:
            raise UserError("\n".join(f"config: {p}" for p in exc.problems), 2) from None
        except (DatabaseError, EvalError) as exc:
            raise UserError(str(exc), 1) from None
        except KeyboardInterrupt:
            raise UserError("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]


class State:
    """Options shared by every command (the config path and verbosity)."""

    def __init__(self, config: str | None, verbose: int):
        self.config = config
        self.verbose = verbose
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        """Return the validated settings, loaded once; a missing file is an error (exit 2)."""
        if self._settings is None:
            # Defaults alone would quietly create aggregator.db and site/ wherever one stands.
            self._settings = load_settings(self.config, required=True)
        return self._settings

    def context(self, **kwargs: Any) -> Any:
        """Return a run context on the configured database, migrated to head."""
        from aggregator.context import open_context
        from aggregator.progress import terminal_progress

        kwargs.setdefault("progress", terminal_progress())
        return open_context(self.settings(), **kwargs)


pass_state = click.make_pass_decorator(State)


def print_reports(reports: list[StageReport]) -> None:
    """Print one summary line per stage report."""
    for report in reports:
        click.echo(report.summary())
        for error in report.errors[:10]:
            click.echo(f"  {error}")


def run_single_stage(state: State, stage: str, **options: Any) -> StageReport:
    """Run one stage and print its report; exit non-zero if it failed entirely."""
    from aggregator.pipeline import run_stage

    ctx = state.context()
    report = run_stage(ctx, stage, **options)
    print_reports([report])
    if report.failed_entirely:
        raise UserError(f"{stage}: every unit of work failed (see `aggregator status`)")
    return report


limit_option = click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Stop after N units of work [default: until the queue is empty].",
)


def drain_command(state: State, stage: str, limit: int | None = None) -> Any:
    """Run one stage until its queue is empty (or `limit` units are done); return its report.

    A terminal gets one progress bar over the whole queue; the report line is printed and a
    stage where every unit failed exits non-zero.
    """
    from aggregator.db.claims import queue_depths
    from aggregator.pipeline import drain_stage
    from aggregator.progress import quiet_progress, terminal_progress

    # The stage's own per-batch bar stays quiet: one bar covers the whole drain.
    ctx = state.context(progress=quiet_progress())
    with ctx.session() as session:
        pending = queue_depths(session).get(stage, 0)
    total = min(pending, limit) if limit else pending
    with terminal_progress()(stage, total or None) as task:
        report = drain_stage(ctx, stage, limit, on_batch=lambda part: task.advance(part.processed))
    click.echo(report.summary())
    for error in report.errors[:10]:
        click.echo(f"  {error}")
    if report.failed_entirely:
        raise UserError(f"{stage}: every unit of work failed (see `aggregator status`)")
    return report
