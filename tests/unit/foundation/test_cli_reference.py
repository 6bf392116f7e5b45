"""The command reference (docs/cli.md and the README's table) matches the commands' --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "cli_reference.py"


def test_cli_reference_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_reference_check_fails_when_a_page_is_stale(tmp_path: Path) -> None:
    # Run the checker on a copy whose docs/cli.md lacks a command: it must say stale.
    for rel in ("scripts/cli_reference.py", "README.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((ROOT / rel).read_text("utf-8"), "utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("# Command reference\n", "utf-8")
    (tmp_path / "aggregator").symlink_to(ROOT / "aggregator")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "docs/cli.md is stale" in result.stdout
