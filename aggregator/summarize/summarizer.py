"""Story -> card: the prompt's inputs, the model call, citations checked; or the offline backend."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.llm.cache import Cache, CallRecord, ModeMemory
from aggregator.llm.client import LLMClient
from aggregator.llm.complete import acomplete_structured
from aggregator.llm.extractive import build_card
from aggregator.llm.output import BudgetExceeded, LLMError, strict_schema
from aggregator.llm.prompts import Prompt, load_prompt
from aggregator.llm.roles import NO_NEXT_STEP
from aggregator.llm.schema import (
    Basis,
    Card,
    CardDraft,
    CardMeta,
    Discussion,
    TopicScore,
    clip,
)
from aggregator.llm.sentences import IdCardDraft, Numbered, number_sentences, resolve_ids
from aggregator.llm.tokens import count_tokens, truncate_to_tokens
from aggregator.settings import Settings, Topic
from aggregator.summarize.annotate import annotate
from aggregator.summarize.basis import card_basis, is_deep
from aggregator.summarize.discussion import comments_block, pick_discussion
from aggregator.summarize.grounding import MIN_TAKEAWAYS, Grounded, feedback, ground_card


@dataclass
class StoryInput:
    """What summarizing one story needs: its primary item's text, title and source."""

    story_id: int
    title: str
    text: str
    source_name: str = ""
    url: str | None = None
    published_at: datetime | None = None
    method: str | None = None  # how the text was obtained (the extract stage's method)
    comments: list[dict[str, Any]] = field(default_factory=list)  # a discussion, never the text

    @property
    def basis(self) -> Basis:
        """Return what the card is written from: full text, feed excerpt or title only."""
        return card_basis(self.method, self.text, self.title)


@dataclass
class CardResult:
    """A card ready to store, how it was made, and the calls it took."""

    card: Card
    meta: CardMeta
    records: list[CallRecord] = field(default_factory=list)

    @property
    def topics(self) -> list[TopicScore]:
        """Return the card's topics with their confidence."""
        return self.card.topics


def finish_card(card: Card, story: StoryInput) -> Card:
    """Return the card with its basis and discussion, and every TL;DR slot filled honestly.

    A source too short for depth keeps its TL;DR only; an empty next step says so.
    """
    basis = story.basis
    found = pick_discussion(story.comments, story.text)
    update: dict[str, Any] = {
        "basis": basis,
        "discussion": Discussion.model_validate(found) if found else None,
    }
    if not card.tldr.what_to_do_next.strip():
        update["tldr"] = card.tldr.model_copy(update={"what_to_do_next": NO_NEXT_STEP})
    if not is_deep(basis):
        update |= {"key_takeaways": [], "technical_deep_dive": [], "future_implications": []}
    return card.model_copy(update=update)


def titled(draft: CardDraft, story: StoryInput) -> CardDraft:
    """Return the draft with a title: its own, else the article's (clipped like a model's)."""
    if draft.title.strip():
        return draft
    return draft.model_copy(update={"title": clip(story.title, 100) or "Untitled"})


def topics_block(topics: Sequence[Topic]) -> str:
    """Return the taxonomy as prompt lines `- slug: name (description)`."""
    if not topics:
        return "  (no topics are configured: use [])"
    lines = []
    for topic in topics:
        about = f" ({topic.description})" if topic.description else ""
        lines.append(f"  - {topic.slug}: {topic.name}{about}")
    return "\n".join(lines)


def draft_model(prompt: Prompt) -> type[CardDraft]:
    """Return the output model a prompt asks for (its citation style decides)."""
    return IdCardDraft if prompt.citations == "sentence_ids" else CardDraft


def card_schema(slugs: Sequence[str], model: type[CardDraft] = CardDraft) -> dict[str, Any]:
    """Return the strict output schema with topic slugs limited to the configured ones."""
    schema = copy.deepcopy(strict_schema(model))
    if slugs:
        schema["$defs"]["TopicScore"]["properties"]["slug"]["enum"] = sorted(slugs)
    return schema


