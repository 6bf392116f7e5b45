"""Issue 19, problem 5: one-click unsubscribe that works, addresses that can be delivered."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from aggregator.db.models import Subscriber
from aggregator.deliver.endpoint import make_app
from aggregator.deliver.mail import make_token, read_token
from aggregator.deliver.store import SubscriberError, add_subscriber, normalize_email

pytestmark = pytest.mark.integration
SECRET = b"endpoint-secret"


def call(app: Any, method: str, query: str, body: bytes = b"") -> tuple[str, str]:
    seen: list[str] = []
    environ = {"REQUEST_METHOD": method, "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}  # fmt: skip
    out = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return seen[0], out.decode()


def test_unsubscribe_endpoint_post_removes_get_only_asks(ctx) -> None:
    with ctx.session() as session:
        add_subscriber(session, "leaver@example.org")

    def unsubscribe(token: str) -> str | None:
        address = read_token(SECRET, token)
        if address is None:
            return None
        with ctx.session() as session:
            row = session.scalars(select(Subscriber).where(Subscriber.email == address)).one()
            row.status = "unsubscribed"
        return address

    app = make_app(unsubscribe, "Signal")
    token = make_token(SECRET, "leaver@example.org")
    status, page = call(app, "GET", f"token={token}")  # a link scanner: nothing happens
    assert status == "200 OK" and 'method="post"' in page
    with ctx.session() as session:
        assert session.scalars(select(Subscriber.status)).one() == "active"
    status, page = call(app, "POST", f"token={token}", b"List-Unsubscribe=One-Click")
    assert status == "200 OK" and "leaver@example.org will get no more email" in page
    with ctx.session() as session:
        assert session.scalars(select(Subscriber.status)).one() == "unsubscribed"
    assert call(app, "POST", "token=forged.token")[0] == "400 Bad Request"
    assert call(app, "PUT", "")[0] == "405 Method Not Allowed"


@pytest.mark.parametrize(
    "address",
    ["bad\u202e@example.org", "back\\slash@example.org", "ctl\x07@example.org",
     "x" * 300 + "@example.org", "no-at-sign"],
)  # fmt: skip
def test_undeliverable_addresses_are_refused(address: str) -> None:
    with pytest.raises(SubscriberError, match="is not an email address"):
        normalize_email(address)


def test_idna_domain_is_stored_ascii_and_smtputf8_is_required_for_local_parts() -> None:
    assert normalize_email("Ann@Bücher.de") == "ann@xn--bcher-kva.de"
    assert normalize_email("björn@example.org", smtputf8=True) == "björn@example.org"
    with pytest.raises(SubscriberError, match="needs SMTPUTF8"):
        normalize_email("björn@example.org", smtputf8=False)


@pytest.mark.parametrize("offered", [True, False])
def test_smtputf8_is_asked_of_the_real_server(make_settings, offered: bool) -> None:
    from aiosmtpd.controller import Controller

    from aggregator.deliver.mail import smtputf8_offered
    from tests.integration.mail.conftest import Inbox, free_port

    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=offered)  # fmt: skip
    controller.start()
    try:
        email = {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": controller.port}
        assert smtputf8_offered(make_settings(email=email).email) is offered
        assert smtputf8_offered(make_settings(email={**email, "smtputf8": "no"}).email) is False
    finally:
        controller.stop()
