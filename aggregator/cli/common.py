"""Shared pieces of the command line: the user-error type, error handling, the run state."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from aggregator.config import ConfigError, load_settings
from aggregator.db.session import DatabaseError
from aggregator.report import StageNotBuilt
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
        except ConfigError as exc:
            raise UserError("\n".join(f"config: {p}" for p in exc.problems), 2) from None
        except (DatabaseError, StageNotBuilt) as exc:
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
        """Return the validated settings, loaded once."""
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def context(self, **kwargs: Any) -> Any:
        """Return a run context on the configured database, migrated to head."""
        from aggregator.context import open_context
        from aggregator.progress import terminal_progress

        kwargs.setdefault("progress", terminal_progress())
        return open_context(self.settings(), **kwargs)


pass_state = click.make_pass_decorator(State)


def check_site_dir(state: State, adopt: bool = False) -> None:
    """Refuse (exit 2) an output_dir the site must not build into, before any work starts."""
    from aggregator.publish.stage import check_site_dir as check
    from aggregator.publish.writer import UnsafeOutputDir

    try:
        check(state.settings(), adopt)
    except UnsafeOutputDir as exc:
        raise UserError(str(exc), 2) from None
