"""The item page and API: the post is quoted as the post, comments only under their own heading."""

from __future__ import annotations

import json
from pathlib import Path

from aggregator.context import Context
from aggregator.publish.stage import run_publish

from .conftest import SiteFactory, make_card

COMMENT = "Actually the 38% figure is for NFD input; with NFC it is closer to 25%."


def test_self_post_page_separates_the_discussion(
    factory: SiteFactory, pub_ctx: Context, site_dir: Path
) -> None:
    discussion = {"points": [{"text": COMMENT, "quote": COMMENT, "score": 310,
                              "comment_url": "https://www.reddit.com/r/x/comments/a1/t/c2/"}],
                  "disputes": True}  # fmt: skip
    tldr = {"what_changed": "Welsh needed 38% more tokens.", "why_it_matters": "It costs more.",
            "what_to_do_next": ""}  # fmt: skip
    card = make_card(title="Welsh costs more tokens", tldr=tldr, discussion=discussion,
                     basis={"kind": "full_text", "words": 64})  # fmt: skip
    item = {"source": "r/LanguageTech", "kind": "self", "url": "https://www.reddit.com/r/x/a1/"}
    factory.story("Welsh costs more tokens", card=card, items=[item], slug="welsh")
    run_publish(pub_ctx)
    page = (site_dir / "items/2026/11/welsh/index.html").read_text(encoding="utf-8")
    notes, thread = page.index("Quoted from the post"), page.index("What the discussion adds")
    assert "Quoted from the article" not in page
    # The thread has its own section before the post's quotes; a comment is never a note.
    assert COMMENT not in page[:thread] and COMMENT in page[thread:notes]
    assert COMMENT not in page[notes:]
    assert thread < page.index("https://www.reddit.com/r/x/comments/a1/t/c2/") < notes
    assert "Some commenters dispute or correct it." in page
    assert "The source states no next step." in page  # the empty slot says so
    assert "Written from the source&#39;s text (64 words)" in page and "TL;DR only" in page
    [record] = [json.loads(p.read_text())["item"] for p in (site_dir / "api/items").glob("*.json")]
    assert record["basis"] == "full_text" and record["basis_words"] == 64
    assert record["discussion"]["points"][0]["quote"] == COMMENT
    assert record["discussion"]["disputes"] is True
