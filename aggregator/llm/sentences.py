"""Sentence-number citations: the article with numbered sentences, and numbers turned back into text.

A prompt with `citations = "sentence_ids"` shows the model the article as `[1] First
sentence. [2] Second one.` and asks for sentence numbers instead of re-typed quotes: far
fewer output tokens, and a citation can no longer be invented. The engine resolves each
number to that sentence, verbatim, which is what is stored and published as the citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from aggregator.llm.schema import CardDraft, PointDraft, clip_text
from aggregator.llm.segment import is_prose, split_sentences
from aggregator.summarize.grounding import MIN_QUOTE_CHARS

# Fragments shorter than this ("Yes.", "Q3.") join the sentence before them: grounding
# rejects quotes this short as proving nothing (the margin covers quote marks it strips).
MIN_SENTENCE_CHARS = MIN_QUOTE_CHARS + 4
# A resolved citation is cut (at a word boundary, so it stays a verbatim prefix) past this.
MAX_CITATION_CHARS = 300
_PARAGRAPHS = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Numbered:
    """An article as the model sees it (`[n]` before each sentence) and the sentences by number."""

    text: str
    sentences: tuple[str, ...]

    def sentence(self, number: int) -> str | None:
        """Return sentence `number` (1-based) cut to MAX_CITATION_CHARS, or None if none has it."""
        if not 1 <= number <= len(self.sentences):
            return None
        found = self.sentences[number - 1]
        if len(found) <= MAX_CITATION_CHARS:
            return found
        return found[:MAX_CITATION_CHARS].rsplit(" ", 1)[0]


def _pieces(paragraph: str) -> list[str]:
    """Return a paragraph's sentences with too-short fragments joined to a neighbour."""
    pieces: list[str] = []
    for sentence in (" ".join(s.split()) for s in split_sentences(paragraph)):
        if pieces and (len(sentence) < MIN_SENTENCE_CHARS or len(pieces[-1]) < MIN_SENTENCE_CHARS):
            pieces[-1] = f"{pieces[-1]} {sentence}"
        else:
            pieces.append(sentence)
    return pieces


def number_sentences(text: str) -> Numbered:
    """Return the article with `[n] ` before each sentence, paragraphs kept, and its sentences.

    Numbering runs from the start, so cutting the numbered text at paragraph
    boundaries (the input budget) keeps every shown number pointing at its sentence.
    """
    sentences: list[str] = []
    paragraphs = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        pieces = _pieces(paragraph)  # a line break ends a sentence too (lists, Reddit posts)
        if len(pieces) == 1 and (len(pieces[0]) < MIN_SENTENCE_CHARS or not is_prose(pieces[0])):
            paragraphs.append(pieces[0])  # a heading, dateline or byline: shown, not citable
            continue
        numbered = []
        for piece in pieces:
            sentences.append(piece)
            numbered.append(f"[{len(sentences)}] {piece}")
        if numbered:
            paragraphs.append(" ".join(numbered))
    return Numbered("\n\n".join(paragraphs), tuple(sentences))


class IdPointDraft(BaseModel):
    """A point as a sentence-number prompt returns it: its text and 1-3 sentence numbers."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, clip_text(600)] = Field(min_length=1, max_length=600)
    cite: list[int] = Field(min_length=1, max_length=3)


class IdCardDraft(CardDraft):
    """What a sentence-number prompt must return: CardDraft with numbered citations."""

    # The same bounds as CardDraft; only the kind of point differs.
    key_takeaways: list[IdPointDraft] = Field(min_length=3, max_length=5)  # type: ignore
    technical_deep_dive: list[IdPointDraft] = Field(max_length=5)  # type: ignore
    future_implications: list[IdPointDraft] = Field(min_length=1, max_length=3)  # type: ignore


def missing_marker(number: int) -> str:
    """Return what an invalid sentence number becomes: a quote no article contains."""
    return f"[no sentence {number} in the article]"


def resolve_ids(draft: IdCardDraft, numbered: Numbered) -> CardDraft:
    """Return the draft with each sentence number replaced by that sentence's text.

    A number that names no sentence becomes `missing_marker(n)`, which grounding
    cannot find and so drops and counts as unverified, exactly like an invented quote.
    """

    def points(items: list[IdPointDraft]) -> list[PointDraft]:
        return [
            PointDraft(
                text=item.text,
                citations=[numbered.sentence(n) or missing_marker(n) for n in item.cite[:3]],
            )
            for item in items
        ]

    fields: dict[str, Any] = draft.model_dump(
        exclude={"key_takeaways", "technical_deep_dive", "future_implications"}
    )
    return CardDraft.model_validate(
        {
            **fields,
            "key_takeaways": points(draft.key_takeaways),
            "technical_deep_dive": points(draft.technical_deep_dive),
            "future_implications": points(draft.future_implications),
        }
    )


def quoted_draft(draft: dict[str, Any], article_text: str) -> dict[str, Any]:
    """Return a stored draft with quotes for citations (sentence numbers resolved; quotes as is).

    For readers of raw model answers (evaluation): `article_text` must be the story's
    text the summarizer numbered, without the title in front.
    """
    points = [p for k in ("key_takeaways", "future_implications") for p in draft.get(k) or []]
    if not any(isinstance(p, dict) and "cite" in p for p in points):
        return draft
    resolved = resolve_ids(IdCardDraft.model_validate(draft), number_sentences(article_text))
    return resolved.model_dump(mode="json")
