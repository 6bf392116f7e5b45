"""Worker process pools for the CPU-bound stages (feed parsing, extraction, signatures).

Workers come from a forkserver, so they never inherit the owner's threads or database
connections, and they exit when the process that owns the pool dies.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def exit_with_owner(owner: int) -> None:
    """Make this worker exit when `owner`, the process that owns its pool, dies.

    Workers are children of the forkserver, not of the owner: after a `kill -9` of the owner
    they would otherwise wait for work forever.
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


def process_pool(workers: int, preload: list[str]) -> ProcessPoolExecutor:
    """Return a new pool of forkserver workers (spawned where there is no forkserver).

    One forkserver serves every pool of a process and imports the `preload` modules of the
    pool that started it; a later pool's workers import their own modules on first use.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(preload)
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=exit_with_owner, initargs=(os.getpid(),)
    )


def kept_pool(
    extras: dict[str, Any], key: str, workers: int, preload: list[str]
) -> ProcessPoolExecutor:
    """Return the pool kept in a context's extras under `key`, starting it on first use.

    Kept between runs: starting workers costs more than a typical batch's work.
    """
    pool = extras.get(key)
    if pool is None:
        pool = extras[key] = process_pool(workers, preload)
    return pool
