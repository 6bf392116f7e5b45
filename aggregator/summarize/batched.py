"""A story's card request as the Batch API carries it, and its answer turned into a card.

Plain data: the same prompt, schema and grounding as a live call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aggregator.llm.batch import BATCH_DISCOUNT, LineResult, line_record
from aggregator.llm.cache import CallRecord
from aggregator.llm.client import ClientConfig
from aggregator.llm.output import Conversation, OutputError, parse_output
from aggregator.llm.pricing import call_cost
from aggregator.llm.prompts import Prompt, load_prompt
from aggregator.llm.schema import CardMeta
from aggregator.llm.sentences import Numbered, resolve_ids
from aggregator.llm.tokens import count_tokens
from aggregator.settings import Settings
from aggregator.summarize.grounding import MIN_TAKEAWAYS, ground_card
from aggregator.summarize.summarizer import (
    CardResult,
    StoryInput,
    card_schema,
    draft_model,
    prompt_article,
    prompt_variables,
)

STAGE = "summarize"


@dataclass
class Requests:
    """What a card request needs: the prompt, its output model and schema, the client config."""

    config: ClientConfig
    prompt: Prompt
    output_model: type
    schema: dict[str, Any]
    slugs: set[str]
    topics: list[Any]

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Requests:
        """Return the request parts of the configured item prompt."""
        prompt = load_prompt(settings.llm.item_prompt)
        model = draft_model(prompt)
        slugs = {t.slug for t in settings.topics}
        config = ClientConfig.from_settings(settings.llm, **overrides)
        return cls(config, prompt, model, card_schema(sorted(slugs), model), slugs,
                   list(settings.topics))  # fmt: skip

    @property
    def max_tokens(self) -> int:
        """Return the output allowance of one request."""
        return min(self.config.max_output_tokens, self.prompt.options.max_output_tokens or 10**9)

    def conversation(self, story: StoryInput, mode: str) -> tuple[Conversation, Numbered | None]:
        """Return the first turn of a story's card request, as a live call would make it."""
        cfg = self.config
        article, numbered = prompt_article(self.prompt, story.text)
        variables = prompt_variables(self.prompt, story, self.topics, cfg.max_input_tokens,
                                     cfg.model, article)  # fmt: skip
        talk = Conversation(self.prompt, variables, self.output_model, self.schema)
        talk.mode = mode  # type: ignore[assignment]
        return talk, numbered

    def body(self, story: StoryInput, mode: str) -> dict[str, Any]:
        """Return the chat request body for a story."""
        messages, fmt = self.conversation(story, mode)[0].request()
        body: dict[str, Any] = {"model": self.config.model, "messages": messages,
                                "temperature": self.config.temperature,
                                "max_tokens": self.max_tokens}  # fmt: skip
        if fmt is not None:
            body["response_format"] = fmt
        return body

    def base_record(self, story: StoryInput, mode: str) -> CallRecord:
        """Return the ledger record template of a story's batched request."""
        p = self.prompt
        return CallRecord(purpose=STAGE, model=self.config.model, status="ok",
                          subject=str(story.story_id), prompt_name=p.name,
                          prompt_version=p.version, prompt_sha256=p.sha256, output_mode=mode,
                          options={"max_tokens": self.max_tokens})  # fmt: skip

    def card(self, story: StoryInput, mode: str, result: LineResult) -> tuple[Any, CallRecord]:
        """Return (CardResult, or the reason to ask live instead; the line's ledger record)."""
        record = line_record(self.base_record(story, mode), result, self.config)
        if result.error:
            return result.error, record
        try:
            draft = parse_output(result.text, self.output_model)
        except OutputError as exc:
            record.status, record.error = "invalid", str(exc)[:500]
            return f"batch: answer invalid, asking live: {str(exc).splitlines()[0]}", record
        numbered = self.conversation(story, mode)[1]
        if numbered is not None:
            draft = resolve_ids(draft, numbered)
        grounded = ground_card(draft, f"{story.title}\n\n{story.text}", self.slugs)
        if grounded.takeaways < MIN_TAKEAWAYS:  # the live path has a feedback turn for this
            return "batch: answer not grounded enough, asking live", record
        meta = CardMeta(mode="llm", model=self.config.model, prompt_name=self.prompt.name,
                        prompt_version=self.prompt.version, prompt_sha256=self.prompt.sha256,
                        tokens_in=record.tokens_in, tokens_out=record.tokens_out,
                        tokens_cached=record.tokens_cached, cost_usd=record.cost_usd,
                        grounded_ratio=grounded.grounded_ratio)  # fmt: skip
        return CardResult(grounded.card, meta, [record]), record

    def estimate(self, body: dict[str, Any]) -> float:
        """Return the most a batched request can cost."""
        model = self.config.model
        tokens_in = sum(count_tokens(m["content"], model) + 4 for m in body["messages"])
        return call_cost(self.config.price, tokens_in, self.max_tokens) * BATCH_DISCOUNT
