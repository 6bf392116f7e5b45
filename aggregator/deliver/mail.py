"""The recap email: signed unsubscribe tokens, the multipart message, the SMTP transport."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as _SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import quote, urlsplit

from aggregator.clock import utcnow
from aggregator.deliver.letter import Envelope, StoryRef, render_html, render_text
from aggregator.recap.compose import RecapDoc
from aggregator.settings import EmailSettings, Settings

_TOKEN_PURPOSE = b"unsubscribe\0"
# RFC 5322 allows 998 characters a line; Python's default (78) makes it RFC 2047-encode the
# ~80-character List-Unsubscribe URL, which mail clients then do not read as a link.
POLICY = _SMTP_POLICY.clone(max_line_length=998)
SMTP_TIMEOUT = 30.0


class MailError(Exception):
    """Email cannot be prepared as configured; the message is one line starting with its stage."""


def secret_key(settings: Settings) -> bytes:
    """Return the key that signs unsubscribe tokens; raise MailError when it is not set."""
    key = settings.email.secret_key
    if key is None or not key.get_secret_value():
        raise MailError("deliver: AGGREGATOR_SECRET_KEY is not set (it signs unsubscribe links)")
    return key.get_secret_value().encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, email: str) -> str:
    """Return the unsubscribe token of an address: the address and its HMAC-SHA256, URL-safe."""
    address = email.strip().lower().encode("utf-8")
    mac = hmac.new(secret, _TOKEN_PURPOSE + address, hashlib.sha256).digest()
    return f"{_b64(address)}.{_b64(mac)}"


def read_token(secret: bytes, token: str) -> str | None:
    """Return the address a token was made for, or None if it is malformed or not ours."""
    head, dot, tail = (token or "").strip().partition(".")
    if not dot or not head or not tail:
        return None
    try:
        address, mac = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        return None
    expected = hmac.new(secret, _TOKEN_PURPOSE + address, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        return address.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unsubscribe_url(page: str, token: str) -> str:
    """Return the unsubscribe address (the site's page or the endpoint) for a token."""
    return f"{page}?token={quote(token, safe='')}"


def recap_url(base_url: str, week: str) -> str:
    """Return the site address of a week's recap."""
    return f"{base_url}recaps/{week}/"


def message_id(week: str, revision: int, subscriber_id: int, from_address: str) -> str:
    """Return a Message-ID fixed per (recap revision, subscriber): a resend is the same message."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    return f"<recap.{week}.r{revision}.s{subscriber_id}@{domain}>"


def build_message(
    recap: RecapDoc,
    stories: Mapping[int, StoryRef],
    *,
    to: str,
    from_address: str,
    site_title: str,
    base_url: str,
    token: str,
    msgid: str,
    endpoint: str = "",
    postal_address: str = "",
    language: str = "en",
) -> EmailMessage:
    """Return the recap email for one subscriber with its List-Unsubscribe headers (RFC 2369, 8058)."""
    link = recap_url(base_url, recap.week)
    # One-click (RFC 8058) only where something answers the POST: the configured endpoint.
    unsub = unsubscribe_url(endpoint or f"{base_url}unsubscribe/", token)
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = f"{site_title} weekly recap: {recap.title}"
    msg["From"] = from_address
    msg["To"] = Address(addr_spec=to)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = msgid
    reply_to = parseaddr(from_address)[1]
    mailto = f"mailto:{reply_to}?subject={quote('unsubscribe ' + token)}" if reply_to else ""
    msg["List-Unsubscribe"] = f"<{unsub}>" + (f", <{mailto}>" if mailto else "")
    if endpoint:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Id"] = f"{site_title} weekly recap <recap.{urlsplit(base_url).hostname or 'local'}>"
    msg["Auto-Submitted"] = "auto-generated"
    envelope = Envelope(site_title, from_address, link, unsub, postal_address, language)
    msg.set_content(render_text(recap, stories, envelope), charset="utf-8",
                    cte="quoted-printable")  # fmt: skip
    msg.add_alternative(render_html(recap, stories, envelope), subtype="html",
                        charset="utf-8", cte="quoted-printable")  # fmt: skip
    return msg


class SendError(Exception):
    """One message was not accepted; `transient` ones are retried, `connection` ones stop the run."""

    def __init__(self, message: str, *, transient: bool, connection: bool = False):
        super().__init__(message)
        self.transient = transient
        self.connection = connection


class SmtpSender:
    """One SMTP connection reused for a run's messages, opened on first use."""

    def __init__(self, settings: EmailSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT,
                                                  context=ssl.create_default_context())  # fmt: skip
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
        if s.username and s.password:
            smtp.login(s.username, s.password.get_secret_value())
        return smtp

    def _ready(self) -> smtplib.SMTP:
        """Return a live connection: servers close idle ones or cap messages per connection."""
        if self.smtp is not None:
            try:
                if self.smtp.noop()[0] == 250:
                    return self.smtp
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        self.smtp = self._connect()
        return self.smtp

    def send(self, msg: EmailMessage, to: str) -> None:
        """Send one message to one address; raise SendError saying whether to retry."""
        try:
            self._ready().send_message(msg, to_addrs=[to])
        except (
            smtplib.SMTPNotSupportedError
        ) as exc:  # SMTPUTF8 needed, not offered: never deliverable
            detail = "the address needs SMTPUTF8, which the SMTP server does not offer"
            raise SendError(f"deliver: {detail} ({exc})", transient=False) from None
        except smtplib.SMTPRecipientsRefused as exc:  # this address only
            code, text = next(iter(exc.recipients.values()), (550, b""))
            raise _refused(code, text) from None
        except smtplib.SMTPDataError as exc:  # this message only
            raise _refused(exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPResponseException as exc:  # greeting, HELO, login, sender: all mail
            self.close()
            raise SendError(f"deliver: SMTP refused us: {_text(exc)}", transient=True,
                            connection=True) from None  # fmt: skip
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(f"deliver: SMTP connection failed: {exc}".strip(), transient=True,
                            connection=True) from None  # fmt: skip

    def close(self) -> None:
        """Close the connection (politely if it is still up)."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def smtputf8_offered(settings: EmailSettings) -> bool:
    """Return whether addresses with a non-ASCII local part can be sent (asks the server on auto)."""
    if settings.smtputf8 != "auto":
        return settings.smtputf8 == "yes"
    if not settings.enabled:
        return False
    sender = SmtpSender(settings)
    try:
        smtp = sender._ready()
        smtp.ehlo_or_helo_if_needed()
        return bool(smtp.has_extn("smtputf8"))
    except (smtplib.SMTPException, OSError):
        return False
    finally:
        sender.close()


def _text(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return f"{exc.smtp_code} {text}".strip()


def _refused(code: int, text: Any) -> SendError:
    """Return the SendError of an SMTP reply: 4xx is worth retrying, 5xx is final (RFC 5321 4.2.1)."""
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return SendError(f"deliver: SMTP answered {code} {message}".strip(), transient=code < 500)
