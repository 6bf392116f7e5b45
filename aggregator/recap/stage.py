"""The recap stage: load the week's carded stories, rank them, write a new recap revision."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.coerce import as_int
from aggregator.context import Context
from aggregator.db.models import Card, Correction, Item, Recap, Source, Story, StoryTopic
from aggregator.llm.cache import CallRecord
from aggregator.llm.store import DbCache, DbModeMemory, record_calls, spent_today
from aggregator.log import event
from aggregator.recap.compose import (
    RecapDoc,
    RecapDraft,
    RecapError,
    StoryDigest,
    extractive_recap,
    halve_stories,
    last_complete_week,
    parse_week,
    quiet_recap,
    stories_block,
    validate_draft,
)
from aggregator.recap.rank import select_stories, week_end
from aggregator.report import StageReport

log = logging.getLogger("aggregator.recap")
STAGE = "recap"


@dataclass
class Made:
    """A recap and how it was made (stored beside it on the row)."""

    recap: RecapDoc
    model: str | None = None
    prompt: Any = None
    cost_usd: float = 0.0
    records: list[CallRecord] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    error: str | None = None


def _digest(
    story: Story, card: dict[str, Any], item: Item | None, topics: list[Any]
) -> StoryDigest:
    """Return the recap's view of one story and its card."""
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    engagement = (item.engagement if item else None) or {}
    if not topics:  # no topic rows (older card): the card's own list
        topics = [(t.get("slug"), t.get("score", 0.0)) for t in card.get("topics") or []
                  if isinstance(t, dict) and t.get("slug")]  # fmt: skip
    return StoryDigest(
        id=story.id,
        title=str(card.get("title") or story.title or ""),
        hook=str(card.get("hook") or ""),
        why=str(tldr.get("why_it_matters") or ""),
        next_step=str(tldr.get("what_to_do_next") or ""),
        url=item.url if item else None,
        source=item.source.name if item and item.source else "",
        topics=tuple((str(s), float(v or 0.0)) for s, v in topics),
        score=as_int(engagement.get("score")),
        comments=as_int(engagement.get("comments", engagement.get("num_comments"))),
        source_count=story.source_count or 1,
        published_at=story.published_at,
        what_changed=str(tldr.get("what_changed") or ""),
        item_count=story.item_count or 1,
    )


def load_week(session: Session, week: str) -> list[StoryDigest]:
    """Return every carded story of the week as digests (unranked).

    A developing story is one row with its card as last revised; a withdrawn card is left out.
    """
    withdrawn = exists().where(Correction.story_id == Story.id, Correction.retract)
    rows = session.execute(
        select(Story, Card.card)
        .join(Card, Card.story_id == Story.id)
        .where(Story.week == week, ~withdrawn)
    ).all()
    if not rows:
        return []
    ids = [story.id for story, _ in rows]
    item_ids = [story.primary_item_id for story, _ in rows if story.primary_item_id]
    items = {i.id: i for i in session.scalars(
        select(Item).join(Source).where(Item.id.in_(item_ids)))}  # fmt: skip
    topics: dict[int, list[tuple[str, float]]] = {}
    for row in session.scalars(select(StoryTopic).where(StoryTopic.story_id.in_(ids))):
        topics.setdefault(row.story_id, []).append((row.topic_slug, row.score))
    return [
        _digest(story, card or {}, items.get(story.primary_item_id or -1), topics.get(story.id, []))
        for story, card in rows
    ]


def topic_weights(ctx: Context) -> dict[str, float]:
    """Return each topic's recap weight: [recap.topic_weights] over the topics' own weight."""
    weights = {t.slug: t.weight for t in ctx.settings.topics}
    return {**weights, **ctx.settings.recap.topic_weights}


