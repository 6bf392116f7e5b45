"""The revise stage: a published card whose story gained items becomes a new revision, not a repost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.orm import Session

from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.output import LLMError
from aggregator.llm.pricing import DailyBudget
from aggregator.llm.prompts import load_prompt
from aggregator.llm.store import record_calls, spent_today
from aggregator.log import event
from aggregator.notify import store as notify_store
from aggregator.report import StageReport
from aggregator.revise import store
from aggregator.revise.update import Update, llm_update
from aggregator.revise.whatsnew import NewItem, change_summary, revision_reason, whats_new
from aggregator.summarize.summarizer import ExtractiveSummarizer, StoryInput, card_hash

log = logging.getLogger("aggregator.revise")
STAGE = "revise"
DEFAULT_LIMIT = 200
BATCH = 25  # stories per transaction


def revise_story(ctx: Context, session: Session, state: store.StoryState) -> str:
    """Record a first revision, revise the card for news, or absorb trivia; return which."""
    if state.latest is None:
        first = state.card.revision == 1
        store.add_revision(session, state, "first" if first else "resummarized",
                           summary="First published" if first else "Re-summarized")  # fmt: skip
        return "recorded"
    covered = state.covered
    new = [i for i in state.items if i.item_id not in covered]
    if not new:  # another worker revised it first, or an item left the story
        store.absorb(state)
        return "quiet"
    known = {state.sources[i] for i in covered if i in state.sources}
    new_sources = sorted({i.source for i in new} - known)
    earlier = [i.text for i in state.items if i.item_id in covered]
    points = _new_points(ctx, session, state, new, earlier)
    reason = revision_reason(new_sources, points)
    if reason is None:  # same sources repeating what the card says: no revision for trivia
        store.absorb(state)
        return "quiet"
    if state.story.primary_item_id not in covered and state.card.mode == "extractive":
        _rewrite_card(ctx, state)  # a better-ranked report joined: the card follows it
    row = store.add_revision(session, state, reason, summary=change_summary(new_sources, points),
                             whats_new=points)  # fmt: skip
    payload = event_payload(ctx, state, "revised", row.summary, points)
    notify_store.enqueue(session, ctx.settings.webhooks, "revised", state.story.id,
                         row.revision, payload)  # fmt: skip
    return "revised"


def _new_points(ctx: Context, session: Session, state: store.StoryState, new: list[NewItem],
                earlier: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """Return What's new: the LLM's (update prompt) when configured, else the quoted sentences."""
    if not ctx.settings.llm.enabled:
        return whats_new(state.card.card, new, earlier)
    try:
        update = asyncio.run(_ask_llm(ctx, spent_today(session), state, new, earlier))
    except LLMError as exc:  # the revision still happens, with the new reports quoted
        record_calls(session, exc.records)
        event(log, "revise: LLM update failed, quoting the new reports", logging.WARNING,
              story=state.story.id, error=str(exc).splitlines()[0])  # fmt: skip
        return whats_new(state.card.card, new, earlier)
    record_calls(session, update.records)
    if update.points and update.what_changed and state.card.mode == "llm":
        tldr = {**(state.card.card.get("tldr") or {}), "what_changed": update.what_changed}
        data = {**state.card.card, "tldr": tldr}
        state.card.card, state.card.content_hash = data, card_hash(data)
    return update.points


async def _ask_llm(ctx: Context, spent: float, state: store.StoryState, new: list[NewItem],
                   earlier: list[str]) -> Update:  # fmt: skip
    overrides = ctx.extras.get("llm_client", {})  # tests tune backoff here
    prompt = load_prompt(ctx.settings.llm.update_prompt)
    budget = DailyBudget(ctx.settings.llm.daily_budget_usd, spent)
    async with LLMClient(ClientConfig.from_settings(ctx.settings.llm, **overrides)) as client:
        return await llm_update(client, prompt, state.card.card, new, earlier,
                                subject=str(state.story.id), budget=budget)  # fmt: skip


def _rewrite_card(ctx: Context, state: store.StoryState) -> None:
    """Rewrite the card from the story's new primary item (offline, like the first card)."""
    primary = next(i for i in state.items if i.item_id == state.story.primary_item_id)
    story = StoryInput(state.story.id, primary.title or state.story.title, primary.text,
                       primary.source, primary.url, primary.published_at)  # fmt: skip
    result = asyncio.run(ExtractiveSummarizer(ctx.settings).summarize(story))
    data = result.card.model_dump(mode="json")
    state.card.card, state.card.content_hash = data, card_hash(data)
    state.card.grounded_ratio, state.card.mode = result.meta.grounded_ratio, "extractive"


def event_payload(
    ctx: Context, state: store.StoryState, name: str, summary: str, points: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return the JSON a webhook receives for a revision or correction of this story."""
    base, uid = ctx.settings.site.base_url, state.story.uid
    return {
        "event": name,
        "story_id": uid,
        "revision": state.card.revision,
        "at": utcnow().isoformat(timespec="seconds"),
        "title": str(state.card.card.get("title") or state.story.title),
        "summary": summary,
        "whats_new": points,
        "api_url": f"{base}api/items/{uid}.json",
    }


def run_revise(ctx: Context, limit: int | None = None) -> StageReport:
    """Revise published cards whose stories gained items; return the counts."""
    report = StageReport(STAGE)
    with ctx.session() as session:
        ids = store.pending_story_ids(session, limit or DEFAULT_LIMIT)
    for start in range(0, len(ids), BATCH):
        if ctx.stop_requested:
            break
        with ctx.session() as session:  # a few stories per commit: a kill loses that batch only
            for story_id in ids[start : start + BATCH]:
                state = store.load_state(session, story_id)
                if state is None:
                    continue
                outcome = revise_story(ctx, session, state)
                report.details[outcome] = report.details.get(outcome, 0) + 1
                if outcome == "revised":
                    report.processed += 1
                    report.succeeded += 1
                    event(log, "card revised", story=story_id, revision=state.card.revision)
    return report


class CorrectionError(Exception):
    """A correction that cannot be made (unknown story, no card, already withdrawn)."""


def correct_story(ctx: Context, session: Session, uid: str, note: str, retract: bool) -> int:
    """Record a correction (or retraction) as the card's next revision; return its number."""
    story = store.story_by_uid(session, uid)
    state = store.load_state(session, story.id) if story is not None else None
    if state is None:
        raise CorrectionError(f"correct: no published story with id {uid!r}")
    if store.retracted(session, state.story.id):
        raise CorrectionError(f"correct: story {uid!r} was already withdrawn")
    if state.latest is None:  # the history starts with the card as first published
        revise_story(ctx, session, state)
    reason = "retraction" if retract else "correction"
    summary = ("Withdrawn: " if retract else "Correction: ") + note
    row = store.add_revision(session, state, reason, summary=summary)
    store.add_correction(session, state.story.id, row.revision, note, retract, row.created_at)
    payload = event_payload(ctx, state, "corrected", summary, [])
    payload["correction"] = {"note": note, "retract": retract}
    notify_store.enqueue(session, ctx.settings.webhooks, "corrected", state.story.id,
                         row.revision, payload)  # fmt: skip
    event(log, "card corrected", story=state.story.id, revision=row.revision, retract=retract)
    return row.revision
