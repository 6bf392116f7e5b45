"""Per-card metrics: schema, length limits, grounding, topic agreement, empty or duplicate parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from aggregator.llm.extractive import terms
from aggregator.llm.roles import NO_NEXT_STEP, NO_REASON
from aggregator.llm.schema import Card
from aggregator.summarize.grounding import MIN_TOPIC_SCORE, ArticleText, normalize

SECTIONS = ("key_takeaways", "technical_deep_dive", "future_implications")
# DESIGN.md section 4: how many points each section holds.
SECTION_BOUNDS = {
    "key_takeaways": (3, 5),
    "technical_deep_dive": (0, 5),
    # 0 allowed since issue 14: a present-tense fact is not passed off as an implication; the
    # page then says the source says nothing about what comes next.
    "future_implications": (0, 3),
}
TEXT_LIMITS = {"title": 100, "hook": 160}
TLDR_FIELDS = ("what_changed", "why_it_matters", "what_to_do_next")
TLDR_LIMIT = 400
POINT_LIMIT = 600
MAX_CITATIONS = 3


@dataclass(frozen=True)
class Metric:
    """A per-card quality metric: how it reads, when a card passes it, which way is better."""

    name: str
    label: str
    threshold: float | None = None  # None: a yes/no metric (1.0 passes)
    scale: float = 1.0  # the metric's maximum, for charts
    higher_is_better: bool = True

    def passed(self, value: float | None) -> bool | None:
        """Return whether a value passes (None when the metric does not apply)."""
        if value is None:
            return None
        return value >= (1.0 if self.threshold is None else self.threshold)


QUALITY_METRICS: tuple[Metric, ...] = (
    Metric("schema_valid", "Schema valid"),
    Metric("length_ok", "Length limits kept"),
    Metric("citation_rate", "Citations verified", threshold=0.8),
    Metric("claim_support", "Claims supported", threshold=0.8),
    Metric("topic_f1", "Topic agreement (F1)", threshold=0.5),
    Metric("topic_precision", "Topic precision", threshold=0.5),
    Metric("topic_recall", "Topic recall", threshold=0.5),
    Metric("sections_clean", "No empty/duplicate parts"),
    # Issue 14: every TL;DR part there and distinct; numbers and names in the cited sentences.
    Metric("tldr_complete", "All three TL;DR parts"),
    Metric("parts_distinct", "Hook and TL;DR parts distinct"),
    # Per-part emptiness: how often the card names a next step rather than saying there is none
    # (information: whether it should is what role_what_to_do_next scores on the roles set).
    Metric("next_step_stated", "Next step stated (not 'none')"),
    Metric("claims_checked", "Numbers/names in cited sentences", threshold=0.9),
    # Sets whose cases label each role (the bundled `roles` set): did the part come from the
    # labelled sentence, and is it empty exactly when the article states none?
    Metric("role_match", "Roles right (all four)", threshold=0.75),
    Metric("role_what_changed", "Role: what changed"),
    Metric("role_why_it_matters", "Role: why it matters"),
    Metric("role_what_to_do_next", "Role: what to do next"),
    Metric("role_future", "Role: future implications"),
    Metric("tldr_words", "Words per TL;DR part", threshold=8, scale=40),
    Metric("point_words", "Words per point", threshold=15, scale=40),
    Metric("judge_faithfulness", "Judge: faithfulness", threshold=4, scale=5),
    Metric("judge_usefulness", "Judge: usefulness", threshold=4, scale=5),
    Metric("judge_actionability", "Judge: actionability", threshold=4, scale=5),
)
METRICS_BY_NAME = {m.name: m for m in QUALITY_METRICS}


def _text(value: Any) -> str:
    """Return a value as stripped text ('' for anything that is not a string)."""
    return value.strip() if isinstance(value, str) else ""


def _points(card: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """Return a section's points that are objects (malformed entries are skipped)."""
    points = card.get(section)
    return [p for p in points if isinstance(p, dict)] if isinstance(points, list) else []


def _citations(point: dict[str, Any]) -> list[str]:
    """Return a point's citations that are strings."""
    citations = point.get("citations")
    return [c for c in citations if isinstance(c, str)] if isinstance(citations, list) else []


def schema_valid(card: dict[str, Any]) -> bool:
    """Return True when the card validates as the published Card model."""
    try:
        Card.model_validate(card)
    except ValidationError:
        return False
    return True


