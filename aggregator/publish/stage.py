"""The publish stage runner: load stories, cards and recaps from the DB, build the site, index it."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, func, make_url, select, text
from sqlalchemy.orm import Session

from aggregator.config import base_dir, output_dir
from aggregator.context import Context
from aggregator.db.meta import set_meta
from aggregator.db.models import Card, Item, ItemJoin, Recap, Source, Story
from aggregator.db.session import normalize_url
from aggregator.log import event
from aggregator.publish import data as pd
from aggregator.publish.export import select_records
from aggregator.publish.paths import safe_week
from aggregator.publish.sanitize import clean_text
from aggregator.publish.search import INDEX_DIR, index_site
from aggregator.publish.site import build_site
from aggregator.publish.writer import UnsafeOutputDir, check_output_dir
from aggregator.report import StageReport
from aggregator.revise.store import load_changes, load_history
from aggregator.settings import Settings

log = logging.getLogger("aggregator.publish")
CHUNK = 500  # ids per IN (...) query: well under SQLite's variable limit


def _line(value: object) -> str:
    """Return outside text cleaned once here, so templates need no per-use filter."""
    return clean_text(value, single_line=True)


def site_config(settings: Settings) -> pd.SiteConfig:
    """Return the publisher's view of the settings."""
    site = settings.site
    email = parseaddr(settings.email.from_address)[1] if settings.email.enabled else ""
    return pd.SiteConfig(
        title=_line(site.title),
        description=_line(site.description),
        base_url=site.base_url,
        language=site.language,
        timezone=site.timezone,
        items_per_page=site.items_per_page,
        search=site.search,
        subscribe_email=email or None,
        topics=[pd.TopicInfo(t.slug, _line(t.name), _line(t.description)) for t in settings.topics],
    )


# Columns whose change re-renders a story's page (with the card's content hash and times).
PROBE = (
    "revision",
    "card_length",
    "model",
    "prompt_name",
    "prompt_version",
    "grounded_ratio",
    "source_url",
    "primary_item_id",
    "item_rows",
    "items_changed",
)


def load_story_rows(session: Session) -> list[pd.StoryRow]:
    """Return a listing row for every story that has a card, with its probe and related ids."""
    counts = (
        select(
            Item.story_id,
            func.count(Item.id).label("n"),
            func.max(Item.updated_at).label("changed"),
        )
        .group_by(Item.story_id)
        .subquery()
    )
    stmt = (
        select(
            Story.id,
            Story.uid,
            Story.slug,
            Story.title,
            Story.published_at,
            Story.week,
            Story.item_count,
            Story.source_count,
            Card.card["title"].as_string().label("card_title"),
            Card.card["hook"].as_string().label("card_hook"),
            Card.mode,
            Card.updated_at,
            Card.content_hash,
            Source.name.label("source_name"),
            # The probe: what decides whether a story's page must be rendered again.
            Card.revision,
            func.length(cast(Card.card, Text)).label("card_length"),
            Card.model,
            Card.prompt_name,
            Card.prompt_version,
            Card.grounded_ratio,
            Source.url.label("source_url"),
            Story.primary_item_id,
            counts.c.n.label("item_rows"),
            counts.c.changed.label("items_changed"),
        )
        .join(Card, Card.story_id == Story.id)
        .outerjoin(Item, Item.id == Story.primary_item_id)
        .outerjoin(Source, Source.id == Item.source_id)
        .outerjoin(counts, counts.c.story_id == Story.id)
        .order_by(Story.id)
    )
    topics, related = _topics_by_story(session), _related_by_story(session)
    rows = []
    for r in session.execute(stmt):
        if not safe_week(r.week):
            continue  # a malformed week would be an unsafe path; dedupe owns fixing it
        rows.append(
            pd.StoryRow(
                id=r.id,
                uid=r.uid,
                slug=r.slug,
                title=_line(r.card_title or r.title),
                hook=_line(r.card_hook),
                published_at=r.published_at,
                week=r.week,
                item_count=r.item_count,
                source_count=r.source_count,
                topics=tuple(topics.get(r.id, ())),
                mode=r.mode,
                updated_at=r.updated_at,
                content_hash=r.content_hash,
                source=_line(r.source_name),
                probe=repr(tuple(getattr(r, name) for name in PROBE)),
                related=tuple(related.get(r.id, ())),
            )
        )
    _fill_missing_sources(session, [r for r in rows if not r.source])
    return rows


