"""Command line: thin commands, one per stage, plus run, worker, demo, status, export, eval."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from aggregator import __version__
from aggregator.cli.common import State, UserError, handle_errors, pass_state
from aggregator.config import resolve_config_path
from aggregator.db.session import DatabaseError
from aggregator.log import setup_logging
from aggregator.report import StageNotBuilt, StageReport


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aggregator")
@click.option(
    "--config",
    "config",
    envvar="AGGREGATOR_CONFIG",
    metavar="PATH",
    help="Configuration file [default: ./aggregator.toml; env AGGREGATOR_CONFIG].",
)
@click.option("-v", "--verbose", count=True, help="More log lines (-v info, -vv debug).")
@click.pass_context
def main(click_ctx: click.Context, config: str | None, verbose: int) -> None:
    """News-aggregator summarizer: feeds and Reddit in, grounded cards, a static site and recaps out."""
    setup_logging(verbose)
    click_ctx.obj = State(config, verbose)


def print_reports(reports: list[StageReport]) -> None:
    """Print one summary line per stage report."""
    for report in reports:
        click.echo(report.summary())
        for error in report.errors[:10]:
            click.echo(f"  {error}")


def run_single_stage(state: State, stage: str, **options: Any) -> StageReport:
    """Run one stage and print its report; exit non-zero if it failed entirely."""
    from aggregator.pipeline import load_runner, run_stage

    load_runner(stage)  # says "not built yet" before touching the database
    ctx = state.context()
    report = run_stage(ctx, stage, **options)
    print_reports([report])
    if report.failed_entirely:
        raise UserError(f"{stage}: every unit of work failed (see `aggregator status`)")
    return report


# --- setup -----------------------------------------------------------------------------------


@main.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing aggregator.toml.")
@handle_errors
def init(directory: str, force: bool) -> None:
    """Write a commented starter aggregator.toml into DIRECTORY (default: here)."""
    from aggregator.starter import STARTER_CONFIG

    target = Path(directory) / "aggregator.toml"
    if target.exists() and not force:
        raise UserError(f"init: {target} already exists (use --force to overwrite)")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(STARTER_CONFIG, encoding="utf-8")
    click.echo(f"wrote {target}; next: aggregator --config {target} db upgrade")


@main.group()
def db() -> None:
    """Database schema: migrate and inspect."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_state
@handle_errors
def db_upgrade(state: State, revision: str) -> None:
    """Create or migrate the database schema (every command also migrates on start)."""
    from aggregator.config import base_dir
    from aggregator.db.session import current_revision, make_engine, upgrade

    settings = state.settings()
    engine = make_engine(settings.database.url, base_dir(settings))
    upgrade(engine, revision)
    click.echo(f"database at revision {current_revision(engine)} ({engine.url.render_as_string()})")


@db.command("current")
@pass_state
@handle_errors
def db_current(state: State) -> None:
    """Print the database's schema revision and the newest one."""
    from aggregator.config import base_dir
    from aggregator.db.session import current_revision, head_revision, make_engine

    settings = state.settings()
    engine = make_engine(settings.database.url, base_dir(settings))
    try:
        current = current_revision(engine)
    except Exception as exc:  # unreachable server, bad credentials
        raise DatabaseError(f"db: cannot connect: {str(exc).splitlines()[0]}") from None
    click.echo(f"current: {current or 'empty'}; head: {head_revision()}")


@main.command("check-config")
@pass_state
@handle_errors
def check_config(state: State) -> None:
    """Validate the configuration and print a summary of it."""
    settings = state.settings()
    path = resolve_config_path(state.config)
    click.echo(
        f"{path}: ok ({len(settings.sources)} sources, {len(settings.topics)} topics, "
        f"LLM {'on: ' + settings.llm.model if settings.llm.enabled else 'off (extractive)'})"
    )


# --- stages ----------------------------------------------------------------------------------


@main.command()
@click.option("--source", "source", metavar="NAME", help="Collect only this source.")
@click.option(
    "--force",
    is_flag=True,
    help="Fetch now, ignoring the schedule (still sends ETag/Last-Modified).",
)
@pass_state
@handle_errors
def collect(state: State, source: str | None, force: bool) -> None:
    """Fetch due sources (RSS/Atom feeds and Reddit) and store new items."""
    run_single_stage(state, "collect", source=source, force=force)


@main.command()
@pass_state
@handle_errors
def extract(state: State) -> None:
    """Pull the full text of every collected item waiting, then group duplicates into stories."""
    from aggregator.pipeline import load_runner, process_pending

    load_runner("extract")  # says "not built yet" before touching the database
    reports = process_pending(state.context(), ("extract", "dedupe"))  # until the queue is empty
    print_reports(reports)
    if any(r.failed_entirely for r in reports):
        raise UserError("extract: every unit of work failed (see `aggregator status`)")


