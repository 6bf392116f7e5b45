"""The run context handed to every pipeline step: settings, database, worker identity, progress."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aggregator.config import base_dir
from aggregator.db.session import make_engine, session_factory, session_scope, upgrade
from aggregator.progress import Progress, quiet_progress
from aggregator.settings import Settings


@dataclass
class Context:
    """What a pipeline step needs; create it with `open_context`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    progress: Progress = field(default_factory=quiet_progress)
    # Set by a signal handler: steps finish the unit in hand and return.
    stop_requested: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with session_scope(self.sessions) as session:
            yield session

    @property
    def dialect(self) -> str:
        """Return the database backend name: sqlite or postgresql."""
        return self.engine.dialect.name


def open_context(
    settings: Settings, *, migrate: bool = True, progress: Progress | None = None
) -> Context:
    """Return a context on the configured database, migrated to head unless told not to."""
    engine = make_engine(settings.database.url, base_dir(settings))
    if migrate:
        upgrade(engine)
    return Context(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        progress=progress or quiet_progress(),
    )
