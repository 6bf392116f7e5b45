"""Run part of a build in a forked child process that shares the parent's loaded data.

A fork inherits the listing rows, templates and preloaded cards without pickling them, so
the second core renders pages at once. The child never touches the database, logging or
the progress display, and leaves with os._exit so no inherited cleanup (the staging dir,
the build lock, a DB connection) runs in it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


def can_fork() -> bool:
    """Return True when a forked helper can use a second core here."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


def _die_with(parent: int) -> None:
    """Make this child exit when `parent` dies, so a killed build leaves no orphan."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class Forked:
    """A function running in a forked child; `join()` returns its (pickled) result."""

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self._fd: int | None = fd

    @classmethod
    def start(cls, fn: Callable[[], Any]) -> Forked:
        """Fork a child that runs fn() and sends back its result; return its handle."""
        parent = os.getpid()
        read, write = os.pipe()
        gc.freeze()  # the collector would otherwise touch (copy) every inherited page
        try:
            pid = os.fork()
        except OSError:  # no process to spare (EAGAIN, ENOMEM): the caller works alone
            gc.unfreeze()
            os.close(read)
            os.close(write)
            raise
        if pid == 0:  # pragma: no cover - runs in the child, reported through the pipe
            os.close(read)
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
                _die_with(parent)
                try:
                    payload = pickle.dumps((True, fn()), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:  # any failure goes to the parent as one line
                    payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
                with os.fdopen(write, "wb") as fh:
                    fh.write(payload)
                code = 0
            finally:
                os._exit(code)
        gc.unfreeze()
        os.close(write)
        return cls(pid, read)

    def join(self) -> Any:
        """Return the child's result; raise RuntimeError if it failed or died."""
        if self._fd is None:
            raise RuntimeError("publish: build worker already joined")
        with os.fdopen(self._fd, "rb") as fh:
            self._fd = None
            data = fh.read()
        _pid, status = os.waitpid(self.pid, 0)
        if not data:
            raise RuntimeError(f"publish: build worker {self.pid} died ({_describe(status)})")
        ok, value = pickle.loads(data)
        if not ok:
            raise RuntimeError(f"publish: build worker failed: {value}")
        return value

    def abort(self) -> None:
        """Kill the child (if still running) and reap it."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _describe(status: int) -> str:
    """Return a wait status as words: 'killed by signal 9' or 'exit code 1'."""
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