@main.command()
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Stop after this many stories (default: every story waiting).")
@pass_state
@handle_errors
def summarize(state: State, limit: int | None) -> None:
    """Write cards for every story that needs one (LLM, or extractive when none is configured)."""
    run_single_stage(state, "summarize", limit=limit, drain=True)


@main.command()
@click.option("--serve", is_flag=True, help="Serve the built site on 127.0.0.1 afterwards.")
@click.option("--port", default=8000, show_default=True, help="Port for --serve.")
@pass_state
@handle_errors
def publish(state: State, serve: bool, port: int) -> None:
    """Build the static site, feeds, planner API and search index."""
    run_single_stage(state, "publish")
    if serve:
        from aggregator.config import output_dir

        serve_directory(output_dir(state.settings()), port)


def serve_directory(path: Path, port: int) -> None:
    """Serve a built site on 127.0.0.1 until interrupted."""
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        click.echo(f"serving {path} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


@main.command()
@click.option("--week", metavar="YYYY-Www", help="ISO week [default: the last complete week].")
@pass_state
@handle_errors
def recap(state: State, week: str | None) -> None:
    """Write (or rewrite, as a new revision) the weekly recap."""
    run_single_stage(state, "recap", week=week)


@main.command()
@click.option("--once", is_flag=True, help="Run every stage once, in order, then exit.")
@pass_state
@handle_errors
def run(state: State, once: bool) -> None:
    """Run the scheduler (collect, process, publish, recap); --once runs every stage once."""
    if not once:
        from aggregator.schedule import run_scheduler

        run_scheduler(state.context())
        return
    from aggregator.pipeline import run_once

    reports = run_once(state.context())
    print_reports(reports)
    dead = [r.stage for r in reports if r.failed_entirely]
    if dead:
        raise UserError(f"run: stage(s) failed entirely: {', '.join(dead)}")


@main.command()
@click.option("--once", is_flag=True, help="Exit when no work is left instead of waiting.")
@pass_state
@handle_errors
def worker(state: State, once: bool) -> None:
    """Claim and process pending work (extract, dedupe, summarize); for scale-out on PostgreSQL."""
    from aggregator.worker import WorkerBusy, run_worker

    try:
        processed = run_worker(state.context(), exit_when_idle=once)
    except WorkerBusy as exc:
        raise UserError(str(exc)) from None
    click.echo(f"worker: processed {processed} units of work")


@main.command()
@click.option("--serve", is_flag=True, help="Serve the demo site on 127.0.0.1 afterwards.")
@click.option("--port", default=8000, show_default=True, help="Port for --serve.")
@click.option(
    "--dir",
    "directory",
    default=".",
    type=click.Path(file_okay=False),
    help="Where to put site/ and the demo database.",
    show_default=True,
)
@pass_state
@handle_errors
def demo(state: State, serve: bool, port: int, directory: str) -> None:
    """Run the whole pipeline offline on the bundled examples into ./site."""
    try:
        from aggregator.demo.run import run_demo
    except ModuleNotFoundError as exc:
        if exc.name not in ("aggregator.demo.run", "aggregator.demo.server"):
            raise
        raise StageNotBuilt("demo: the offline demo is not built yet") from None
    site = run_demo(Path(directory), echo=click.echo)
    if serve:
        serve_directory(site, port)


# --- inspection ------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status document as JSON.")
@pass_state
@handle_errors
def status(state: State, as_json: bool) -> None:
    """Show sources' health, queue depths, failures, LLM spend, last publish and recap."""
    from aggregator.cli.status import collect_status

    ctx = state.context()
    with ctx.session() as session:
        document = collect_status(session, ctx.settings)
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        from aggregator.cli.status_view import print_status

        print_status(document)


@main.command()
@click.option("--since", default="7d", show_default=True, help="Only items newer than this.")
@click.option("--topic", metavar="SLUG", help="Only items in this topic.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "jsonl"]), default="json", show_default=True
)
@pass_state
@handle_errors
def export(state: State, since: str, topic: str | None, fmt: str) -> None:
    """Print items with their cards as planner API records (JSON or JSON Lines)."""
    from aggregator.publish.export import write_records
    from aggregator.publish.stage import export_records
    from aggregator.settings import parse_duration

    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise UserError(f"export: --since: {exc}") from None
    if topic and state.settings().topic(topic) is None:
        raise UserError(f"export: --topic: unknown topic {topic!r}")
    ctx = state.context()
    with ctx.session() as session:
        records = export_records(session, timedelta(seconds=seconds), topic, settings=ctx.settings)
    write_records(records, fmt, sys.stdout)


from aggregator.cli.subscribers import deliver, subscribers  # noqa: E402 (needs main defined)
from aggregator.evals.cli import eval_group  # noqa: E402

main.add_command(subscribers)
main.add_command(deliver)
main.add_command(eval_group)

if __name__ == "__main__":  # pragma: no cover
    main()
