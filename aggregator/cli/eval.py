"""`aggregator eval freeze|run`: the click group the main CLI mounts as `eval`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from aggregator.cli.common import handle_errors
from aggregator.config import load_settings
from aggregator.evals.report import render_markdown
from aggregator.evals.report_html import render_html
from aggregator.settings import Settings

DEFAULT_CACHE = Path(".aggregator-eval-cache")


def _root_settings(click_ctx: click.Context) -> Settings:
    """Return the main command's settings (its --config), else the default configuration."""
    state = click_ctx.find_root().obj
    if state is not None and callable(getattr(state, "settings", None)):
        return state.settings()
    return load_settings(None)


@click.group("eval")
def eval_group() -> None:
    """Score cards against a frozen evaluation set and compare configurations."""


@eval_group.command("freeze")
@click.option("--from-db", "from_db", is_flag=True, help="Sample stories from the database.")
@click.option("--sample", default=200, show_default=True, help="How many stories to keep.")
@click.option("--seed", default=0, show_default=True, help="Seed of the stratified sample.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="New set folder.")
@click.option("--name", help="The set's name [default: the folder name].")
@click.pass_context
@handle_errors
def freeze(click_ctx: click.Context, from_db: bool, sample: int, seed: int, out: Path,
           name: str | None) -> None:  # fmt: skip
    """Freeze an immutable evaluation set (stratified by source and topic)."""
    from aggregator.evals.freeze import freeze_from_db
    from aggregator.evals.sets import EvalError

    if not from_db:
        raise EvalError("eval: freeze needs --from-db (the only source of cases for now)")
    frozen = freeze_from_db(_root_settings(click_ctx), sample=sample, seed=seed, out=out,
                            name=name)  # fmt: skip
    click.echo(f"eval: froze {len(frozen.cases)} cases into {out} "
               f"(set sha256 {frozen.sha256[:16]}…)")  # fmt: skip


def _default_out(set_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("eval-reports") / f"{set_dir.resolve().name}-{stamp}"


@eval_group.command("run")
@click.option(
    "--set",
    "set_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="A frozen set folder (refused if its hashes do not match).",
)
@click.option(
    "--config",
    "config_a",
    type=click.Path(path_type=Path),
    help="Configuration A: an aggregator.toml with an optional [eval] table "
    "[default: offline extractive].",
)
@click.option(
    "--against",
    "config_b",
    type=click.Path(path_type=Path),
    help="Configuration B, run on the same cases and compared with A.",
)
@click.option(
    "--judge",
    "judge",
    type=click.Path(path_type=Path),
    help="Configuration of the LLM judge (llm.judge_model, else llm.model).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Report folder [default: eval-reports/<set>-<time>].",
)
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where model outputs are cached between runs.",
)
@click.option("--no-cache", is_flag=True, help="Ask the model again for every case.")
@click.option("--workers", type=click.IntRange(1, 64), help="Cards in flight at once.")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap.")
@handle_errors
def run(
    set_dir: Path,
    config_a: Path | None,
    config_b: Path | None,
    judge: Path | None,
    out: Path | None,
    cache: Path,
    no_cache: bool,
    workers: int | None,
    seed: int,
) -> None:
    """Run configuration A (and B) over a set; write Markdown, JSON and HTML reports."""
    from aggregator.evals.api import evaluate
    from aggregator.evals.configs import load_eval_config, offline_config
    from aggregator.progress import terminal_progress

    configs = [load_eval_config(config_a) if config_a else offline_config()]
    if config_b:
        configs.append(load_eval_config(config_b))
    doc = evaluate(
        set_dir,
        configs,
        judge=load_eval_config(judge) if judge else None,
        cache_dir=None if no_cache else cache,
        workers=workers,
        seed=seed,
        progress=terminal_progress(),
    )
    paths = write_reports(doc, out or _default_out(set_dir))
    click.echo(render_markdown(doc))
    click.echo("reports: " + ", ".join(str(p) for p in paths.values()))


def write_reports(doc: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
    paths["md"].write_text(render_markdown(doc), "utf-8")
    paths["html"].write_text(render_html(doc), "utf-8")
    return paths
