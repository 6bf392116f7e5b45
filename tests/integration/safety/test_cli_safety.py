"""Issue 19 as a user meets it: the site folder, a corrupt database and bad numbers, via the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def aggregator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGGREGATOR_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(folder: Path, output_dir: str, extra: str = "") -> None:
    (folder / "aggregator.toml").write_text(
        f'[site]\ntitle = "T"\nbase_url = "https://n.test/"\noutput_dir = "{output_dir}"\n'
        f'search = false\n[database]\nurl = "sqlite:///agg.db"\n{extra}',
        encoding="utf-8",
    )


# Problem 1: `output_dir` at an existing folder deleted everything in it and exited 0.
def test_publish_refuses_a_folder_it_did_not_create(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.php").write_text("someone else's site")
    write_config(tmp_path, "www")
    result = aggregator("publish", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "--adopt" in result.stderr
    assert (www / "index.php").read_text() == "someone else's site"
    adopted = aggregator("publish", "--adopt", cwd=tmp_path)
    assert adopted.returncode == 0, adopted.stderr
    assert (www / "index.php").read_text() == "someone else's site"
    assert (www / "index.html").exists() and (www / ".manifest.json").exists()
    again = aggregator("publish", cwd=tmp_path)  # ours now: no --adopt needed
    assert again.returncode == 0 and (www / "index.php").exists()


def test_publish_refuses_the_folder_holding_config_and_database(tmp_path: Path) -> None:
    write_config(tmp_path, ".")
    (tmp_path / "notes.txt").write_text("keep me")
    for args in (("publish",), ("publish", "--adopt"), ("run", "--once")):
        result = aggregator(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "contains" in result.stderr and "aggregator.toml" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "aggregator.toml").exists()
