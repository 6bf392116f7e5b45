"""Recap email delivery against a real SMTP server: headers, parts, retries, crashes, unsubscribes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from aggregator.clock import utcnow
from aggregator.db.models import Delivery, Subscriber
from aggregator.deliver.mail import SmtpSender
from aggregator.deliver.stage import run_deliver
from aggregator.deliver.store import add_subscriber, remove_by_token
from aggregator.recap.stage import run_recap
from tests.integration.recap.factories import add_story

pytestmark = pytest.mark.integration
WEEK = "2026-W47"
LEASE = timedelta(seconds=601)  # just past the default lease (600 s)


def setup(ctx, n: int = 3, week: str = WEEK) -> list[str]:
    """Add two stories, write the week's recap and add `n` subscribers; return their addresses."""
    with ctx.session() as session:
        add_story(session, week, "Model launch", hook="Cheaper tokens for all",
                  topics=[("models", 0.9)], score=50, url="https://a.example/launch")  # fmt: skip
        add_story(session, week, "Café paper 💡", hook="Ünïcode survives", score=5)
        addresses = [f"reader{i}@example.org" for i in range(n)]
        for address in addresses:
            add_subscriber(session, address)
    run_recap(ctx, week=week)
    return addresses


def deliveries(ctx) -> dict[str, Delivery]:
    with ctx.session() as session:
        rows = session.execute(select(Delivery, Subscriber.email).join(Subscriber))
        return {email: d for d, email in rows}


