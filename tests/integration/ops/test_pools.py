"""Worker pools (aggregator/pools.py, used by collect, extract and dedupe): workers do not
outlive a killed owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
OWNER = """
import os, sys, time
from aggregator.pools import kept_pool

if __name__ == "__main__":
    pool = kept_pool({}, "signatures", 2, ["aggregator.dedupe.index"])
    pool.submit(os.getpid).result()
    pool.submit(os.getpid).result()
    print(" ".join(str(pid) for pid in pool._processes), flush=True)
    time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; nobody reaped it yet


def test_pool_workers_exit_when_their_owner_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    owner = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        workers = [int(pid) for pid in owner.stdout.readline().split()]  # type: ignore[union-attr]
        assert workers and all(alive(pid) for pid in workers)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "a pool worker outlived its owner"
