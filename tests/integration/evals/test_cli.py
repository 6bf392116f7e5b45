"""`aggregator eval run|freeze` as a user calls them: real files, reports, one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli.eval import eval_group
from aggregator.evals.sets import bundled_set_path, load_set
from tests.integration.evals.conftest import write_config
from tests.servers.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration


STARTER_CASES = len(load_set(bundled_set_path()).cases)


def test_cli_offline_run_on_the_bundled_set_writes_three_reports(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(eval_group, ["run", "--set", str(bundled_set_path()),
                                             "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "# Evaluation: starter" in result.output and "A = offline" in result.output
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "report.html"}
    doc = json.loads((out / "report.json").read_text())
    assert doc["configs"][0]["mode"] == "extractive" and len(doc["cases"]) == STARTER_CASES


def test_cli_refuses_a_modified_set_with_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "starter"
    shutil.copytree(bundled_set_path(), copy)
    case = copy / "cases" / "kestrel-2-price-cut.json"
    case.write_text(case.read_text().replace("percent", "per cent", 1))
    result = CliRunner().invoke(
        eval_group, ["run", "--set", str(copy), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: eval: set ")
    assert "does not match its sha256" in lines[0]
    assert not (tmp_path / "r").exists()


def test_cli_compare_against_scripted_server(
    tmp_path: Path, model_server: FakeOpenAI, server_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name, value in server_env.items():
        monkeypatch.setenv(name, value)
    a = write_config(tmp_path, "good", "fake-good")
    b = write_config(tmp_path, "bad", "fake-bad")
    args = ["run", "--set", str(bundled_set_path()), "--config", str(a), "--against", str(b),
            "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
            "--workers", "4"]  # fmt: skip
    result = CliRunner().invoke(eval_group, args)
    assert result.exit_code == 0, result.output
    assert "A = good (llm: fake-good" in result.output and "B worse" in result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in html and "bad" in html


def test_cli_bad_config_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm]\nmax_concurrency = 0\n")
    result = CliRunner().invoke(eval_group, ["run", "--set", str(bundled_set_path()),
                                             "--config", str(bad)])  # fmt: skip
    assert result.exit_code == 1
    assert result.output.startswith("error: eval: ") and result.output.count("\n") == 1


def test_cli_freeze_needs_a_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_group, ["freeze", "--out", str(tmp_path / "s")])
    assert result.exit_code == 1 and "needs --from-db" in result.output
