"""What a planner reads beside the card: kind, timeliness and typed entities, set on the card."""

from __future__ import annotations

from aggregator.llm.schema import Card, TypedEntity
from aggregator.summarize.classify import classify
from aggregator.summarize.entities import Entity, find_entities, type_names


def annotate(card: Card, title: str, text: str, url: str | None, mode: str) -> Card:
    """Return the card with its kind, timeliness and typed entities from the article.

    In LLM mode the model's timeliness (and kind, when its schema has one) is one strong vote
    and its entity names are kept when the article names them; offline, the article decides.
    """
    model = mode == "llm"
    verdict = classify(
        title,
        text,
        url or "",
        llm_timeliness=card.timeliness if model else None,
        llm_kind=card.kind if model else None,
    )
    found = find_entities(title, text)
    entities: list[Entity] = type_names(card.entities, found, text) if model else found
    if not entities:
        entities = found
    typed = [TypedEntity(name=e.name, type=e.type) for e in entities]  # type: ignore[arg-type]
    return card.model_copy(
        update={
            "kind": verdict.kind,
            "timeliness": verdict.timeliness,
            "typed_entities": typed,
            # The untyped list (API 1.0) shows the same clean names.
            "entities": [e.name for e in entities],
        }
    )
