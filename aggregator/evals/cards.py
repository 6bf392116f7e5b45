"""Card makers: a case in, (published card, meta) out, through the production summarizers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aggregator.evals.configs import EvalConfig
from aggregator.evals.sets import Case
from aggregator.llm.cache import CallRecord, MemoryModes
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.extractive import build_card
from aggregator.llm.output import LLMError
from aggregator.llm.schema import CardDraft
from aggregator.llm.sentences import quoted_draft
from aggregator.summarize.grounding import ground_card
from aggregator.summarize.summarizer import ExtractiveSummarizer, LLMSummarizer, StoryInput

# make_card(case, config) -> (card dict or None when no card was made, meta dict).
# meta may hold "draft": the card as the model wrote it, before grounding removed anything;
# grounding metrics are scored on it, the rest on the published card.
CardMaker = Callable[[Case, EvalConfig], tuple[dict[str, Any] | None, dict[str, Any]]]


def story_input(case: Case) -> StoryInput:
    """Return the summarizer's input for a case."""
    return StoryInput(story_id=0, title=case.title, text=case.text, source_name=case.source,
                      url=case.url or None)  # fmt: skip


class RecordingCache:
    """A response cache that stores nothing but remembers every draft the model returned."""

    def __init__(self) -> None:
        self.drafts: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """Return None: each evaluation call reaches the model (results are cached per case)."""
        return None

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        """Remember a validated draft."""
        self.drafts[key] = response


def extractive_card(case: Case, config: EvalConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the offline backend's published card for a case, with its draft in meta."""
    result = asyncio.run(ExtractiveSummarizer(config.settings).summarize(story_input(case)))
    draft = build_card(case.title, case.text, config.settings.topics)
    meta = {**result.meta.model_dump(mode="json"), "draft": draft.model_dump(mode="json")}
    return result.card.model_dump(mode="json"), meta


def _published_draft(
    drafts: list[dict[str, Any]],
    published: dict[str, Any],
    text: str,
    slugs: set[str],
    story_text: str | None = None,
) -> dict[str, Any] | None:
    """Return the draft whose grounding gave the published card, its citations as quotes.

    Drafts of a sentence-number prompt (v2) cite numbers; they are resolved against the
    story text (numbered without the title) before grounding.
    """
    quoted = [quoted_draft(d, text if story_text is None else story_text) for d in drafts]
    for draft in reversed(quoted):
        card = ground_card(CardDraft.model_validate(draft), text, slugs).card
        if card.model_dump(mode="json") == published:
            return draft
    return quoted[-1] if quoted else None


def _failure_meta(config: EvalConfig, exc: LLMError) -> dict[str, Any]:
    """Return the meta of a case the model gave no card for (failed calls still cost)."""
    records: list[CallRecord] = exc.records
    return {
        "mode": "llm", "model": config.settings.llm.model, "error": str(exc).splitlines()[0],
        "tokens_in": sum(r.tokens_in for r in records),
        "tokens_out": sum(r.tokens_out for r in records),
        "cost_usd": round(sum(r.cost_usd for r in records), 8),
        "latency_ms": sum(r.latency_ms for r in records), "calls": len(records),
    }  # fmt: skip


class LLMCardMaker:
    """Makes cards with the production LLM summarizer, one client and event loop per batch."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers
        self.modes = MemoryModes()  # output modes are learnt once per run, as in production

    def __call__(self, case: Case, config: EvalConfig) -> tuple[dict[str, Any] | None, dict]:
        """Return (published card, meta with the chosen draft), or (None, meta with the error)."""
        return self.make_many([case], config)[0]

    def make_many(
        self, cases: list[Case], config: EvalConfig, done: Callable[[], None] | None = None
    ) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
        """Return every case's (card, meta), at most `workers` (or max_concurrency) at once."""
        llm = config.settings.llm
        client_config = ClientConfig.from_settings(
            llm, max_concurrency=self.workers or llm.max_concurrency
        )

        async def main() -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
            async with LLMClient(client_config) as client:
                # Queue here, not in the client, so a card's latency excludes its wait for a slot.
                slots = asyncio.Semaphore(client_config.max_concurrency)

                async def one(case: Case) -> tuple[dict[str, Any] | None, dict[str, Any]]:
                    async with slots:
                        made = await self._one(client, case, config)
                    if done is not None:
                        done()
                    return made

                return list(await asyncio.gather(*(one(case) for case in cases)))

        return asyncio.run(main())

    async def _one(
        self, client: LLMClient, case: Case, config: EvalConfig
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Return one case's published card and meta (with the draft it came from)."""
        recorder = RecordingCache()
        summarizer = LLMSummarizer(config.settings, client, cache=recorder, modes=self.modes)
        try:
            result = await summarizer.summarize(story_input(case))
        except LLMError as exc:
            return None, _failure_meta(config, exc)
        card = result.card.model_dump(mode="json")
        slugs = {t.slug for t in config.settings.topics}
        draft = _published_draft(
            list(recorder.drafts.values()), card, case.quotable_text, slugs, case.text
        )
        meta = {**result.meta.model_dump(mode="json"), "draft": draft, "calls": len(result.records)}
        return card, meta


def default_maker(config: EvalConfig, workers: int | None = None) -> CardMaker:
    """Return the card maker of a configuration's mode."""
    return LLMCardMaker(workers) if config.mode == "llm" else extractive_card
