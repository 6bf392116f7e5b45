"""`aggregator serve-unsubscribe`: the one-click unsubscribe endpoint (RFC 8058), as WSGI.

POST with a valid signed token removes the subscriber (what mail clients' "Unsubscribe"
buttons send). GET only shows a confirmation button, because link scanners and previews
follow GET links and must never unsubscribe anyone. Plain data in and out: the caller
passes `unsubscribe(token) -> address or None` (the database work lives in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from typing import Any
from urllib.parse import parse_qs

Unsubscribe = Callable[[str], str | None]
_MAX_BODY = 4096
_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
)


def _page(title: str, body: str) -> bytes:
    return _PAGE.format(title=escape(title), body=body).encode("utf-8")


def _token(environ: dict[str, Any]) -> str:
    """Return the token from the query string (where the emailed link carries it)."""
    values = parse_qs(environ.get("QUERY_STRING", "")).get("token", [])
    return values[0] if values else ""


def make_app(unsubscribe: Unsubscribe, site_title: str = "the weekly recap") -> Callable:
    """Return the WSGI application."""

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        token = _token(environ)
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"].read(min(length, _MAX_BODY))  # "List-Unsubscribe=One-Click"
            address = unsubscribe(token) if token else None
            if address is None:
                start_response("400 Bad Request", headers)
                return [_page("Link not valid", "<p>This unsubscribe link is not valid.</p>")]
            start_response("200 OK", headers)
            body = f"<p>{escape(address)} will get no more email from {escape(site_title)}.</p>"
            return [_page("Unsubscribed", body)]
        if method in ("GET", "HEAD"):
            start_response("200 OK", headers)
            form = (
                f'<form method="post" action="?token={escape(token, quote=True)}">'
                '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                '<button type="submit">Unsubscribe</button></form>'
            )
            return [_page(f"Unsubscribe from {site_title}", form)]
        start_response("405 Method Not Allowed", [*headers, ("Allow", "GET, HEAD, POST")])
        return [_page("Not allowed", "")]

    return app
