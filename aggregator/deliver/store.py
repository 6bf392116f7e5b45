"""Deliver's SQL: subscribers added, removed (by address or signed token), listed and imported."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.db.models import Subscriber
from aggregator.deliver.mail import read_token

ACTIVE = "active"
UNSUBSCRIBED = "unsubscribed"


class SubscriberError(Exception):
    """Bad input for a subscriber command; the message is one line starting with `subscribers:`."""


@dataclass
class ImportResult:
    """What an import did: counts, and the lines that were not addresses (line number, text)."""

    added: int = 0
    existing: int = 0
    kept_unsubscribed: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)


def normalize_email(text: str, smtputf8: bool = True) -> str:
    """Return the address as stored (lower-cased, IDNA domain in ASCII); raise SubscriberError.

    email-validator checks the syntax (RFC 5321 lengths, no control, bidi or unsafe
    characters). An address with a non-ASCII local part needs SMTPUTF8 (RFC 6531); without
    it (`smtputf8` False) such an address could never be delivered, so it is refused here.
    """
    from email_validator import EmailNotValidError, validate_email

    shown = (text or "").strip()
    try:
        checked = validate_email(shown, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise SubscriberError(f"subscribers: {shown!r} is not an email address ({exc})") from None
    if checked.ascii_email:  # a non-ASCII domain is sent as IDNA (xn--): any server takes it
        return checked.ascii_email.lower()
    if not smtputf8:
        raise SubscriberError(
            f"subscribers: {shown!r} has a non-ASCII name before the @: it needs SMTPUTF8, "
            'which the SMTP server did not offer (set [email] smtputf8 = "yes" if it does)'
        )
    return checked.normalized.lower()


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """Return the subscriber with this address, or None."""
    return session.scalar(select(Subscriber).where(Subscriber.email == normalize_email(email)))


def add_subscriber(session: Session, email: str, origin: str = "cli") -> tuple[Subscriber, str]:
    """Subscribe an address (re-activating it if it had left); return (row, added|reactivated|exists).

    Addresses added by the operator need no double opt-in (issue 7).
    """
    address = normalize_email(email)
    row = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if row is None:
        row = Subscriber(email=address, status=ACTIVE, origin=origin, created_at=utcnow())
        session.add(row)
        session.flush()
        return row, "added"
    if row.status == ACTIVE:
        return row, "exists"
    row.status, row.unsubscribed_at = ACTIVE, None
    return row, "reactivated"


def remove_subscriber(session: Session, email: str) -> bool:
    """Unsubscribe an address (the row stays, so imports cannot bring it back); return if it was active."""
    row = find_subscriber(session, email)
    if row is None or row.status != ACTIVE:
        return False
    row.status, row.unsubscribed_at = UNSUBSCRIBED, utcnow()
    return True


def remove_by_token(session: Session, token: str, secret: bytes) -> tuple[str, bool]:
    """Unsubscribe the address a signed token names; return (address, was active).

    Raises SubscriberError when the token is not one we signed.
    """
    address = read_token(secret, token)
    if address is None:
        raise SubscriberError("subscribers: the unsubscribe token is not valid (altered or cut?)")
    try:
        return address, remove_subscriber(session, address)
    except SubscriberError:
        raise SubscriberError("subscribers: the unsubscribe token names no address") from None


def list_subscribers(session: Session, status: str | None = None) -> list[Subscriber]:
    """Return subscribers (optionally of one status: active | unsubscribed), by address."""
    query = select(Subscriber).order_by(Subscriber.email)
    if status:
        query = query.where(Subscriber.status == status)
    return list(session.scalars(query))


def parse_import_line(line: str) -> str | None:
    """Return the address field of an import line (CSV or plain), or None for blanks and comments."""
    text = line.strip().lstrip("\ufeff")
    if not text or text.startswith("#"):
        return None
    first = re.split(r"[,;\t]", text, maxsplit=1)[0].strip().strip('"').strip()
    if first.lower() in ("email", "e-mail", "address", "email_address"):
        return None  # a CSV header
    # "Name <addr@example.org>" keeps the address part.
    angle = re.search(r"<([^<>]+)>", first)
    return angle[1] if angle else first


def import_subscribers(
    session: Session, lines: Iterable[str], origin: str = "import", smtputf8: bool = True
) -> ImportResult:
    """Add every address in `lines`; people who unsubscribed stay unsubscribed; return the counts."""
    result = ImportResult()
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        raw = parse_import_line(line)
        if raw is None:
            continue
        try:
            address = normalize_email(raw, smtputf8)
        except SubscriberError:
            result.invalid.append((number, line.strip()[:200]))
            continue
        if address in seen:
            continue
        seen.add(address)
        row = session.scalar(select(Subscriber).where(Subscriber.email == address))
        if row is None:
            session.add(
                Subscriber(email=address, status=ACTIVE, origin=origin, created_at=utcnow())
            )
            result.added += 1
        elif row.status == ACTIVE:
            result.existing += 1
        else:
            result.kept_unsubscribed += 1
    session.flush()
    return result