def prompt_article(prompt: Prompt, text: str) -> tuple[str, Numbered | None]:
    """Return the article as the prompt shows it, and its numbered sentences (ids style only)."""
    if prompt.citations == "sentence_ids":
        numbered = number_sentences(text)
        return numbered.text, numbered
    return text.strip(), None


def prompt_variables(
    prompt: Prompt,
    story: StoryInput,
    topics: Sequence[Topic],
    max_input_tokens: int,
    model: str,
    article: str | None = None,
) -> dict[str, str]:
    """Return the prompt's variables with the article (as `prompt_article` shows it) cut to budget."""
    values = {"title": " ".join(story.title.split()), "topics": topics_block(topics), "text": ""}
    if "discussion" in prompt.variables():  # v3+: the thread in its own block, never the article
        values["discussion"] = comments_block(story.comments) or "(no comments)"
    system, user = prompt.render(values)
    overhead = count_tokens(system + user, model)
    shown = prompt_article(prompt, story.text)[0] if article is None else article
    text, _ = truncate_to_tokens(shown, max(200, max_input_tokens - overhead), model)
    return {**values, "text": text}


def _halve(model: str) -> Any:
    """Return a `shorten` callback keeping about half of the article (title and lead stay)."""

    def shorten(variables: dict[str, str]) -> dict[str, str]:
        budget = max(100, count_tokens(variables["text"], model) // 2)
        return {**variables, "text": truncate_to_tokens(variables["text"], budget, model)[0]}

    return shorten


class LLMSummarizer:
    """Writes cards with a model: structured output, grounding, one feedback retry."""

    mode = "llm"

    def __init__(
        self,
        settings: Settings,
        client: LLMClient,
        *,
        cache: Cache | None = None,
        modes: ModeMemory | None = None,
        budget: Any = None,
    ):
        self.settings = settings
        self.client = client
        self.cache, self.modes, self.budget = cache, modes, budget
        self.prompt = load_prompt(settings.llm.item_prompt)
        self.slugs = {t.slug for t in settings.topics}
        self.output_model = draft_model(self.prompt)
        self.schema = card_schema(sorted(self.slugs), self.output_model)

    async def _ask(
        self, variables: dict[str, str], subject: str, follow_up: list[dict[str, str]] | None = None
    ) -> Any:
        return await acomplete_structured(
            self.client, self.prompt, variables, self.output_model, purpose="summarize",
            subject=subject, cache=self.cache, modes=self.modes, budget=self.budget,
            schema=self.schema, shorten=_halve(self.client.config.model), follow_up=follow_up,
        )  # fmt: skip

    async def summarize(self, story: StoryInput) -> CardResult:
        """Return the grounded card of a story; raise LLMError when the model gave none."""
        started = time.perf_counter()
        cfg = self.client.config
        article, numbered = prompt_article(self.prompt, story.text)
        variables = prompt_variables(
            self.prompt, story, self.settings.topics, cfg.max_input_tokens, cfg.model, article
        )
        first = await self._ask(variables, str(story.story_id))
        records = list(first.records)
        source_text = f"{story.title}\n\n{story.text}"  # the title is part of what may be quoted
        grounded = self._ground(titled(first.value, story), source_text, numbered)
        if grounded.takeaways < MIN_TAKEAWAYS or grounded.claim_failures:
            turns = [
                {"role": "assistant", "content": json.dumps(first.value.model_dump())},
                {"role": "user", "content": feedback(grounded, numbered is not None)},
            ]
            try:
                second = await self._ask(variables, str(story.story_id), turns)
            except BudgetExceeded as exc:
                exc.records = records + exc.records  # the first answer was paid for: ledger it
                raise
            except LLMError as exc:  # keep the first card; its grounding ratio says the rest
                records += exc.records
            else:
                records += second.records
                retry = self._ground(titled(second.value, story), source_text, numbered)
                if _better(retry) > _better(grounded):
                    grounded = retry
        card = annotate(
            finish_card(_repair_tldr(grounded, story), story),
            story.title,
            story.text,
            story.url,
            "llm",
        )
        return CardResult(card, self._meta(grounded, records, started), records)

    def _ground(self, draft: CardDraft, source_text: str, numbered: Numbered | None) -> Grounded:
        """Return the draft grounded; sentence numbers first become their sentences' text."""
        if numbered is not None:
            draft = resolve_ids(draft, numbered)  # type: ignore[arg-type]
        return ground_card(draft, source_text, self.slugs, check_claims=True)

    def _meta(self, grounded: Grounded, records: list[CallRecord], started: float) -> CardMeta:
        return CardMeta(
            mode="llm", model=self.client.config.model, prompt_name=self.prompt.name,
            prompt_version=self.prompt.version, prompt_sha256=self.prompt.sha256,
            tokens_in=sum(r.tokens_in for r in records),
            tokens_out=sum(r.tokens_out for r in records),
            tokens_cached=sum(r.tokens_cached for r in records),
            cost_usd=round(sum(r.cost_usd for r in records), 8),
            latency_ms=int((time.perf_counter() - started) * 1000),
            grounded_ratio=grounded.grounded_ratio,
        )  # fmt: skip


def _better(grounded: Grounded) -> tuple[bool, int, int, float]:
    """Return a sort key: enough takeaways, then fewer unsupported claims, then more grounding."""
    enough = grounded.takeaways >= MIN_TAKEAWAYS
    return enough, -len(grounded.claim_failures), grounded.takeaways, grounded.grounded_ratio


def _repair_tldr(grounded: Grounded, story: StoryInput) -> Card:
    """Return the card with each TL;DR part or hook the article does not support replaced.

    The replacement is the extractive card's part for the same role: the article's own
    sentence, so a wrong number or name never reaches the page.
    """
    if not grounded.tldr_failures:
        return grounded.card
    own = build_card(story.title, story.text)
    tldr = grounded.card.tldr.model_copy(update={
        key: getattr(own.tldr, key) for key in grounded.tldr_failures if key != "hook"
    })  # fmt: skip
    hook = own.hook if "hook" in grounded.tldr_failures else grounded.card.hook
    return grounded.card.model_copy(update={"tldr": tldr, "hook": hook})


class ExtractiveSummarizer:
    """Writes cards offline from the article's own sentences (mode "extractive")."""

    mode = "extractive"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.slugs = {t.slug for t in settings.topics}

    async def summarize(self, story: StoryInput) -> CardResult:
        """Return the extractive card of a story (its citations are checked like any other)."""
        started = time.perf_counter()
        deep = is_deep(story.basis)
        draft = build_card(story.title, story.text, self.settings.topics, deep=deep)
        grounded = ground_card(draft, story.text, self.slugs)
        meta = CardMeta(
            mode="extractive",
            grounded_ratio=grounded.grounded_ratio,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
        return CardResult(
            annotate(
                finish_card(grounded.card, story), story.title, story.text, story.url, self.mode
            ),
            meta,
        )


def story_rank(
    *,
    source_priority: int = 0,
    score: int = 0,
    comments: int = 0,
    age_hours: float = 0.0,
    source_count: int = 1,
) -> float:
    """Return a story's summarizing priority: bigger first.

    Source priority (-100..100) counts most; Reddit score and comments and the
    number of sources covering the story add on a log scale; each day of age
    costs a point, so fresh news goes first when the budget is short.
    """
    return round(
        source_priority / 10
        + math.log1p(max(0, score)) * 0.8
        + math.log1p(max(0, comments)) * 0.5
        + math.log2(max(1, source_count)) * 2
        - max(0.0, age_hours) / 24,
        4,
    )


def card_hash(card: dict[str, Any]) -> str:
    """Return the sha256 of a card's canonical JSON."""
    return hashlib.sha256(json.dumps(card, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
