"""Progress reporting: rich bars on a terminal, nothing (the log lines say it) elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


Progress = Callable[[str, int | None], "contextmanager[Task]"]


def quiet_progress() -> Progress:
    """Return a progress factory that shows nothing."""

    @contextmanager
    def factory(label: str, total: int | None = None) -> Iterator[Task]:
        yield _NullTask()

    return factory  # type: ignore[return-value]


def terminal_progress() -> Progress:
    """Return a progress factory drawing rich bars on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return quiet_progress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    @contextmanager
    def factory(label: str, total: int | None = None) -> Iterator[Task]:
        with RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task_id = bar.add_task(label, total=total)

            class _Task:
                def advance(self, n: int = 1) -> None:
                    bar.advance(task_id, n)

            yield _Task()

    return factory  # type: ignore[return-value]
