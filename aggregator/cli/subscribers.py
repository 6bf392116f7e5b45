"""`aggregator subscribers …` and `aggregator deliver`: who gets the weekly recap, and sending it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import click

from aggregator.cli.common import State, UserError, handle_errors, pass_state, run_single_stage


@contextlib.contextmanager
def subscriber_errors() -> Iterator[None]:
    """Turn subscriber and mail input errors into one-line user errors."""
    from aggregator.deliver.mail import MailError
    from aggregator.deliver.store import SubscriberError

    try:
        yield
    except (SubscriberError, MailError) as exc:
        raise UserError(str(exc)) from None


@click.group()
def subscribers() -> None:
    """Manage who gets the weekly recap by email (no double opt-in for addresses added here)."""


@subscribers.command("add")
@click.argument("emails", nargs=-1, required=True)
@pass_state
@handle_errors
def subscribers_add(state: State, emails: tuple[str, ...]) -> None:
    """Subscribe one or more addresses (re-subscribes an address that had left)."""
    from aggregator.deliver.mail import smtputf8_offered
    from aggregator.deliver.store import add_subscriber, normalize_email

    with subscriber_errors():
        # All or nothing: check every address before adding any; the SMTP server is asked
        # about SMTPUTF8 only when an address needs it.
        needs = any(not normalize_email(email).isascii() for email in emails)
        offered = smtputf8_offered(state.settings().email) if needs else True
        for email in emails:
            normalize_email(email, offered)
    with subscriber_errors(), state.context().session() as session:
        for email in emails:
            row, status = add_subscriber(session, email)
            click.echo(f"{status}: {row.email}")


@subscribers.command("remove")
@click.argument("email", required=False)
@click.option("--token", metavar="TOKEN", help="An unsubscribe token from a recap email's link.")
@pass_state
@handle_errors
def subscribers_remove(state: State, email: str | None, token: str | None) -> None:
    """Unsubscribe EMAIL, or the address a signed --token names."""
    from aggregator.deliver.mail import secret_key
    from aggregator.deliver.store import remove_by_token, remove_subscriber

    if bool(email) == bool(token):
        raise UserError("subscribers: give either an EMAIL or --token TOKEN")
    with subscriber_errors(), state.context().session() as session:
        if token:
            email, removed = remove_by_token(session, token, secret_key(state.settings()))
        else:
            removed = remove_subscriber(session, email or "")
    click.echo(f"{'unsubscribed' if removed else 'not subscribed'}: {email}")


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice(["active", "unsubscribed", "all"]),
    default="active",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of lines.")
@pass_state
@handle_errors
def subscribers_list(state: State, status: str, as_json: bool) -> None:
    """List subscribers: address, status, origin, date added."""
    from aggregator.deliver.store import list_subscribers

    with state.context().session() as session:
        data = [
            {
                "email": r.email,
                "status": r.status,
                "origin": r.origin,
                "created_at": r.created_at.isoformat(),
                "unsubscribed_at": r.unsubscribed_at.isoformat() if r.unsubscribed_at else None,
            }
            for r in list_subscribers(session, None if status == "all" else status)
        ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for r in data:
        click.echo(f"{r['email']}\t{r['status']}\t{r['origin']}\t{r['created_at'][:10]}")


@subscribers.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@pass_state
@handle_errors
def subscribers_import(state: State, file: Any) -> None:
    """Subscribe every address in FILE (one per line, or CSV with the address first; - is stdin)."""
    from aggregator.deliver.mail import smtputf8_offered
    from aggregator.deliver.store import import_subscribers

    offered = smtputf8_offered(state.settings().email)
    with state.context().session() as session:
        result = import_subscribers(session, file, smtputf8=offered)
    click.echo(
        f"imported: {result.added} added, {result.existing} already subscribed, "
        f"{result.kept_unsubscribed} kept unsubscribed"
    )
    for number, line in result.invalid:
        click.echo(f"subscribers: {file.name} line {number}: not an address: {line!r}", err=True)
    if result.invalid:
        raise UserError(f"subscribers: {len(result.invalid)} line(s) of {file.name} were skipped")


@click.command("serve-unsubscribe")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, help="Port to listen on.")
@pass_state
@handle_errors
def serve_unsubscribe(state: State, host: str, port: int) -> None:
    """Serve the one-click unsubscribe endpoint (RFC 8058) behind the site's https proxy."""
    from wsgiref.simple_server import make_server

    from aggregator.deliver.endpoint import make_app
    from aggregator.deliver.mail import secret_key
    from aggregator.deliver.store import remove_by_token
    from aggregator.publish.server import until_stopped

    settings = state.settings()
    with subscriber_errors():
        secret = secret_key(settings)
    ctx = state.context()

    def unsubscribe(token: str) -> str | None:
        from aggregator.deliver.store import SubscriberError

        try:
            with ctx.session() as session:
                return remove_by_token(session, token, secret)[0]
        except SubscriberError:
            return None

    app = make_app(unsubscribe, settings.site.title)
    with make_server(host, port, app) as server, until_stopped():
        click.echo(f"unsubscribe endpoint at http://{host}:{server.server_port}/ (Ctrl-C stops)")
        server.serve_forever()


@click.command()
@pass_state
@handle_errors
def deliver(state: State) -> None:
    """Email the newest recap to subscribers who have not had it ([email] enabled = true)."""
    if not state.settings().email.enabled:
        raise UserError("deliver: email is off; set [email] enabled = true and the SMTP keys")
    report = run_single_stage(state, "deliver")
    gave_up = report.details.get("gave_up", 0)
    if gave_up:  # a permanent refusal needs the operator: say so in the exit code
        raise UserError(
            f"deliver: {gave_up} delivery(ies) failed for good (see `aggregator status`)"
        )