def length_problems(card: dict[str, Any]) -> list[str]:
    """Return every length or count limit the card breaks (empty when it keeps them all)."""
    problems = [f"{name} > {limit}" for name, limit in TEXT_LIMITS.items()
                if len(_text(card.get(name))) > limit]  # fmt: skip
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    problems += [f"tldr.{name} > {TLDR_LIMIT}" for name in TLDR_FIELDS
                 if len(_text(tldr.get(name))) > TLDR_LIMIT]  # fmt: skip
    for section, (low, high) in SECTION_BOUNDS.items():
        points = _points(card, section)
        if not low <= len(points) <= high:
            problems.append(f"{section}: {len(points)} points, want {low}-{high}")
        for i, point in enumerate(points):
            if len(_text(point.get("text"))) > POINT_LIMIT:
                problems.append(f"{section}[{i}].text > {POINT_LIMIT}")
            if len(_citations(point)) > MAX_CITATIONS:
                problems.append(f"{section}[{i}]: more than {MAX_CITATIONS} citations")
    return problems


def grounding_counts(card: dict[str, Any], article_text: str) -> dict[str, int]:
    """Return counts of citations verified in the article and of points with a verified one."""
    article = ArticleText(article_text)
    counts = {"citations": 0, "verified": 0, "points": 0, "supported": 0}
    for section in SECTIONS:
        for point in _points(card, section):
            found = [article.find(quote) is not None for quote in _citations(point)]
            counts["points"] += 1
            counts["citations"] += len(found)
            counts["verified"] += sum(found)
            counts["supported"] += any(found)
    return counts


def _predicted_topics(card: dict[str, Any]) -> set[str]:
    """Return the slugs of the card's confident topics."""
    topics = card.get("topics") if isinstance(card.get("topics"), list) else []
    return {
        t["slug"]
        for t in topics
        if isinstance(t, dict) and isinstance(t.get("slug"), str)
        and isinstance(t.get("score"), int | float) and t["score"] >= MIN_TOPIC_SCORE
    }  # fmt: skip


def topic_precision(card: dict[str, Any], expected: list[str] | None) -> float | None:
    """Return the share of the card's topics that are labelled (1.0 when it claims none)."""
    if expected is None:
        return None
    predicted = _predicted_topics(card)
    return len(predicted & set(expected)) / len(predicted) if predicted else 1.0


def topic_recall(card: dict[str, Any], expected: list[str] | None) -> float | None:
    """Return the share of labelled topics the card found (1.0 when none fits and it said so)."""
    if expected is None:
        return None
    wanted = set(expected)
    return len(_predicted_topics(card) & wanted) / len(wanted) if wanted else 1.0


def topic_f1(card: dict[str, Any], expected: list[str] | None) -> float | None:
    """Return the F1 of the card's confident topics against the labels (None without labels)."""
    if expected is None:
        return None
    predicted = _predicted_topics(card)
    wanted = set(expected)
    if not predicted and not wanted:
        return 1.0
    return 2 * len(predicted & wanted) / (len(predicted) + len(wanted))


def section_issues(card: dict[str, Any]) -> list[str]:
    """Return the card's empty required parts and repeated points."""
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    issues = [f"empty {name}" for name in ("title", "hook") if not _text(card.get(name))]
    issues += [f"empty tldr.{name}" for name in TLDR_FIELDS[:2] if not _text(tldr.get(name))]
    issues += [f"empty {s}" for s in ("key_takeaways",) if not _points(card, s)]
    seen: set[str] = set()
    for section in SECTIONS:
        for i, point in enumerate(_points(card, section)):
            text = normalize(_text(point.get("text"))).lower().rstrip(".")
            if not text:
                issues.append(f"empty {section}[{i}]")
            elif text in seen:
                issues.append(f"duplicate {section}[{i}]")
            seen.add(text)
    what, why = (normalize(_text(tldr.get(k))).lower() for k in TLDR_FIELDS[:2])
    if what and what == why:
        issues.append("duplicate tldr.why_it_matters")
    return issues


