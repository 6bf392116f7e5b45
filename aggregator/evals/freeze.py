"""Freeze an evaluation set from the database: a seeded sample stratified by source and topic."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.context import Context, open_context
from aggregator.db.models import Article, Item, Source, Story, StoryTopic
from aggregator.evals.sets import Case, EvalError, EvalSet, write_set
from aggregator.settings import Settings

# A topic below this score is a guess, not a label worth scoring against.
LABEL_MIN_SCORE = 0.5


def allocate(sizes: dict[str, int], sample: int, rng: random.Random) -> dict[str, int]:
    """Return how many cases to draw per stratum: one each, the rest proportional to size."""
    names = sorted(sizes)
    if sample >= sum(sizes.values()):
        return dict(sizes)
    if sample <= len(names):
        chosen = set(rng.sample(names, sample))
        return {name: int(name in chosen) for name in names}
    quotas = dict.fromkeys(names, 1)
    spare = {name: sizes[name] - 1 for name in names}
    remaining = sample - len(names)
    total = sum(spare.values())
    shares = {name: remaining * spare[name] / total for name in names}
    for name in names:
        quotas[name] += int(shares[name])
    left = sample - sum(quotas.values())
    # Largest remainder first; ties broken by name so the result depends on the seed only.
    by_remainder = sorted(names, key=lambda n: (-(shares[n] - int(shares[n])), n))
    for name in by_remainder[:left]:
        quotas[name] += 1
    return quotas


def stratified_sample(keys: list[str], sample: int, seed: int) -> list[int]:
    """Return the indices of a seeded sample of `keys`, stratified by key, in input order."""
    rng = random.Random(seed)
    strata: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        strata[key].append(index)
    quotas = allocate({k: len(v) for k, v in strata.items()}, sample, rng)
    chosen: list[int] = []
    for name in sorted(strata):
        chosen += rng.sample(strata[name], quotas[name])
    return sorted(chosen)


def _story_rows(session: Session) -> list[tuple[Story, Item, Article, str]]:
    """Return every story whose primary item has extracted text, oldest first."""
    query = (
        select(Story, Item, Article, Source.name)
        .join(Item, Item.id == Story.primary_item_id)
        .join(Article, Article.item_id == Item.id)
        .join(Source, Source.id == Item.source_id)
        .where(Article.text != "")
        .order_by(Story.id)
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def _story_topics(session: Session, story_ids: list[int]) -> dict[int, list[str]]:
    """Return each story's confident topic slugs, best first."""
    topics: dict[int, list[str]] = defaultdict(list)
    query = (
        select(StoryTopic.story_id, StoryTopic.topic_slug)
        .where(StoryTopic.story_id.in_(story_ids), StoryTopic.score >= LABEL_MIN_SCORE)
        .order_by(StoryTopic.story_id, StoryTopic.score.desc(), StoryTopic.topic_slug)
    )
    for story_id, slug in session.execute(query):
        topics[story_id].append(slug)
    return topics


def _case(story: Story, item: Item, article: Article, source: str, topics: list[str]) -> Case:
    """Return the evaluation case of one story (labels: its production topics)."""
    case_id = "story-" + re.sub(r"[^a-z0-9_-]", "-", story.uid.lower())[:60]
    published = article.published_at or item.published_at
    return Case(
        id=case_id,
        title=article.title or item.title or story.title,
        text=article.text,
        source=source,
        url=article.final_url or item.url or "",
        published_at=published.isoformat() if published else "",
        labels={"topics": topics, "topics_origin": "production", "story_uid": story.uid},
    )


def freeze_from_db(
    target: Context | Settings, *, sample: int, seed: int, out: Path, name: str | None = None
) -> EvalSet:
    """Return a new set of `sample` stories drawn from the database, written to `out`."""
    if sample < 1:
        raise EvalError("eval: --sample must be at least 1")
    ctx = target if isinstance(target, Context) else open_context(target)
    with ctx.session() as session:
        rows = _story_rows(session)
        if not rows:
            raise EvalError("eval: the database has no stories with extracted text to freeze")
        topics = _story_topics(session, [row[0].id for row in rows])
        cases = [_case(*row, topics.get(row[0].id, [])) for row in rows]
    keys = [f"{case.source}|{(case.expected_topics or ['-'])[0]}" for case in cases]
    picked = [cases[i] for i in stratified_sample(keys, sample, seed)]
    taxonomy: list[dict[str, Any]] = [t.model_dump() for t in ctx.settings.topics]
    return write_set(
        out,
        picked,
        name=name or out.name,
        topics=taxonomy,
        description=f"{len(picked)} stories sampled from the database (seed {seed}), "
        "stratified by source and topic; topic labels are the production topics.",
        extra={"seed": seed, "population": len(cases)},
    )