def llm_recap(ctx: Context, week: str, stories: list[StoryDigest], spent: float) -> Made:
    """Return the model's recap, checked; on any model failure the extractive one, saying why."""
    from aggregator.llm.client import ClientConfig
    from aggregator.llm.complete import complete_structured
    from aggregator.llm.output import LLMError
    from aggregator.llm.pricing import DailyBudget
    from aggregator.llm.prompts import load_prompt

    settings = ctx.settings
    prompt = load_prompt(settings.llm.recap_prompt)
    config = ClientConfig.from_settings(settings.llm, **ctx.extras.get("llm_client", {}))
    try:
        done = complete_structured(
            config, prompt, {"week": week, "stories": stories_block(stories)}, RecapDraft,
            purpose=STAGE, subject=week, cache=DbCache(ctx.engine),
            modes=DbModeMemory(ctx.sessions, config.mode_reprobe_after),
            budget=DailyBudget(settings.llm.daily_budget_usd, spent), shorten=halve_stories,
        )  # fmt: skip
        checked = validate_draft(week, done.value, stories)
    except (LLMError, RecapError) as exc:
        records = exc.records if isinstance(exc, LLMError) else done.records
        fallback = extractive_recap(week, stories, _topic_names(ctx))
        cost = sum(r.cost_usd for r in records)
        return Made(fallback, records=records, cost_usd=cost, error=str(exc).splitlines()[0])
    return Made(checked.recap, model=config.model, prompt=prompt, records=done.records,
                cost_usd=done.total("cost_usd"), dropped=checked.dropped)  # fmt: skip


def _topic_names(ctx: Context) -> dict[str, str]:
    return {t.slug: t.name for t in ctx.settings.topics}


def store_recap(session: Session, made: Made) -> Recap:
    """Add the recap as the week's next revision (older revisions stay) with its ledger rows."""
    recap = made.recap
    latest = session.scalar(select(func.max(Recap.revision)).where(Recap.week == recap.week))
    row = Recap(
        week=recap.week,
        revision=(latest or 0) + 1,
        title=recap.title,
        recap=recap.model_dump(mode="json"),
        story_ids=recap.story_ids(),
        mode=recap.mode,
        model=made.model,
        prompt_name=made.prompt.name if made.prompt else None,
        prompt_version=made.prompt.version if made.prompt else None,
        prompt_sha256=made.prompt.sha256 if made.prompt else None,
        cost_usd=made.cost_usd,
    )
    session.add(row)
    session.flush()
    return row


def make_recap(ctx: Context, week: str) -> tuple[Made, int]:
    """Return the week's recap (quiet, extractive or LLM) and how many stories it chose from."""
    with ctx.session() as session:
        stories = load_week(session, week)
        spent = spent_today(session)
    chosen = select_stories(
        stories, topic_weights(ctx), ctx.settings.recap.max_stories, week_end(week)
    )
    if not chosen:
        return Made(quiet_recap(week)), 0
    if ctx.settings.llm.enabled:
        return llm_recap(ctx, week, chosen, spent), len(stories)
    return Made(extractive_recap(week, chosen, _topic_names(ctx))), len(stories)


def run_recap(ctx: Context, week: str | None = None) -> StageReport:
    """Write a new revision of a week's recap (default: the last complete week); return the counts."""
    report = StageReport(STAGE, processed=1)
    try:
        week = (
            parse_week(week)
            if week
            else last_complete_week(utcnow(), ctx.settings.schedule.timezone)
        )
    except RecapError as exc:  # a bad --week is the user's input: one line, nothing written
        report.failed, report.errors = 1, [str(exc)]
        return report
    made, candidates = make_recap(ctx, week)
    if made.error:
        report.errors.append(f"recap: LLM recap failed, wrote the extractive one: {made.error}")
    for attempt in range(3):
        try:
            with ctx.session() as session:
                record_calls(session, made.records)
                row = store_recap(session, made)
            break
        except IntegrityError:  # another run took this revision number at the same moment
            if attempt == 2:
                raise
    report.succeeded = 1
    report.details.update(week=week, revision=row.revision, mode=row.mode,
                          stories=len(row.story_ids), candidates=candidates,
                          quiet=made.recap.quiet, dropped_ids=len(made.dropped))  # fmt: skip
    if made.cost_usd:
        report.details["cost_usd"] = round(made.cost_usd, 6)
    event(log, "recap written", week=week, revision=row.revision, mode=row.mode,
          stories=len(row.story_ids), dropped_ids=len(made.dropped))  # fmt: skip
    return report
