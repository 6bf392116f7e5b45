"""The card: what the LLM (or the extractive backend) writes for one story (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

CARD_SCHEMA_VERSION = 1


def clip(value: str, limit: int) -> str:
    """Return the text with its whitespace folded, cut at a word boundary with "…" when it is
    longer than `limit` characters."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    return value[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def clip_text(limit: int) -> BeforeValidator:
    """Return a validator that cuts an over-long string at a word boundary (models overshoot)."""
    return BeforeValidator(lambda value: clip(value, limit) if isinstance(value, str) else value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TLDR(_Strict):
    what_changed: Annotated[str, clip_text(400)] = Field(max_length=400)
    why_it_matters: Annotated[str, clip_text(400)] = Field(max_length=400)
    what_to_do_next: Annotated[str, clip_text(400)] = Field("", max_length=400)


class Point(_Strict):
    """One claim with the verbatim quotes from the article that support it."""

    text: str = Field(min_length=1, max_length=600)
    citations: list[str] = Field(default_factory=list, max_length=3)


class TopicScore(_Strict):
    slug: str
    score: float = Field(ge=0, le=1)

    @field_validator("score", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        """Return a score written as a percentage (above 1, up to 100) on the 0-1 scale.

        Small models on real servers (SmolLM2-135M on llama-cpp-python) write "score": 85;
        failing the whole card over a topic's scale lost 10 of 13 cards in an evaluation.
        """
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
            return value / 100
        return value


Kind = Literal[
    "news", "analysis", "opinion", "howto", "review", "announcement", "explainer", "discussion"
]


class TypedEntity(_Strict):
    """A named entity and what it is (planner API 1.1)."""

    name: str = Field(min_length=1, max_length=200)
    type: Literal["org", "product", "model", "person", "place", "other"] = "other"


class Basis(_Strict):
    """What the card was written from: the full article, the feed's excerpt, or the title."""

    kind: Literal["full_text", "feed_excerpt", "title_only"]
    words: int = Field(ge=0)


class DiscussionPoint(_Strict):
    """A comment that adds something: its sentence, the comment quoted, its link and score."""

    text: str
    quote: str
    comment_url: str | None = None
    score: int = 0


class Discussion(_Strict):
    """What the thread adds, kept apart from the article (never cited as it)."""

    points: list[DiscussionPoint] = Field(default_factory=list, max_length=5)
    disputes: bool = False


class Card(_Strict):
    """A story's card as published: only points whose citations were verified.

    `key_takeaways` may be empty when grounding removed every takeaway; the
    card's `grounded_ratio` (stored beside it) tells readers so.
    """

    title: str = Field(min_length=1, max_length=100)
    hook: str = Field(min_length=1, max_length=160)
    tldr: TLDR
    key_takeaways: list[Point] = Field(default_factory=list, max_length=5)
    technical_deep_dive: list[Point] = Field(default_factory=list, max_length=5)
    future_implications: list[Point] = Field(default_factory=list, max_length=3)
    topics: list[TopicScore] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list, max_length=20)
    timeliness: Literal["time-bound", "evergreen"] = "time-bound"
    # Set from the article's own signals (summarize/annotate.py); None on cards written before.
    kind: Kind | None = None
    typed_entities: list[TypedEntity] = Field(default_factory=list, max_length=20)

    # Set by the summarizer, not the model: provenance and the thread, both optional.
    basis: Basis | None = None
    discussion: Discussion | None = None


class PointDraft(_Strict):
    """A point as the model must return it: 1-3 citations, before they are checked."""

    text: Annotated[str, clip_text(600)] = Field(min_length=1, max_length=600)
    citations: list[str] = Field(min_length=1, max_length=3)


class CardDraft(_Strict):
    """What the model must return for one article (the bounds of DESIGN.md section 4)."""

    # Asked for (the strict schema requires it), but a small model often leaves it out: then
    # the card takes the article's own title (summarize.summarizer.titled) instead of failing.
    title: Annotated[str, clip_text(100)] = Field("", max_length=100)
    hook: Annotated[str, clip_text(160)] = Field(min_length=1, max_length=160)
    tldr: TLDR
    key_takeaways: list[PointDraft] = Field(min_length=3, max_length=5)
    technical_deep_dive: list[PointDraft] = Field(max_length=5)
    future_implications: list[PointDraft] = Field(min_length=1, max_length=3)
    topics: list[TopicScore] = Field(max_length=8)
    entities: list[str] = Field(max_length=20)
    timeliness: Literal["time-bound", "evergreen"]


class CardMeta(_Strict):
    """How a card was made: stored beside it."""

    mode: Literal["llm", "extractive"]
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_sha256: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    grounded_ratio: float = 0.0
    fallback_reason: str | None = None
