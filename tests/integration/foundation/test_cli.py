"""The command line as a user runs it: a real process, real files, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def aggregator(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGGREGATOR_", "OPENAI_", "REDDIT_"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_version_and_help(tmp_path: Path) -> None:
    result = aggregator("--version", cwd=tmp_path)
    assert result.returncode == 0 and "aggregator" in result.stdout
    for command in (
        "init",
        "collect",
        "extract",
        "summarize",
        "publish",
        "recap",
        "run",
        "worker",
        "demo",
        "status",
        "export",
        "eval",
        "db",
    ):
        help_result = aggregator(command, "--help", cwd=tmp_path)
        assert help_result.returncode == 0, (command, help_result.stderr)
        assert "Usage:" in help_result.stdout


def test_cli_init_then_db_upgrade(db_url: str, tmp_path: Path) -> None:
    assert aggregator("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "aggregator.toml").read_text().startswith("# aggregator.toml")
    again = aggregator("init", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr
    result = aggregator("db", "upgrade", cwd=tmp_path, env={"AGGREGATOR_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    current = aggregator("db", "current", cwd=tmp_path, env={"AGGREGATOR_DATABASE_URL": db_url})
    revision = current.stdout.split(";")[0].split(":")[1].strip()
    assert revision != "empty" and f"head: {revision}" in current.stdout


def test_cli_bad_config_is_one_line_per_problem_exit_2(tmp_path: Path) -> None:
    (tmp_path / "aggregator.toml").write_text(
        "[site]\nbase_url = 'gopher://x'\n[[sources]]\nkind = 'rss'\nname = 'x'\nurl = 'nope'\n"
    )
    result = aggregator("status", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "site.base_url: not an http(s) URL" in result.stderr
    assert "sources[0].url: not an http(s) URL" in result.stderr


def test_cli_missing_config_named_explicitly(tmp_path: Path) -> None:
    result = aggregator("--config", "nowhere.toml", "status", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "error: no configuration: nowhere.toml does not exist "
        "(named by --config; 'aggregator init DIR' writes one)\n"
    )


NO_CONFIG = (
    "error: no configuration: ./aggregator.toml does not exist "
    "(run 'aggregator init' or pass --config)\n"
)


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["check-config"],
        ["run", "--once"],
        ["collect"],
        ["extract"],
        ["publish"],
        ["export"],
        ["db", "upgrade"],
        ["subscribers", "list"],
    ],
)
def test_cli_without_config_says_so_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    result = aggregator(*command, cwd=tmp_path)
    assert (result.returncode, result.stderr, result.stdout) == (2, NO_CONFIG, "")
    assert list(tmp_path.iterdir()) == []  # no aggregator.db, site/ or lock file left behind


def test_cli_init_needs_no_config_and_then_commands_work(tmp_path: Path) -> None:
    assert aggregator("init", cwd=tmp_path).returncode == 0
    checked = aggregator("check-config", cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith("aggregator.toml: ok (")


def test_cli_unreachable_database_is_one_line(tmp_path: Path) -> None:
    aggregator("init", cwd=tmp_path)
    env = {"AGGREGATOR_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = aggregator("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: db: cannot migrate")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_status_json_contract(tmp_path: Path) -> None:
    aggregator("init", cwd=tmp_path)
    result = aggregator("status", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= {"sources", "queue", "spend", "last_publish_at", "last_recap_week"}
    assert set(document["queue"]) >= {"extract", "summarize", "failed"}
    assert set(document["spend"]) == {"today_usd", "week_usd", "budget_usd", "calls_today"}


def test_cli_subscribers_add_list_remove(tmp_path: Path) -> None:
    aggregator("init", cwd=tmp_path)
    added = aggregator(
        "subscribers", "add", "Reader@Example.org", "second@example.org", cwd=tmp_path
    )
    assert added.returncode == 0, added.stderr
    assert "added: reader@example.org" in added.stdout
    bad = aggregator("subscribers", "add", "third@example.org", "not-an-address", cwd=tmp_path)
    assert bad.returncode == 1 and "'not-an-address' is not an email address" in bad.stderr
    listed = aggregator("subscribers", "list", "--json", cwd=tmp_path)
    assert sorted(r["email"] for r in json.loads(listed.stdout)) == [
        "reader@example.org",
        "second@example.org",
    ]  # nothing from the rejected command
    removed = aggregator("subscribers", "remove", "reader@example.org", cwd=tmp_path)
    assert removed.stdout.strip() == "unsubscribed: reader@example.org"
    active = aggregator("subscribers", "list", cwd=tmp_path)
    assert "reader@example.org" not in active.stdout and "second@example.org" in active.stdout
    neither = aggregator("subscribers", "remove", cwd=tmp_path)
    assert neither.returncode == 1 and "either an EMAIL or --token" in neither.stderr


def test_cli_run_once_fails_when_a_stage_fails_entirely(tmp_path: Path) -> None:
    # Port 9 on loopback refuses connections: the only source cannot be collected.
    (tmp_path / "aggregator.toml").write_text(
        "[fetch]\nallow_private_networks = true\nconnect_timeout = 2\n"
        "[[sources]]\nkind = 'rss'\nname = 'Gone'\nurl = 'http://127.0.0.1:9/feed.xml'\n"
    )
    result = aggregator("run", "--once", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "run: stage(s) failed entirely: collect" in result.stderr
    status = json.loads(aggregator("status", "--json", cwd=tmp_path).stdout)
    (source,) = status["sources"]
    assert source["consecutive_errors"] == 1 and source["last_error"]


LOOPBACK_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Bench notes</title><link>{base}/</link>
<item><title>Kettle descaled</title><link>{base}/a</link><guid>a</guid>
<description>The lab kettle was descaled on Tuesday.</description></item>
<item><title>Fridge defrosted</title><link>{base}/b</link><guid>b</guid>
<description>The sample fridge was defrosted overnight.</description></item>
</channel></rss>"""


def test_cli_loopback_feed_names_the_key_and_force_ignores_backoff(tmp_path: Path) -> None:
    from tests.servers.feed_server import FeedServer

    with FeedServer() as server:
        feed = server.add("/feed.xml", LOOPBACK_FEED.format(base=server.base))
        config = tmp_path / "aggregator.toml"
        source = f"[[sources]]\nkind = 'rss'\nname = 'Bench'\nurl = '{feed}'\nevery = '1h'\n"
        config.write_text(source)
        refused = aggregator("run", "--once", cwd=tmp_path)
        assert refused.returncode == 1
        assert "refused" in refused.stdout and "127.0.0.1" in refused.stdout
        status = aggregator("status", cwd=tmp_path)
        assert "set [fetch] allow_private_networks = true" in status.stdout, status.stdout
        (entry,) = json.loads(aggregator("status", "--json", cwd=tmp_path).stdout)["sources"]
        assert entry["next_reason"].startswith("backoff after 1 error")
        assert "allow_private_networks" in entry["next_reason"]

        config.write_text("[fetch]\nallow_private_networks = true\n" + source)
        waiting = aggregator("run", "--once", cwd=tmp_path)
        assert waiting.returncode == 0 and "not_due 1" in waiting.stdout  # still in backoff
        forced = aggregator("run", "--once", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "new_items 2" in forced.stdout
    (entry,) = json.loads(aggregator("status", "--json", cwd=tmp_path).stdout)["sources"]
    assert entry["consecutive_errors"] == 0 and entry["next_reason"] == "every 1h"
