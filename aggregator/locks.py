"""Process-level exclusivity: the scheduler's leadership and SQLite's one-worker rule."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text


class LockBusy(Exception):
    """Another process holds the lock; the message is one line."""


def _lock_key(name: str) -> int:
    """Return a stable signed 64-bit advisory-lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class FileLock:
    """An exclusive, non-blocking lock on a file beside the SQLite database (released on exit or death)."""

    def __init__(self, path: Path):
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        """Return True if the lock is now held by this process."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the life of the lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        """Release the lock if held."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on its own connection (released if we die)."""

    def __init__(self, engine: Engine, name: str):
        self.engine = engine
        self.key = _lock_key(name)
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        """Return True if the lock is now held by this process."""
        if self._connection is not None:
            return True
        connection = self.engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        connection.commit()
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def alive(self) -> bool:
        """Return True while the connection holding the lock still works."""
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            self._connection = None
            return False

    def release(self) -> None:
        """Release the lock if held."""
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None


def sqlite_path(engine: Engine) -> Path | None:
    """Return the SQLite database file of an engine, or None for other backends/in-memory."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    if engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)


def process_lock(engine: Engine, name: str) -> FileLock | AdvisoryLock:
    """Return the right kind of lock for the backend: a file lock on SQLite, advisory on PostgreSQL."""
    path = sqlite_path(engine)
    if path is not None:
        return FileLock(path.with_name(f"{path.name}.{name}.lock"))
    return AdvisoryLock(engine, f"aggregator:{name}")
