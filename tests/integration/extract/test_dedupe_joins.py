"""Why an item joined its story: recorded by the dedupe stage, shown in `status --json` and in
the API record's coverage."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from aggregator.cli.status import collect_status
from aggregator.context import Context
from aggregator.db import claims
from aggregator.db.models import ItemJoin
from aggregator.dedupe.stage import run_dedupe
from aggregator.publish.stage import export_records
from aggregator.summarize.stage import run_summarize

pytestmark = pytest.mark.integration

FIRST = (
    "<p>Armed robbers, some of them dressed as women in wigs and long coats, raided a jewellery "
    "shop on Ostrava Row on Friday afternoon and escaped with watches and diamond rings worth "
    "about four million euros. Police said the gang threatened staff with handguns and fled "
    "in a waiting car.</p>"
)
REWRITE = (
    "<p>A gang of four thieves, two of them disguised as women, stole diamonds and luxury "
    "watches from an Ostrava Row jeweller on Friday. Detectives said the robbers carried "
    "pistols, ordered staff to the floor and got away in under three minutes; the haul is "
    "valued at roughly four million euros.</p>"
)
OTHER = (
    "<p>Port Elwen councillors voted on Tuesday to keep the late ferry crossing for three more "
    "years. Nurses and fish-plant workers who finish after midnight spoke at the meeting, and "
    "the operator said the subsidy covers fuel and two crew members.</p>"
)


def _dedupe(ctx: Context, ids: list[int]) -> None:
    with ctx.session() as session:
        claims.enqueue(session, "dedupe", ids)
    run_dedupe(ctx)


def test_dedupe_records_why_items_joined(
    pipeline_ctx: Context, make_item: Callable[..., int]
) -> None:
    ctx = pipeline_ctx
    first = make_item(
        "Wire", "https://a.example/heist", title="Robbers in wigs", content_html=FIRST
    )
    ferry = make_item("Wire", "https://a.example/ferry", title="Ferry stays", content_html=OTHER)
    _dedupe(ctx, [first, ferry])
    # A later run: the story comes back from the database, its member still known.
    rewrite = make_item(
        "Coastal Ledger",
        "https://b.example/gems",
        hours=2,
        title="Four thieves",
        content_html=REWRITE,
    )
    again = make_item("Wire", "https://a.example/heist", hours=3, title="Robbers (update)")
    copy = make_item(
        "Wire", "https://c.example/copy", hours=4, title="Robbers in wigs", content_html=FIRST
    )
    _dedupe(ctx, [rewrite, again, copy])
    with ctx.session() as session:
        joins = {j.item_id: j for j in session.scalars(select(ItemJoin))}
        status = collect_status(session, ctx.settings)
    assert set(joins) == {rewrite, again, copy}  # founders have no join
    assert (joins[again].joined_by, joins[again].score) == ("url", 1.0)
    assert joins[again].matched_item_id == first
    assert joins[rewrite].joined_by == "same-event" and 0.3 <= joins[rewrite].score < 1
    assert joins[rewrite].matched_item_id == first
    assert joins[copy].joined_by == "near-duplicate" and joins[copy].matched_item_id == first
    assert len({j.story_id for j in joins.values()}) == 1
    recent = status["recent_joins"]
    assert [r["item_id"] for r in recent] == [copy, again, rewrite]
    assert recent[2]["matched_title"] == "Robbers in wigs" and recent[2]["story_uid"]

    run_summarize(ctx)
    with ctx.session() as session:
        records = export_records(session, settings=ctx.settings)
    heist = next(r for r in records if r["coverage"]["item_count"] == 4)
    by_title = {s["title"]: s["joined_by"] for s in heist["coverage"]["sources"]}
    assert by_title["Four thieves"]["kind"] == "same-event"
    assert by_title["Four thieves"]["matched_item_url"] == "https://a.example/heist"
    assert by_title["Robbers (update)"]["kind"] == "url"
    founders = [s for s in heist["coverage"]["sources"] if s["joined_by"] is None]
    assert len(founders) == 1
