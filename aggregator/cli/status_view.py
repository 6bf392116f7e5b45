"""Rich tables for `aggregator status`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_status(document: dict[str, Any], console: Console | None = None) -> None:
    """Print the status document as tables: sources, queues, failures, spend."""
    console = console or Console()
    sources = Table(title="Sources", title_justify="left")
    for column in ("name", "kind", "items", "last success", "errors", "next try", "state"):
        sources.add_column(column)
    for s in document["sources"]:
        state = "[red]error[/red]" if s["consecutive_errors"] else "[green]ok[/green]"
        if s.get("last_warning") and not s["consecutive_errors"]:
            state = "[yellow]warning[/yellow]"
        if s.get("stale"):
            state += " [yellow]stale[/yellow]"
        if s.get("fallback"):
            state += f" (fallback: {s['fallback']})"
        if s.get("disabled"):
            state = "disabled"
        sources.add_row(
            s["name"],
            s["kind"],
            str(s["items"]),
            _short(s["last_success_at"]),
            str(s["consecutive_errors"]),
            _short(s["next_fetch_at"]),
            state,
        )
        if s["last_error"]:
            sources.add_row("", "", "", "", "", "", f"[red]{_escape(s['last_error'])}[/red]")
        elif s.get("last_warning"):
            sources.add_row(
                "", "", "", "", "", "", f"[yellow]{_escape(s['last_warning'])}[/yellow]"
            )
    console.print(sources)
    _print_next_tries(document["sources"], console)
    queue = Table(title="Queue", title_justify="left")
    queue.add_column("stage")
    queue.add_column("pending")
    for stage, depth in document["queue"].items():
        queue.add_row(stage, str(depth))
    console.print(queue)
    if document.get("failed_items"):
        failed = Table(title="Failed work", title_justify="left")
        for column in ("stage", "subject", "attempts", "last error"):
            failed.add_column(column)
        for f in document["failed_items"]:
            failed.add_row(
                f["stage"], str(f["subject_id"]), str(f["attempts"]), _escape(f["last_error"] or "")
            )
        console.print(failed)
    spend = document["spend"]
    llm = document.get("llm", {})
    console.print(
        f"LLM: {llm.get('mode', '?')} {llm.get('model') or ''}  spend today "
        f"${spend['today_usd']:.4f} / ${spend['budget_usd']:.2f}, this week "
        f"${spend['week_usd']:.4f}, calls today {spend['calls_today']}"
    )
    console.print(
        f"last publish: {document['last_publish_at'] or 'never'}; "
        f"last recap: {document['last_recap_week'] or 'none'}"
    )
    deliveries = document.get("deliveries") or {}
    counts = deliveries.get("counts") or {}
    if counts:
        console.print("recap emails: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for failure in deliveries.get("failures", []):
        console.print(
            f"  [red]delivery {failure['delivery_id']} failed[/red] after "
            f"{failure['attempts']} attempt(s): {_escape(failure['last_error'] or '')}"
        )


def _print_next_tries(sources: list[dict[str, Any]], console: Console) -> None:
    """Print when each source is tried next and why, one line each (the table is too narrow)."""
    if not any(s.get("next_reason") for s in sources):
        return
    console.print("Next tries (UTC)")
    width = max(len(s["name"]) for s in sources)
    for s in sources:
        when = _short(s["next_fetch_at"]) if s["next_fetch_at"] else "now"
        reason = _escape(s.get("next_reason") or "")
        console.print(f"  {s['name']:<{width}}  {when:<16}  {reason}", soft_wrap=True)


def _short(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
