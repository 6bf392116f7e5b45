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
    # Problem 5: the recap email's unsubscribe link used to be a 404.
    assert "List-Unsubscribe" in (www / "unsubscribe/index.html").read_text(encoding="utf-8")
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


def _corrupt_after_header(path: Path) -> None:
    """Overwrite every page after the first with junk: the SQLite header stays intact."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(4096)
        handle.write(bytes((i * 7 + 3) % 256 for i in range(size - 4096)))


# Problem 7: a corrupt SQLite file made `status` print an 81-line traceback.
@pytest.mark.parametrize(
    "command",
    [("status",), ("status", "--json"), ("collect",), ("export",), ("subscribers", "list")],
)
def test_cli_corrupt_database_is_one_line_exit_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    write_config(tmp_path, "site")
    assert aggregator("db", "upgrade", cwd=tmp_path).returncode == 0
    database = tmp_path / "agg.db"
    _corrupt_after_header(database)
    assert database.read_bytes()[:16] == b"SQLite format 3\x00"
    result = aggregator(*command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    line = result.stderr
    assert str(database) in line and "malformed" in line and "backup" in line


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('[[sources]]\nkind = "rss"\nname = "a"\nurl = "https://a.test/f"\nevery = inf\n',
         "sources[0].every"),
        ('[[sources]]\nkind = "rss"\nname = "a"\nurl = "https://a.test/f"\nevery = "0.5s"\n',
         "sources[0].every"),
        ("[fetch]\ntimeout = inf\n", "fetch.timeout"),
        ("[fetch]\ntimeout = 1e308\n", "fetch.timeout"),
        ("[fetch]\ntimeout = nan\n", "fetch.timeout"),
        ('[schedule]\ncollect_every = "9999999d"\n', "schedule.collect_every"),
        ("[llm]\ntimeout = 1e9\n", "llm.timeout"),
    ],
)  # fmt: skip
def test_cli_config_numbers_must_be_finite_and_sane(tmp_path: Path, setting: str, key: str) -> None:
    write_config(tmp_path, "site", setting)
    result = aggregator("check-config", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: config: {key}: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
