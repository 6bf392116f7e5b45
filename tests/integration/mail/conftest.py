"""Fixtures for mail tests: a real SMTP server (aiosmtpd) on 127.0.0.1 and an email-enabled context."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from aggregator.context import Context, open_context
from aggregator.settings import Settings

SECRET = "test-unsubscribe-secret"
FROM = "Signal <recap@news.example.org>"


class Inbox:
    """The SMTP server's side: every accepted message, and scripted refusals per recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: dict[str, list[str]] = {}
        self.refuse_sender: list[str] = []

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.refuse_sender:
            return self.refuse_sender.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        replies = self.refuse.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages delivered to one address."""
        return [m for rcpts, m in self.messages if address in rcpts]

    def count(self) -> dict[str, int]:
        """Return how many messages each recipient got."""
        out: dict[str, int] = {}
        for rcpts, _ in self.messages:
            for address in rcpts:
                out[address] = out.get(address, 0) + 1
        return out


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """Return (inbox, port) of a running SMTP server on 127.0.0.1."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def mail_settings(make_settings: Callable[..., Settings], smtp, db_url: str) -> Settings:
    """Return settings with email delivery to the test SMTP server (SQLite, then PostgreSQL)."""
    return make_settings(database={"url": db_url}, email={
        "enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp[1],
        "from_address": FROM, "secret_key": SECRET})  # fmt: skip


@pytest.fixture
def mail_ctx(mail_settings: Settings) -> Iterator[Context]:
    """Return a context whose email goes to the test SMTP server."""
    context = open_context(mail_settings)
    yield context
    context.engine.dispose()
