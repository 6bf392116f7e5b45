"""`export` cursors: --since on publication time, --updated-since on the card's last change."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.context import Context
from aggregator.publish.export import cutoff
from aggregator.publish.stage import export_records
from tests.integration.publish.conftest import BASE_TIME

pytestmark = pytest.mark.integration


def test_export_cursors_filter_on_published_and_on_card_change(factory, pub_ctx: Context) -> None:
    # An old story whose card changed lately, and a new story whose card has not changed since.
    factory.story(
        "Old story, card revised",
        published_at=BASE_TIME - timedelta(days=14),
        updated_at=BASE_TIME + timedelta(hours=2),
    )
    factory.story("New story", published_at=BASE_TIME, updated_at=BASE_TIME)  # fmt: skip
    with pub_ctx.session() as session:

        def titles(**cursor: object) -> list[str]:
            return [
                r["title"] for r in export_records(session, settings=pub_ctx.settings, **cursor)
            ]

        assert titles(since=BASE_TIME - timedelta(hours=1)) == ["New story"]
        assert titles(updated_since=BASE_TIME + timedelta(hours=1)) == ["Old story, card revised"]
        assert (
            titles(
                since=BASE_TIME - timedelta(days=1), updated_since=BASE_TIME + timedelta(hours=1)
            )
            == []
        )
        assert titles() == ["New story", "Old story, card revised"]
        assert titles(updated_since="2026-11-18T11:00:00Z") == ["Old story, card revised"]


def test_export_cursor_reads_durations_and_times() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert cutoff("1h", now=now) == now - timedelta(hours=1)
    assert cutoff("2026-12-01T00:00Z") == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="--updated-since"):
        cutoff("soon", "--updated-since")


def test_export_without_config_says_so_and_creates_nothing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "export"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no configuration: ./aggregator.toml does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no aggregator.db appeared


def test_export_help_names_both_cursors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "export", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "--updated-since" in result.stdout and "published_at" in result.stdout
