"""Unit tests of the recap email: unsubscribe tokens and the multipart message."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from aggregator.deliver.mail import (
    MailError,
    StoryRef,
    build_message,
    make_token,
    message_id,
    read_token,
    secret_key,
    unsubscribe_url,
)
from aggregator.recap.compose import RecapDoc, RecapSection, TopLink

SECRET = b"test-secret"


def sample_recap(mode: str = "llm") -> RecapDoc:
    """Return a recap with hostile text in it (markup, a javascript: link, non-ASCII)."""
    return RecapDoc(
        week="2026-W47",
        title="Open weights & <script>alert(1)</script> week",
        intro="Prices fell — again. Café ünïcode 💡 survives.",
        sections=[RecapSection(title="Models", synthesis="Two <b>launches</b>.", story_ids=[1, 2])],
        what_to_watch=["Watch the pricing pages."],
        top_links=[TopLink(story_id=1, title="One", url="https://a.example/1")],
        mode=mode,  # type: ignore[arg-type]
    )


STORIES = {
    1: StoryRef(1, "Model one ships", "Cheaper tokens", "https://a.example/1"),
    2: StoryRef(2, "Sneaky link", "Bad scheme", "javascript:alert(1)"),
}


def build(recap: RecapDoc | None = None, to: str = "reader@example.org"):
    return build_message(
        recap or sample_recap(), STORIES, to=to, from_address="Signal <recap@news.example.org>",
        site_title="Signal", base_url="https://news.example.org/",
        token=make_token(SECRET, to), msgid=message_id("2026-W47", 2, 5, "recap@news.example.org"),
    )  # fmt: skip


def test_token_round_trips_and_rejects_tampering() -> None:
    token = make_token(SECRET, " Reader@Example.org ")
    assert read_token(SECRET, token) == "reader@example.org"
    assert read_token(b"other-secret", token) is None
    head, _, tail = token.partition(".")
    forged = make_token(b"attacker", "victim@example.org").partition(".")[0] + "." + tail
    assert read_token(SECRET, forged) is None
    for bad in ("", ".", "abc", head + ".", "!!!.???", token[:-2]):
        assert read_token(SECRET, bad) is None


def test_secret_key_required(make_settings) -> None:
    with pytest.raises(MailError, match="AGGREGATOR_SECRET_KEY"):
        secret_key(make_settings())
    assert secret_key(make_settings(email={"secret_key": "k"})) == b"k"


def test_message_id_fixed_per_revision_and_subscriber() -> None:
    a = message_id("2026-W47", 2, 5, "Signal <recap@news.example.org>")
    assert a == "<recap.2026-W47.r2.s5@news.example.org>"
    assert message_id("2026-W47", 3, 5, "recap@news.example.org") != a


def test_build_message_headers_and_both_parts() -> None:
    msg = message_from_bytes(build().as_bytes(), policy=policy.default)
    token = make_token(SECRET, "reader@example.org")
    assert msg["To"] == "reader@example.org"
    assert msg["Message-ID"] == "<recap.2026-W47.r2.s5@news.example.org>"
    assert msg["List-Unsubscribe-Post"] is None  # no POST endpoint configured: no one-click
    unsub = msg["List-Unsubscribe"]
    assert f"<{unsubscribe_url('https://news.example.org/unsubscribe/', token)}>" in unsub
    assert "<mailto:recap@news.example.org?subject=unsubscribe%20" in unsub
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Café ünïcode 💡" in text and "Café ünïcode 💡" in html
    assert "https://news.example.org/recaps/2026-W47/" in text
    assert "https://news.example.org/unsubscribe/?token=" in text


def test_build_message_html_is_escaped_inline_styled_without_images() -> None:
    html = build().get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html
    assert "<img" not in html.lower() and "<style" not in html.lower()
    assert "javascript:" not in html
    assert 'href="https://a.example/1"' in html and 'style="' in html
    assert "Sneaky link" in html  # the story stays, only its unsafe link goes


def test_build_message_says_when_extractive() -> None:
    text = build(sample_recap("extractive")).get_body(("plain",)).get_content()
    assert "without a language model" in text
    assert "without a language model" not in build().get_body(("plain",)).get_content()


# Problem 5 of issue 19: the header went out RFC 2047-encoded, which clients do not read as a link.
def test_list_unsubscribe_is_plain_ascii_in_the_raw_bytes() -> None:
    from aggregator.deliver.mail import POLICY

    token = make_token(SECRET, "reader@example.org")
    msg = build_message(
        sample_recap(), STORIES, to="reader@example.org", from_address="Signal <recap@news.example.org>",
        site_title="Signal", base_url="https://news.example.org/", token=token,
        msgid="<m@news.example.org>", endpoint="https://news.example.org/api/unsubscribe",
    )  # fmt: skip
    # What smtplib.send_message writes: the message's own policy with CRLF line ends.
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    assert msg.policy is POLICY and POLICY.max_line_length == 998
    line = next(x for x in raw.split(b"\r\n") if x.startswith(b"List-Unsubscribe:"))
    expected = (
        f"List-Unsubscribe: <https://news.example.org/api/unsubscribe?token={token}>, "
        f"<mailto:recap@news.example.org?subject=unsubscribe%20{token}>"
    ).encode()
    assert line == expected and b"=?" not in line
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def test_recap_email_layout_for_readers_and_mail_operators() -> None:
    from aggregator.deliver.mail import StoryRef as Ref

    stories = {
        1: Ref(1, "Model one ships " * 4, "Cheaper tokens for everyone who serves models " * 2,
               "https://a.example/1", "https://news.example.org/items/2026/11/model-one/"),
        2: STORIES[2],
    }  # fmt: skip
    msg = build_message(
        sample_recap(), stories, to="reader@example.org", from_address="Signal <recap@news.example.org>",
        site_title="Signal", base_url="https://news.example.org/", token="t.k", msgid="<m@x>",
        postal_address="1 Example Road, Exampletown", language="de",
    )  # fmt: skip
    text = msg.get_body(("plain",)).get_content()
    lines = text.splitlines()
    assert all(len(line) <= 78 or "://" in line for line in lines)
    assert "  * Model one ships Model one ships" in text  # each story has its line
    assert "    Our card: https://news.example.org/items/2026/11/model-one/" in lines
    assert "    Original: https://a.example/1" in lines
    assert "Sent by Signal <recap@news.example.org>, 1 Example Road, Exampletown." in " ".join(
        lines
    )
    html = msg.get_body(("html",)).get_content()
    assert '<html lang="de">' in html and 'name="viewport"' in html
    assert "display:none" in html and "Prices fell" in html.split("<table")[0]  # preheader
    assert 'role="presentation" width="620"' in html and "max-width:620px" in html
    assert 'href="https://news.example.org/items/2026/11/model-one/"' in html
    assert '(<a href="https://a.example/1"' in html
    assert "1 Example Road, Exampletown" in html and "javascript:" not in html