def test_deliver_sends_multipart_recap_with_unsubscribe_headers(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    (address,) = setup(mail_ctx, 1)
    report = run_deliver(mail_ctx)
    assert report.succeeded == 1 and report.details["planned"] == 1
    (msg,) = inbox.to(address)
    assert msg["From"] == "Signal <recap@news.example.org>" and msg["To"] == address
    assert msg["Message-ID"] == deliveries(mail_ctx)[address].message_id
    assert msg["List-Unsubscribe-Post"] is None  # no POST endpoint configured (RFC 8058)
    assert "<http://127.0.0.1:8000/unsubscribe/?token=" in msg["List-Unsubscribe"]
    assert "mailto:recap@news.example.org?subject=unsubscribe" in msg["List-Unsubscribe"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "    Our card: http://127.0.0.1:8000/items/" in text  # our page, with its quotes
    for part in (text, html):
        assert "Model launch" in part and "Café paper 💡" in part
        assert "http://127.0.0.1:8000/recaps/2026-W47/" in part
        assert "without a language model" in part
    assert 'href="https://a.example/launch"' in html and "<img" not in html
    row = deliveries(mail_ctx)[address]
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_deliver_rerun_sends_nobody_twice(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    addresses = setup(mail_ctx)
    run_deliver(mail_ctx)
    again = run_deliver(mail_ctx, now=utcnow() + timedelta(days=2))
    assert again.processed == 0 and inbox.count() == dict.fromkeys(addresses, 1)


def test_deliver_transient_error_is_retried_later(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    first, second, third = setup(mail_ctx)
    inbox.refuse[second] = ["451 4.3.0 Mailbox busy, try later"]
    report = run_deliver(mail_ctx)
    assert (report.succeeded, report.failed, report.details["retry_later"]) == (2, 1, 1)
    row = deliveries(mail_ctx)[second]
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(minutes=4)
    assert run_deliver(mail_ctx).processed == 0  # still backing off
    later = run_deliver(mail_ctx, now=utcnow() + timedelta(minutes=6))
    assert later.succeeded == 1
    row = deliveries(mail_ctx)[second]
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert inbox.count() == {first: 1, second: 1, third: 1}


def test_deliver_permanent_error_is_recorded_not_retried(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    _, gone, _ = setup(mail_ctx)
    inbox.refuse[gone] = ["550 5.1.1 No such user"]
    run_deliver(mail_ctx)
    row = deliveries(mail_ctx)[gone]
    assert row.status == "failed" and "550" in row.last_error
    assert run_deliver(mail_ctx, now=utcnow() + timedelta(days=1)).processed == 0
    assert gone not in inbox.count()


def test_deliver_server_down_stops_the_run_and_retries(mail_ctx, smtp) -> None:
    inbox, port = smtp
    addresses = setup(mail_ctx)
    mail_ctx.settings.email.smtp_port = 1  # nothing listens there
    report = run_deliver(mail_ctx)
    assert report.details["stopped"] == "smtp connection" and report.processed == 1
    rows = deliveries(mail_ctx)
    assert [rows[a].attempts for a in addresses] == [1, 0, 0]
    assert "connection failed" in rows[addresses[0]].last_error
    mail_ctx.settings.email.smtp_port = port
    run_deliver(mail_ctx, now=utcnow() + timedelta(minutes=6))
    assert inbox.count() == dict.fromkeys(addresses, 1)


def test_deliver_sender_refused_is_not_blamed_on_the_subscriber(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    addresses = setup(mail_ctx)
    inbox.refuse_sender.append("550 5.7.1 Sender not allowed")
    report = run_deliver(mail_ctx)
    assert report.details["stopped"] == "smtp connection" and report.processed == 1
    row = deliveries(mail_ctx)[addresses[0]]
    assert row.status == "pending" and "550 5.7.1" in row.last_error
    run_deliver(mail_ctx, now=utcnow() + timedelta(minutes=6))
    assert inbox.count() == dict.fromkeys(addresses, 1)


def test_unsubscribe_token_from_the_email_stops_further_recaps(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    leaver, stayer = setup(mail_ctx, 2)
    run_deliver(mail_ctx)
    header = inbox.to(leaver)[0]["List-Unsubscribe"]
    url = header.split("<")[1].split(">")[0]
    token = parse_qs(urlsplit(url).query)["token"][0]
    with mail_ctx.session() as session:
        assert remove_by_token(session, token, b"test-unsubscribe-secret") == (leaver, True)
    setup(mail_ctx, 0, week="2026-W48")
    run_deliver(mail_ctx)
    assert inbox.count() == {leaver: 1, stayer: 2}


def test_deliver_skips_who_left_between_planning_and_sending(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    leaver, stayer = setup(mail_ctx, 2)

    class LeaveFirst(SmtpSender):
        def send(self, msg, to):
            with mail_ctx.session() as session:  # the other reader leaves meanwhile
                session.scalar(
                    select(Subscriber).where(Subscriber.email == stayer)
                ).status = "unsubscribed"
            super().send(msg, to)

    report = run_deliver(mail_ctx, sender=LeaveFirst(mail_ctx.settings.email))
    assert report.skipped == 1 and inbox.count() == {leaver: 1}
    assert deliveries(mail_ctx)[stayer].status == "skipped"


def test_deliver_new_revision_goes_only_to_new_subscribers(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    old = setup(mail_ctx, 2)
    run_deliver(mail_ctx)
    with mail_ctx.session() as session:
        add_subscriber(session, "newcomer@example.org")
    run_recap(mail_ctx, week=WEEK)  # revision 2
    report = run_deliver(mail_ctx)
    assert report.succeeded == 1 and report.details["revision"] == 2
    assert inbox.count() == {old[0]: 1, old[1]: 1, "newcomer@example.org": 1}
    assert ".r2." in inbox.to("newcomer@example.org")[0]["Message-ID"]


def test_deliver_quiet_week_sends_nothing(mail_ctx, smtp) -> None:
    with mail_ctx.session() as session:
        add_subscriber(session, "reader@example.org")
    run_recap(mail_ctx, week="2026-W10")
    assert run_deliver(mail_ctx).processed == 0 and smtp[0].messages == []


def test_deliver_disabled_or_without_secret(mail_ctx, smtp) -> None:
    setup(mail_ctx, 1)
    mail_ctx.settings.email.secret_key = None
    report = run_deliver(mail_ctx)
    assert report.failed_entirely and "AGGREGATOR_SECRET_KEY" in report.errors[0]
    mail_ctx.settings.email.enabled = False
    assert run_deliver(mail_ctx).details == {"email": "disabled"}
    assert smtp[0].messages == []


class CrashOn(SmtpSender):
    """Raises before the `n`th message reaches the server, as if the process died there."""

    def __init__(self, settings, n: int):
        super().__init__(settings)
        self.calls, self.n = 0, n

    def send(self, msg, to):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt("killed")
        super().send(msg, to)


def test_deliver_crash_mid_run_resumes_without_duplicates_or_gaps(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    addresses = setup(mail_ctx, 5)
    with pytest.raises(KeyboardInterrupt):
        run_deliver(mail_ctx, sender=CrashOn(mail_ctx.settings.email, 3))
    statuses = [deliveries(mail_ctx)[a].status for a in addresses]
    assert statuses == ["sent", "sent", "sending", "pending", "pending"]
    run_deliver(mail_ctx)  # the in-flight one waits for its lease; the rest go now
    assert addresses[2] not in inbox.count()
    run_deliver(mail_ctx, now=utcnow() + LEASE)
    assert inbox.count() == dict.fromkeys(addresses, 1)


CHILD = """
import json, os, sys
from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.deliver.mail import SmtpSender
from aggregator.deliver.stage import run_deliver

overrides, die_after = json.loads(sys.argv[1]), int(sys.argv[2])

class DieAfterAccept(SmtpSender):
    sent = 0
    def send(self, msg, to):
        super().send(msg, to)
        DieAfterAccept.sent += 1
        if DieAfterAccept.sent == die_after:
            os._exit(9)  # killed after the server's 250, before `sent` is committed

ctx = open_context(load_settings("missing.toml", env={}, overrides=overrides, required=False))
run_deliver(ctx, sender=DieAfterAccept(ctx.settings.email))
"""


def test_deliver_killed_after_accept_resends_the_same_message(mail_ctx, smtp) -> None:
    inbox, port = smtp
    addresses = setup(mail_ctx, 4)
    s = mail_ctx.settings
    overrides = {"database": {"url": s.database.url}, "site": {"base_url": s.site.base_url},
                 "email": {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": port,
                           "secret_key": "test-unsubscribe-secret"}}  # fmt: skip
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(overrides), "2"],
                           env={**os.environ}, timeout=60, capture_output=True)  # fmt: skip
    assert child.returncode == 9, child.stderr.decode()[-2000:]
    assert inbox.count() == {addresses[0]: 1, addresses[1]: 1}
    assert deliveries(mail_ctx)[addresses[1]].status == "sending"
    run_deliver(mail_ctx, now=utcnow() + LEASE)
    # At-least-once in that window, with the same Message-ID so receivers see one message.
    assert inbox.count() == {addresses[0]: 1, addresses[1]: 2, addresses[2]: 1, addresses[3]: 1}
    ids = {m["Message-ID"] for m in inbox.to(addresses[1])}
    assert len(ids) == 1
    assert all(d.status == "sent" for d in deliveries(mail_ctx).values())


def test_deliver_two_workers_at_once_send_each_once(mail_ctx, smtp) -> None:
    inbox, _ = smtp
    addresses = setup(mail_ctx, 12)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            run_deliver(mail_ctx)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and inbox.count() == dict.fromkeys(addresses, 1)


# Issue 19, problem 5: `deliver` exited 0 although a delivery failed for good.
def test_deliver_command_exits_non_zero_on_a_permanent_failure(
    mail_ctx, smtp, tmp_path, monkeypatch
) -> None:
    from click.testing import CliRunner

    from aggregator.cli import main

    if not mail_ctx.settings.database.url.startswith("sqlite"):
        pytest.skip("the command reads its database from a config file; SQLite is enough")
    inbox, port = smtp
    ok, refused = setup(mail_ctx, 2)
    inbox.refuse[refused] = ["550 5.1.1 No such user"]
    config = tmp_path / "deliver.toml"
    config.write_text(
        f'[database]\nurl = "{mail_ctx.settings.database.url}"\n'
        f'[email]\nenabled = true\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
        'from_address = "Signal <recap@news.example.org>"\n'
    )
    monkeypatch.setenv("AGGREGATOR_SECRET_KEY", "test-unsubscribe-secret")
    result = CliRunner().invoke(main, ["--config", str(config), "deliver"])
    assert result.exit_code == 1, result.output
    assert "1 delivery(ies) failed for good" in result.output
    assert inbox.count() == {ok: 1}


def test_status_shows_delivery_counts_and_failures(mail_ctx, smtp) -> None:
    from aggregator.cli.status import collect_status

    inbox, _ = smtp
    ok, refused = setup(mail_ctx, 2)
    inbox.refuse[refused] = ["550 5.1.1 No such user"]
    run_deliver(mail_ctx)
    with mail_ctx.session() as session:
        document = collect_status(session, mail_ctx.settings)
    deliveries = document["deliveries"]
    assert deliveries["counts"] == {"failed": 1, "sent": 1}
    (failure,) = deliveries["failures"]
    assert "550 5.1.1 No such user" in failure["last_error"]
    assert refused not in json.dumps(deliveries) and ok not in json.dumps(deliveries)
