"""Shared pieces of the command line: the user-error type, error handling, the run state."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

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
        except (DatabaseError, SQLAlchemyError, sqlite3.DatabaseError) as exc:
            state = next((a for a in args if isinstance(a, State)), None)
            damaged = damaged_database(exc, state)
            if damaged:
                raise UserError(damaged, 2) from None
            if isinstance(exc, DatabaseError):
                raise UserError(str(exc), 1) from None
            raise
        except EvalError as exc:
            raise UserError(str(exc), 1) from None
        except KeyboardInterrupt:
            raise UserError("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]


def _sqlite_error(exc: BaseException | None) -> sqlite3.DatabaseError | None:
    """Return the SQLite error behind an exception (its cause chain), or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.DatabaseError):
            return exc
        orig = getattr(exc, "orig", None)
        if isinstance(orig, sqlite3.DatabaseError):
            return orig
        exc = exc.__cause__ or exc.__context__
    return None


def damaged_database(exc: BaseException, state: State | None) -> str | None:
    """Return one line for a SQLite file that is corrupt or unreadable, else None."""
    error = _sqlite_error(exc)
    said = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
    # Busy or locked is a writer elsewhere, not damage: that keeps its own message.
    if error is None or any(word in said for word in ("locked", "busy")):
        return None
    where = "the SQLite database"
    if state is not None:
        with contextlib.suppress(Exception):
            where = sqlite_file(state.settings()) or where
    return (
        f"db: {where}: SQLite says {said!r}: the file is damaged or unreadable; stop aggregator, "
        f"restore the file from a backup (or move it aside to start empty), then run "
        f"`aggregator db upgrade`"
    )


def sqlite_file(settings: Settings) -> str | None:
    """Return the path of the configured SQLite database file, or None (PostgreSQL, memory)."""
    from sqlalchemy import make_url

    from aggregator.config import base_dir
    from aggregator.db.session import normalize_url

    url = make_url(normalize_url(settings.database.url, base_dir(settings)))
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        return url.database
    return None


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


def check_site_dir(state: State, adopt: bool = False) -> None:
    """Refuse (exit 2) an output_dir the site must not build into, before any work starts."""
    from aggregator.publish.stage import check_site_dir as check
    from aggregator.publish.writer import UnsafeOutputDir

    try:
        check(state.settings(), adopt)
    except UnsafeOutputDir as exc:
        raise UserError(str(exc), 2) from None
