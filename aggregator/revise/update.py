"""LLM mode of What's new: the previous card and only the new reports, each point citing them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from aggregator.llm.cache import CallRecord
from aggregator.llm.client import LLMClient
from aggregator.llm.complete import acomplete_structured
from aggregator.llm.prompts import Prompt
from aggregator.llm.schema import clip_text
from aggregator.llm.sentences import IdPointDraft, number_sentences
from aggregator.revise.whatsnew import NewItem, card_sentences, content, is_new, point_of

MAX_REPORT_SENTENCES = 120  # the new reports' sentences shown (the input budget)


class UpdateDraft(BaseModel):
    """What the update prompt returns: points citing new-report sentences, and what changed."""

    model_config = ConfigDict(extra="forbid")

    whats_new: list[IdPointDraft] = Field(max_length=4)
    what_changed: Annotated[str, clip_text(400)] = Field(max_length=400)


@dataclass
class Update:
    """The grounded What's new of a revision, the updated TL;DR line, and the calls it took."""

    points: list[dict[str, Any]]
    what_changed: str
    records: list[CallRecord] = field(default_factory=list)


def numbered_reports(items: Sequence[NewItem]) -> tuple[str, list[tuple[NewItem, str]]]:
    """Return the new reports as the prompt shows them and their sentences by number (1-based)."""
    blocks, sentences = [], []
    for item in sorted(items, key=lambda i: (i.published_at, i.item_id)):
        lines = [f"Report from {item.source} ({item.published_at.date().isoformat()}):"]
        for sentence in number_sentences(item.text).sentences:
            if len(sentences) == MAX_REPORT_SENTENCES:
                break
            sentences.append((item, sentence))
            lines.append(f"[{len(sentences)}] {sentence}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks), sentences


def card_text(card: dict[str, Any]) -> str:
    """Return the card as the prompt shows it: one line per sentence it says."""
    return "\n".join(f"- {s}" for s in dict.fromkeys(card_sentences(card)))


def ground_update(
    draft: UpdateDraft, sentences: list[tuple[NewItem, str]], known: list[set[str]]
) -> list[dict[str, Any]]:
    """Return the points whose citations name real new sentences that say something new."""
    points = []
    for point in draft.whats_new:
        cited = [sentences[n - 1] for n in point.cite[:3] if 1 <= n <= len(sentences)]
        if not cited or not any(is_new(sentence, known) for _, sentence in cited):
            continue  # an invented number, or a restatement of the card: not published
        item = cited[0][0]
        points.append({**point_of(cited[0][1], item), "text": point.text,
                       "citations": [s for _, s in cited], "written_by": "llm"})  # fmt: skip
        known.append(content(point.text))
    return points


async def llm_update(
    client: LLMClient, prompt: Prompt, card: dict[str, Any], items: Sequence[NewItem],
    earlier: Sequence[str] = (), **options: Any,
) -> Update:  # fmt: skip
    """Return the LLM's What's new for these new reports, grounded; raise LLMError on failure."""
    reports, sentences = numbered_reports(items)
    answer = await acomplete_structured(
        client, prompt, {"card": card_text(card), "reports": reports}, UpdateDraft,
        purpose="revise", **options,
    )  # fmt: skip
    known = [content(s) for s in card_sentences(card)]
    known += [content(s) for text in earlier for s in number_sentences(text).sentences]
    points = ground_update(answer.value, sentences, known)
    return Update(points, answer.value.what_changed, list(answer.records))
