"""A large build renders its older weeks in a forked child: same bytes, failures contained."""

from __future__ import annotations

import os
import shutil
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.context import Context
from aggregator.publish import fork, items
from aggregator.publish.stage import run_publish

from .conftest import BASE_TIME

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not fork.can_fork(), reason="needs os.fork and two cores"),
]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def weeks_of_stories(factory) -> list[int]:
    """Stories spread over six weeks (the child takes the older ones), with related links."""
    ids: list[int] = []
    for n in range(24):
        when = BASE_TIME - timedelta(days=2 * n, hours=n)
        related = [ids[-1]] if ids else None
        ids.append(factory.story(f"Story number {n} ✨", published_at=when, related=related))
    return ids


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every build fork; return the pids of the children started."""
    started: list[int] = []
    real = fork.Forked.start.__func__

    def spy(cls, fn):
        handle = real(cls, fn)
        started.append(handle.pid)
        return handle

    monkeypatch.setattr(items, "PARALLEL_MIN_STORIES", 1)
    monkeypatch.setattr(fork.Forked, "start", classmethod(spy))
    return started


def _serial_site(pub_ctx: Context, site_dir: Path) -> dict[str, bytes]:
    """Build without forking, remove the site again, and return its files."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(items, "PARALLEL_MIN_STORIES", 10**9)
        assert run_publish(pub_ctx).failed == 0
    serial = _files(site_dir)
    shutil.rmtree(site_dir)
    return serial


def test_forked_build_matches_a_serial_build(
    weeks_of_stories, forks, pub_ctx: Context, site_dir: Path
) -> None:
    serial = _serial_site(pub_ctx, site_dir)
    assert forks == []
    report = run_publish(pub_ctx)
    assert report.failed == 0, report.errors
    assert len(forks) == 1  # the build did split its work
    forked = _files(site_dir)
    assert forked.keys() == serial.keys()
    assert [k for k in forked if forked[k] != serial[k]] == []
    assert len([k for k in forked if k.startswith("items/")]) == 24


def test_forked_build_then_incremental_rebuilds_only_the_change(
    weeks_of_stories, forks, factory, pub_ctx: Context, site_dir: Path
) -> None:
    assert run_publish(pub_ctx).failed == 0
    again = run_publish(pub_ctx)  # the child's files are in the manifest: nothing to redo
    assert again.details["written"] == 0 and again.details["mode"] == "patch"
    oldest = weeks_of_stories[-1]  # rendered by the child
    factory.update_card(oldest, hook="A new hook for the oldest story")
    report = run_publish(pub_ctx)
    assert report.failed == 0, report.errors
    # Its page, API record and week file, plus the listings and feeds that show it.
    assert 0 < report.details["written"] < 20
    page = next(site_dir.glob(f"items/*/*/story-{oldest}/index.html")).read_text("utf-8")
    assert "A new hook for the oldest story" in page


def _assert_failed_cleanly(report, site_dir: Path, before: dict[str, bytes], pids: list[int]):
    assert report.failed == 1
    assert _files(site_dir) == before  # the previous site is untouched
    assert not list(site_dir.parent.glob(f".{site_dir.name}.staging-*"))
    for pid in pids:  # every child was reaped: no zombie, no orphan
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _built_then_forgotten(pub_ctx: Context, site_dir: Path) -> dict[str, bytes]:
    """Publish once, then forget that build (every page is rendered again); return the site."""
    assert run_publish(pub_ctx).failed == 0
    # Still our manifest (a folder without one is refused), but it lists nothing to reuse.
    (site_dir / ".manifest.json").write_text('{"version": 1, "env": "forgotten", "files": {}}')
    return _files(site_dir)


def _in_child(monkeypatch: pytest.MonkeyPatch, action) -> None:
    """Run action() in the forked child before each page it renders; the parent is unchanged."""
    parent, real = os.getpid(), items._item_files

    def item_files(build, detail):
        if os.getpid() != parent:
            action()
        real(build, detail)

    monkeypatch.setattr(items, "_item_files", item_files)


def test_failure_in_the_child_fails_the_build_and_keeps_the_site(
    weeks_of_stories, forks, pub_ctx: Context, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _built_then_forgotten(pub_ctx, site_dir)

    def explode() -> None:
        raise OSError("disk full in the child")

    _in_child(monkeypatch, explode)
    report = run_publish(pub_ctx)
    assert (
        "publish: RuntimeError: publish: build worker failed: OSError: disk full"
        in (report.errors[0])
    )
    _assert_failed_cleanly(report, site_dir, before, forks[1:])


def test_child_killed_mid_build_fails_the_build_and_keeps_the_site(
    weeks_of_stories, forks, pub_ctx: Context, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _built_then_forgotten(pub_ctx, site_dir)
    _in_child(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGKILL))
    report = run_publish(pub_ctx)
    assert "died (killed by signal 9)" in report.errors[0]
    _assert_failed_cleanly(report, site_dir, before, forks[1:])


def test_parent_failure_kills_the_running_child(
    weeks_of_stories, forks, pub_ctx: Context, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _built_then_forgotten(pub_ctx, site_dir)

    def hang() -> None:
        while True:  # the child never finishes on its own
            signal.pause()

    def explode(build) -> None:
        raise RuntimeError("feeds on fire")

    _in_child(monkeypatch, hang)
    monkeypatch.setattr("aggregator.publish.site.feeds.write_feeds", explode)
    report = run_publish(pub_ctx)
    assert "feeds on fire" in report.errors[0]
    _assert_failed_cleanly(report, site_dir, before, forks[1:])


CHILD_OUTLIVES = """
import os, signal, sys
from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.publish.stage import run_publish
from aggregator.publish import items

items.PARALLEL_MIN_STORIES = 1
parent, real = os.getpid(), items._item_files

def hang(build, detail):
    if os.getpid() != parent:
        open(sys.argv[2], "w").write(str(os.getpid()))
        while True:
            signal.pause()
    real(build, detail)

items._item_files = hang
settings = load_settings(sys.argv[1])
run_publish(open_context(settings))
"""


def test_child_exits_when_the_build_process_is_killed(
    weeks_of_stories, pub_ctx: Context, tmp_path: Path
) -> None:
    import subprocess
    import sys
    import time

    config = tmp_path / "publish.toml"
    config.write_text(
        f'[database]\nurl = "{pub_ctx.settings.database.url}"\n'
        f'[site]\noutput_dir = "{tmp_path / "site"}"\nsearch = false\n'
    )
    marker = tmp_path / "child.pid"
    proc = subprocess.Popen([sys.executable, "-c", CHILD_OUTLIVES, str(config), str(marker)])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() or not marker.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, "no child was forked"
            time.sleep(0.05)
        child = int(marker.read_text())
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, f"child {child} outlived its killed parent"
            time.sleep(0.05)
    finally:
        proc.kill()


def _alive(pid: int) -> bool:
    """Return True while pid runs (a zombie, waiting for init to reap it, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_build_renders_alone_when_it_cannot_fork(
    weeks_of_stories, pub_ctx: Context, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = _serial_site(pub_ctx, site_dir)

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(items, "PARALLEL_MIN_STORIES", 1)
    monkeypatch.setattr(fork.os, "fork", no_fork)
    report = run_publish(pub_ctx)
    assert report.failed == 0, report.errors
    assert _files(site_dir) == serial
