"""Command line: thin commands, one per stage, plus run, worker, demo, status, export, eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aggregator import __version__
from aggregator.cli.common import (
    State,
    UserError,
    check_site_dir,
    drain_command,
    handle_errors,
    limit_option,
    pass_state,
    print_reports,
    run_single_stage,
)
from aggregator.cli.correct import correct
from aggregator.cli.eval import eval_group
from aggregator.cli.subscribers import deliver, serve_unsubscribe, subscribers
from aggregator.config import resolve_config_path
from aggregator.db.session import DatabaseError
from aggregator.log import setup_logging


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
@limit_option
@pass_state
@handle_errors
def extract(state: State, limit: int | None) -> None:
    """Pull the full text of every collected item, then group duplicates into stories."""
    drain_command(state, "extract", limit)
    drain_command(state, "dedupe")


@main.command()
@limit_option
@pass_state
@handle_errors
def summarize(state: State, limit: int | None) -> None:
    """Write cards for every story that needs one (LLM, or extractive when none is configured)."""
    run_single_stage(state, "summarize", limit=limit, drain=True)


@main.command()
@click.option("--serve", is_flag=True, help="Serve the built site on 127.0.0.1 afterwards.")
@click.option("--port", default=8000, show_default=True, help="Port for --serve.")
@click.option(
    "--adopt",
    is_flag=True,
    help="Build into a non-empty output_dir we did not create (keeps its files).",
)
@pass_state
@handle_errors
def publish(state: State, serve: bool, port: int, adopt: bool) -> None:
    """Build the static site, feeds, planner API and search index."""
    check_site_dir(state, adopt)
    run_single_stage(state, "publish", adopt=adopt)
    if serve:
        from aggregator.config import output_dir
        from aggregator.publish.server import PortInUse, serve_site, serve_until_interrupted

        site = output_dir(state.settings())
        try:
            server = serve_site(site, port=port)
        except PortInUse as exc:
            raise UserError(str(exc)) from None
        with server:
            serve_until_interrupted(server, click.echo, str(site))


@main.command()
@click.option("--week", metavar="YYYY-Www", help="ISO week [default: the last complete week].")
@pass_state
@handle_errors
def recap(state: State, week: str | None) -> None:
    """Write (or rewrite, as a new revision) the weekly recap."""
    run_single_stage(state, "recap", week=week)


@main.command()
@click.option("--once", is_flag=True, help="Run every stage once, in order, then exit.")
@click.option(
    "--force",
    is_flag=True,
    help="With --once: fetch every source now, ignoring schedules and error backoff.",
)
@pass_state
@handle_errors
def run(state: State, once: bool, force: bool) -> None:
    """Run the scheduler (collect, process, publish, recap); --once runs every stage once."""
    if force and not once:
        raise UserError("run: --force goes with --once (the scheduler keeps its own times)")
    check_site_dir(state)
    if not once:
        from aggregator.schedule import run_scheduler

        run_scheduler(state.context())
        return
    from aggregator.pipeline import run_once

    reports = run_once(state.context(), force=force)
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
@click.option(
    "--port",
    default=8000,
    show_default=True,
    help="Port for --serve; the site's absolute URLs name it.",
)
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
    from aggregator.demo.run import run_demo
    from aggregator.publish.server import PortInUse

    try:
        run_demo(Path(directory), echo=click.echo, port=port, serve=serve)
    except PortInUse as exc:
        raise UserError(f"demo: {exc}") from None


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


def require_existing_data(state: State, command: str) -> None:
    """Raise a one-line UserError when the configured SQLite database does not exist.

    A read-only command must not create an empty database (SQLite would, silently) and
    then report "0 records" as if the pipeline had found nothing. (A missing configuration
    file is refused earlier, by State.settings.)
    """
    from aggregator.config import base_dir
    from aggregator.db.session import normalize_url

    settings = state.settings()
    url = normalize_url(settings.database.url, base_dir(settings))
    if url.startswith("sqlite") and "://" in url:
        database = url.split(":///", 1)[-1] if ":///" in url else ""
        if database and database != ":memory:" and not Path(database).exists():
            raise UserError(
                f"{command}: database {database} does not exist (nothing collected yet)"
            )


@main.command()
@click.option(
    "--since",
    metavar="WHEN",
    help="Only items published at or after WHEN: a duration back from now (7d, 12h) or a "
    "time (2026-12-01T00:00Z). Filters on published_at. [default: 7d when --updated-since "
    "is not given]",
)
@click.option(
    "--updated-since",
    metavar="WHEN",
    help="Only items whose card changed at or after WHEN (a duration or a time), whenever "
    "they were published. Filters on updated_at: poll with your last read time.",
)
@click.option("--topic", metavar="SLUG", help="Only items in this topic.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "jsonl"]), default="json", show_default=True
)
@pass_state
@handle_errors
def export(
    state: State, since: str | None, updated_since: str | None, topic: str | None, fmt: str
) -> None:
    """Print items with their cards as planner API records (JSON or JSON Lines).

    Records are the same as api/items/<id>.json (schema: api/schema.json). Both filters
    may be combined; neither reads or writes anything but the configured database.
    """
    from aggregator.publish.export import cutoff, write_records
    from aggregator.publish.stage import export_records

    if since is None and updated_since is None:
        since = "7d"
    try:
        published, changed = cutoff(since), cutoff(updated_since, "--updated-since")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    settings = state.settings()
    require_existing_data(state, "export")
    if topic and settings.topic(topic) is None:
        raise UserError(f"export: --topic: unknown topic {topic!r}")
    ctx = state.context()
    with ctx.session() as session:
        records = export_records(
            session, published, topic, settings=ctx.settings, updated_since=changed
        )
    write_records(records, fmt, sys.stdout)


main.add_command(subscribers)
main.add_command(deliver)
main.add_command(serve_unsubscribe)
main.add_command(eval_group)
main.add_command(correct)

if __name__ == "__main__":  # pragma: no cover
    main()
