"""Signature workers for the dedupe stage: one process pool per owning process, kept between
runs (starting workers costs more than hashing a 2,000-item batch)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

POOL_KEY = "dedupe_signature_pool"  # where a context keeps the pool (ctx.extras)


def _exit_with(owner: int) -> None:
    """Make a worker exit when the process that owns the pool dies.

    Workers are children of the forkserver, not of the owner: after a `kill -9` of the owner
    they would wait for work forever. (The extract stage's pool does the same.)
    """

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def signature_pool(extras: dict[str, Any], workers: int) -> ProcessPoolExecutor:
    """Return the pool kept in a context's extras, starting it on first use."""
    pool = extras.get(POOL_KEY)
    if pool is None:
        # forkserver: workers never inherit this process's threads or database connections.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["aggregator.dedupe"])
        pool = extras[POOL_KEY] = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
        )
    return pool