def _topics_by_story(session: Session) -> dict[int, list[tuple[str, float]]]:
    # Plain SQL (same on SQLite and PostgreSQL): no per-row type processing for 10^4+ rows.
    topics: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for story_id, slug, score in session.execute(
        text(
            "SELECT story_id, topic_slug, score FROM story_topics "
            "ORDER BY story_id, score DESC, topic_slug"
        )
    ):
        topics[story_id].append((slug, float(score)))
    return topics


def _related_by_story(session: Session) -> dict[int, list[int]]:
    related: dict[int, list[int]] = defaultdict(list)
    for story_id, other in session.execute(
        text(
            "SELECT story_id, related_story_id FROM story_relations "
            "ORDER BY story_id, score DESC, related_story_id"
        )
    ):
        related[story_id].append(other)
    return related


def _fill_missing_sources(session: Session, rows: list[pd.StoryRow]) -> None:
    """Name the source of stories without a primary item after their earliest item."""
    for start in range(0, len(rows), CHUNK):
        chunk = {r.id: r for r in rows[start : start + CHUNK]}
        stmt = (
            select(Item.story_id, Source.name)
            .join(Source, Source.id == Item.source_id)
            .where(Item.story_id.in_(list(chunk)))
            .order_by(Item.published_at, Item.id)
        )
        for story_id, name in session.execute(stmt):
            if not chunk[story_id].source:
                chunk[story_id].source = _line(name)


def load_details(
    session: Session, rows: dict[int, pd.StoryRow], ids: list[int]
) -> list[pd.StoryDetail]:
    """Return the full details (raw card, items primary first, related ids) of these stories."""
    out: list[pd.StoryDetail] = []
    for start in range(0, len(ids), CHUNK):
        out += _load_chunk(session, rows, ids[start : start + CHUNK])
    return out


def _load_chunk(
    session: Session, rows: dict[int, pd.StoryRow], ids: list[int]
) -> list[pd.StoryDetail]:
    cards = session.execute(
        select(
            Card.story_id,
            cast(Card.card, Text),
            Card.mode,
            Card.model,
            Card.prompt_name,
            Card.prompt_version,
            Card.grounded_ratio,
            Card.content_hash,
            Card.updated_at,
            Story.primary_item_id,
            Card.fallback_reason,
        )
        .join(Story, Story.id == Card.story_id)
        .where(Card.story_id.in_(ids))
    ).all()
    items = _items_by_story(session, ids)
    history = load_history(session, ids)
    details = []
    for c in cards:
        story_items = sorted(items.get(c[0], []), key=lambda i: i.id != c[9])  # primary first
        meta = pd.CardMeta(c[2], c[3], c[4], c[5], float(c[6] or 0), c[7], c[8], c[10])
        row = rows[c[0]]
        details.append(pd.StoryDetail(row, c[1] or "{}", meta, story_items, list(row.related),
                                      history.get(c[0], {})))  # fmt: skip
    order = {story_id: i for i, story_id in enumerate(ids)}
    return sorted((d for d in details if d.row.id in order), key=lambda d: order[d.row.id])


def _items_by_story(session: Session, ids: list[int]) -> dict[int, list[pd.ItemRow]]:
    # Items are cleaned here, once, because only stories whose files must be rebuilt get here.
    items: dict[int, list[pd.ItemRow]] = defaultdict(list)
    for r in session.execute(
        select(
            Item.story_id,
            Item.id,
            Source.name.label("source_name"),
            Source.kind.label("source_kind"),
            Source.url.label("source_url"),
            Item.url,
            Item.canonical_url,
            Item.title,
            Item.author,
            Item.published_at,
            Item.kind,
            Item.engagement,
            Item.collected_at,
            ItemJoin.joined_by,
            ItemJoin.score,
            ItemJoin.matched_item_id,
        )
        .join(Source, Source.id == Item.source_id)
        .outerjoin(ItemJoin, ItemJoin.item_id == Item.id)
        .where(Item.story_id.in_(ids))
        .order_by(Item.story_id, Item.published_at, Item.id)
    ):
        items[r.story_id].append(
            pd.ItemRow(
                id=r.id,
                source=_line(r.source_name),
                source_kind=r.source_kind,
                source_url=r.source_url,
                url=r.url or r.canonical_url,
                title=_line(r.title),
                author=_line(r.author) or None,
                published_at=r.published_at,
                kind=r.kind,
                engagement=r.engagement if isinstance(r.engagement, dict) else {},
                collected_at=r.collected_at,
                joined=(r.joined_by, float(r.score), r.matched_item_id) if r.joined_by else None,
            )
        )
    return items


