"""Issue 19, problems 2, 4 and 8 end to end: slow sites, unlabelled gzip and huge feeds.

Peak memory is that of the whole `aggregator collect` process tree: the sum of each
process's own peak (VmHWM), sampled while it runs (see run_measured).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aggregator.context import open_context
from aggregator.pipeline import run_stage
from aggregator.settings import Settings
from tests.servers.hostile_server import HostileServer, run_measured

pytestmark = pytest.mark.integration
PEAK_LIMIT_MB = 300


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer(entries=100_000, bomb_mib=64) as server:
        yield server


def collect_with_peak(folder: Path, sources: list[str]) -> tuple[int, str, float]:
    """Run `aggregator collect` on these feed URLs; return (exit code, stderr+stdout, peak MB)."""
    blocks = "".join(
        f'[[sources]]\nkind = "rss"\nname = "feed {n}"\nurl = "{url}"\nevery = "1h"\n'
        for n, url in enumerate(sources)
    )
    (folder / "aggregator.toml").write_text(
        '[database]\nurl = "sqlite:///agg.db"\n[fetch]\nallow_private_networks = true\n' + blocks
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGGREGATOR_", "OPENAI_"))}
    with open(folder / "out.txt", "w+") as out:
        code, peak = run_measured(
            [sys.executable, "-m", "aggregator", "collect"], cwd=folder, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        out.seek(0)
        return code, out.read(), peak


# Problem 4: an unlabelled gzip body was inflated to 50 MiB per feed (973 MB peak for 8).
def test_collect_unlabelled_gzip_bombs_stay_under_the_cap(
    tmp_path: Path, hostile: HostileServer
) -> None:
    urls = [f"{hostile.base}/bomb.xml?n={n}" for n in range(8)]
    code, output, peak = collect_with_peak(tmp_path, urls)
    print(f"8 unlabelled gzip feeds (64 MiB inflated each): peak {peak:.0f} MB")
    assert "collect: 0 ok, 8 failed" in output and code == 1, output
    assert all(f"bomb.xml?n={n}: body exceeds 15728640 bytes" in output for n in range(8))
    assert peak < PEAK_LIMIT_MB, peak


# Problem 8: a 100,000-entry feed was stored whole (399 MB peak).
def test_collect_caps_entries_newest_first(tmp_path: Path, hostile: HostileServer) -> None:
    started = time.monotonic()
    code, output, peak = collect_with_peak(tmp_path, [f"{hostile.base}/many.xml"])
    took = time.monotonic() - started
    print(f"100,000-entry feed: peak {peak:.0f} MB, {took:.1f} s")
    assert code == 0, output
    with sqlite3.connect(tmp_path / "agg.db") as db:
        guids = {row[0] for row in db.execute("SELECT guid FROM items")}
        (warning,) = db.execute("SELECT last_warning FROM sources").fetchone()
    assert guids == {f"g{n}" for n in range(99_000, 100_000)}  # the newest 1,000
    assert "100000 entries, kept the newest 1000" in warning
    assert peak < PEAK_LIMIT_MB, peak


# Problem 2: one slow feed plus slow article links made `run --once` take 7 min 25 s.
def test_slow_world_is_bounded_by_the_deadlines(
    make_settings: Callable[..., Settings], hostile: HostileServer
) -> None:
    timeout, budget = 1.5, 2
    sources = [
        {"kind": "rss", "name": f"links {k}", "url": f"{hostile.base}/links/{k}.xml"}
        for k in ("a", "b")
    ] + [{"kind": "rss", "name": "drip", "url": f"{hostile.base}/drip-body"}]
    ctx = open_context(
        make_settings(
            sources=sources, fetch={"allow_private_networks": True, "timeout": timeout,
                                    "source_deadline": f"{budget}s"},
        )
    )  # fmt: skip
    started = time.monotonic()
    collected = run_stage(ctx, "collect")
    after_collect = time.monotonic()
    extracted = run_stage(ctx, "extract")
    done = time.monotonic()
    ctx.engine.dispose()
    print(f"collect {after_collect - started:.1f} s, extract {done - after_collect:.1f} s")
    assert collected.succeeded == 2 and collected.failed == 1
    assert "no complete response within 1.5s" in collected.errors[0]
    assert after_collect - started < timeout + 2.0
    # 12 dripping pages on one host (2 at a time) would take 9 s without the source deadline.
    assert extracted.processed == 12
    assert done - after_collect < budget + 2.5