def part_metrics(card: dict[str, Any], article_text: str) -> dict[str, float | None]:
    """Return the per-part metrics: TL;DR complete and distinct, words per part and point, claims."""
    from aggregator.summarize.claims import unsupported

    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    parts = [_text(tldr.get(k)) for k in TLDR_FIELDS]
    shown = [normalize(p).lower() for p in [_text(card.get("hook")), *parts] if p]
    points = [p for s in SECTIONS for p in _points(card, s) if _text(p.get("text"))]
    article = ArticleText(article_text)
    supported = [
        not unsupported(
            _text(p["text"]), [s for q in _citations(p) for s in article.sentences_of(q)]
        )
        for p in points
        if _citations(p)
    ]
    words = lambda texts: sum(len(t.split()) for t in texts) / len(texts) if texts else None  # noqa: E731
    return {
        # An empty next step is complete: the card then says the source states none.
        "tldr_complete": float(all(parts[:2])),
        "next_step_stated": float(bool(parts[2]) and parts[2] != NO_NEXT_STEP),
        "parts_distinct": float(len(set(shown)) == len(shown)),
        "claims_checked": sum(supported) / len(supported) if supported else None,
        "tldr_words": words([p for p in parts if p]),
        "point_words": words([_text(p["text"]) for p in points]),
    }


ROLE_NAMES = ("what_changed", "why_it_matters", "what_to_do_next", "future")
_NONE_SAID = {normalize(NO_NEXT_STEP).lower(), normalize(NO_REASON).lower()}


def carries(part: str, labelled: str) -> bool:
    """Return True when a part carries the labelled sentence: 60% of its content words (stemmed).

    Content words, not the exact text, so that a model's paraphrase counts as well as a quote.
    """
    want = set(terms(labelled))
    return bool(want) and len(want & set(terms(part))) >= 0.6 * len(want)


def role_metrics(card: dict[str, Any], expected: dict[str, Any] | None) -> dict[str, float | None]:
    """Return, per labelled role, 1.0 when the card got it right (None for a role not labelled).

    A role labelled with a sentence must carry it; a role labelled null (the article states no
    next step, nothing about the future) must be empty or say so, not invent one.
    """
    out: dict[str, float | None] = {f"role_{r}": None for r in ROLE_NAMES}
    if not isinstance(expected, dict):
        return {**out, "role_match": None}
    tldr = card.get("tldr") if isinstance(card.get("tldr"), dict) else {}
    for role in ROLE_NAMES:
        if role not in expected:
            continue
        label = expected[role]
        if role == "future":
            parts = [_text(p.get("text")) for p in _points(card, "future_implications")]
        else:
            part = _text(tldr.get(role))
            parts = [part] if part and normalize(part).lower() not in _NONE_SAID else []
        if label is None:
            out[f"role_{role}"] = float(not parts)
        else:
            out[f"role_{role}"] = float(any(carries(p, str(label)) for p in parts))
    scored = [v for v in out.values() if v is not None]
    return {**out, "role_match": sum(scored) / len(scored) if scored else None}


def score_card(
    card: dict[str, Any] | None,
    article_text: str,
    expected_topics: list[str] | None = None,
    expected_roles: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the card's metrics (values 0-1, topic_f1 None without labels) and their details.

    A missing card (the model gave no usable answer) fails everything.
    """
    if not isinstance(card, dict):
        return {
            "schema_valid": 0.0, "length_ok": 0.0, "citation_rate": 0.0, "claim_support": 0.0,
            "topic_f1": None if expected_topics is None else 0.0, "sections_clean": 0.0,
            "topic_precision": None if expected_topics is None else 0.0,
            "topic_recall": None if expected_topics is None else 0.0,

            "tldr_complete": 0.0, "parts_distinct": 0.0, "claims_checked": 0.0,
            "next_step_stated": 0.0,
            "tldr_words": None, "point_words": None,
            **{k: (None if expected_roles is None or v is None else 0.0)
               for k, v in role_metrics({}, expected_roles).items()},
            "details": {"problems": ["no card"], "issues": ["no card"], "citations": 0,
                        "verified": 0, "points": 0, "supported": 0},
        }  # fmt: skip
    counts = grounding_counts(card, article_text)
    problems = length_problems(card)
    issues = section_issues(card)
    return {
        "schema_valid": float(schema_valid(card)),
        "length_ok": float(not problems),
        "citation_rate": counts["verified"] / counts["citations"] if counts["citations"] else 0.0,
        "claim_support": counts["supported"] / counts["points"] if counts["points"] else 0.0,
        "topic_f1": topic_f1(card, expected_topics),
        "topic_precision": topic_precision(card, expected_topics),
        "topic_recall": topic_recall(card, expected_topics),
        "sections_clean": float(not issues),
        **part_metrics(card, article_text),
        **role_metrics(card, expected_roles),
        "details": {"problems": problems, "issues": issues, **counts},
    }