def load_recaps(session: Session) -> dict[str, pd.RecapRow]:
    """Return the latest revision of each week's recap."""
    latest = (
        select(Recap.week, func.max(Recap.revision).label("rev")).group_by(Recap.week).subquery()
    )
    stmt = select(Recap).join(
        latest, (Recap.week == latest.c.week) & (Recap.revision == latest.c.rev)
    )
    out = {}
    for recap in session.scalars(stmt):
        if safe_week(recap.week):
            ids = [i for i in recap.story_ids or [] if isinstance(i, int)]
            out[recap.week] = pd.RecapRow(
                recap.week,
                recap.revision,
                recap.title,
                recap.recap or {},
                recap.mode,
                recap.model,
                recap.prompt_version,
                recap.created_at,
                ids,
            )
    return out


def load_site_input(session: Session, settings: Settings) -> pd.SiteInput:
    """Return everything the publisher needs, with a loader bound to this session."""
    stories = load_story_rows(session)
    sources = [
        pd.SourceInfo(_line(n), k, u)
        for n, k, u in session.execute(select(Source.name, Source.kind, Source.url))
    ]
    by_id = {r.id: r for r in stories}
    return pd.SiteInput(
        site_config(settings),
        stories,
        sources,
        load_recaps(session),
        partial(load_details, session, by_id),
        changes=load_changes(session),
    )


def protected_paths(settings: Settings) -> list[Path]:
    """Return the files a site build must never overwrite: the config file and a SQLite database."""
    paths = [settings.config_path] if settings.config_path else []
    url = make_url(normalize_url(settings.database.url, base_dir(settings)))
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        paths.append(Path(url.database))
    return paths


def check_site_dir(settings: Settings, adopt: bool = False) -> None:
    """Raise UnsafeOutputDir when the configured output dir is not ours to build into."""
    check_output_dir(output_dir(settings), adopt, protected_paths(settings))


def run_publish(
    ctx: Context, *, search: bool | None = None, adopt: bool = False, **_options: Any
) -> StageReport:
    """Build the site into the output dir (atomically) and index it for search."""
    report = StageReport("publish")
    out = output_dir(ctx.settings)
    try:
        with ctx.session() as session:  # one read transaction: a consistent snapshot
            data = load_site_input(session, ctx.settings)
            result = build_site(
                data, out, ctx.progress, adopt=adopt, protected=protected_paths(ctx.settings)
            )
        with ctx.session() as session:  # a short write, after the site is swapped in
            set_meta(session, "last_publish_at", datetime.now(UTC).isoformat(timespec="seconds"))
    except Exception as exc:  # one failed build must not stop the scheduler; the site is intact
        event(log, "publish failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}")
        report.processed = report.failed = 1
        unsafe = isinstance(exc, UnsafeOutputDir)  # already one line naming the folder
        report.errors.append(str(exc) if unsafe else f"publish: {type(exc).__name__}: {exc}")
        return report
    report.processed = report.succeeded = result.stories
    report.details.update(
        files=result.files,
        written=result.written,
        mode=result.mode,
        seconds=round(result.seconds, 2),
        output=str(out),
    )
    wanted = ctx.settings.site.search if search is None else search
    if wanted and (result.html_changed or not (out / INDEX_DIR).exists()):
        warning = index_site(out)
        report.details["search"] = "indexed" if warning is None else "unavailable"
        if warning:
            event(log, warning, level=logging.WARNING)
            report.errors.append(warning)
    return report


def export_records(
    session: Session,
    since: datetime | timedelta | str | int | None = None,
    topic: str | None = None,
    *,
    settings: Settings | None = None,
    updated_since: datetime | timedelta | str | int | None = None,
) -> list[dict]:
    """Return the planner records of stories published since `since` whose card changed since
    `updated_since`, in `topic`.

    Settings give the permalinks' base URL and topic names (defaults when omitted).
    """
    data = load_site_input(session, settings or Settings())
    return select_records(data, since, topic, updated_since=updated_since)
