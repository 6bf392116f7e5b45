"""Grounding: keep only citations that are really in the article, and only points that keep one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from aggregator.llm.schema import Card, CardDraft, Point, PointDraft, TopicScore
from aggregator.llm.segment import normalize, split_sentences
from aggregator.summarize.claims import unsupported

# A near match must be this similar (rapidfuzz 0-100): typo-level differences only.
FUZZY_THRESHOLD = 92.0
# Shorter quotes ("the model") prove nothing: they are found in almost any article.
MIN_QUOTE_CHARS = 16
MIN_TOPIC_SCORE = 0.3
MAX_TOPICS = 5
MIN_TAKEAWAYS = 2


class ArticleText:
    """An article prepared for quote lookups (normalised once, searched many times)."""

    def __init__(self, text: str):
        self.raw = text
        self.text = normalize(text)
        self.lower = self.text.lower()
        # str.lower() keeps offsets only when no character changes length (almost always).
        self.same_offsets = len(self.lower) == len(self.text)

    def find(self, quote: str) -> str | None:
        """Return the article's own wording of a quote, or None if it is not in the article."""
        wanted = normalize(quote).strip(" \"'").removesuffix("...").removeprefix("...").strip()
        if len(wanted) < MIN_QUOTE_CHARS:
            return None
        if wanted in self.text:
            return wanted
        if self.same_offsets:
            at = self.lower.find(wanted.lower())
            if at >= 0:
                return self.text[at : at + len(wanted)]
        match = fuzz.partial_ratio_alignment(wanted, self.text, score_cutoff=FUZZY_THRESHOLD)
        if match is None:
            return None
        return self._whole_words(match.dest_start, match.dest_end)

    def sentences_of(self, quote: str) -> list[str]:
        """Return the article's sentences a (verified) quote is part of, or the quote itself."""
        if not hasattr(self, "_sentences"):
            self._sentences = [normalize(s) for s in split_sentences(self.raw)]
        wanted = normalize(quote)
        found = [s for s in self._sentences if wanted in s or (len(s) > 20 and s in wanted)]
        return found or [wanted]

    def _whole_words(self, start: int, end: int) -> str:
        """Return the article span widened to whole words."""
        while start > 0 and self.text[start - 1].isalnum():
            start -= 1
        while end < len(self.text) and self.text[end].isalnum():
            end += 1
        return self.text[start:end].strip()


@dataclass
class Grounded:
    """A card after its citations were checked."""

    card: Card
    verified: int
    total: int
    unverified: list[str] = field(default_factory=list)
    dropped_points: int = 0
    # Claims checked (check_claims=True): statements whose numbers or names the sources lack.
    claims_checked: int = 0
    claim_failures: list[tuple[str, list[str]]] = field(default_factory=list)
    tldr_failures: dict[str, list[str]] = field(default_factory=dict)

    @property
    def grounded_ratio(self) -> float:
        """Return the share of the model's citations found in the article."""
        return round(self.verified / self.total, 4) if self.total else 0.0

    @property
    def takeaways(self) -> int:
        """Return how many key takeaways survived."""
        return len(self.card.key_takeaways)


def _ground_points(
    points: Iterable[PointDraft | Point], article: ArticleText, result: Grounded, claims: bool
) -> list[Point]:
    """Return the points that keep a verified citation (and, with `claims`, state only what it does)."""
    kept = []
    for point in points:
        citations: list[str] = []
        for quote in point.citations:
            result.total += 1
            found = article.find(quote)
            if found is None:
                result.unverified.append(quote)
                continue
            result.verified += 1
            if found not in citations:
                citations.append(found)
        cited = [s for quote in citations for s in article.sentences_of(quote)]
        missing = _claim_check(point.text, cited, result) if claims and citations else []
        if citations and not missing:
            kept.append(Point(text=point.text, citations=citations[:3]))
        else:
            result.dropped_points += 1
    return kept


def _claim_check(text: str, sources: list[str], result: Grounded) -> list[str]:
    """Return what `text` states that `sources` do not, recording a failure in `result`."""
    result.claims_checked += 1
    missing = unsupported(text, sources)
    if missing:
        result.claim_failures.append((text, missing))
    return missing


def clean_topics(topics: Iterable[TopicScore], known: set[str]) -> list[TopicScore]:
    """Return known topics only, one score each (the highest), confident ones first."""
    best: dict[str, float] = {}
    for topic in topics:
        if topic.slug in known and topic.score >= MIN_TOPIC_SCORE:
            best[topic.slug] = max(best.get(topic.slug, 0.0), topic.score)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TOPICS]
    return [TopicScore(slug=slug, score=round(score, 3)) for slug, score in ranked]


def ground_card(
    draft: CardDraft | Card, article_text: str, known_topics: set[str], check_claims: bool = False
) -> Grounded:
    """Return the card with unverified citations removed and uncited points unpublished.

    With `check_claims`, a point whose numbers or names its cited sentences lack is dropped
    too, and TL;DR parts and the hook are checked against the whole article (failures are
    reported in `tldr_failures`; the caller decides what replaces them).
    """
    article = ArticleText(article_text)
    result = Grounded(
        card=Card(title=draft.title, hook=draft.hook, tldr=draft.tldr), verified=0, total=0
    )
    sections = {
        name: _ground_points(getattr(draft, name), article, result, check_claims)
        for name in ("key_takeaways", "technical_deep_dive", "future_implications")
    }
    if check_claims:
        parts = {"hook": draft.hook, **draft.tldr.model_dump()}
        for key, text in parts.items():
            if not text.strip():
                continue
            result.claims_checked += 1
            missing = unsupported(text, [article_text])
            if missing:
                result.tldr_failures[key] = missing
    entities = list(dict.fromkeys(e.strip() for e in draft.entities if e.strip()))[:20]
    result.card = Card(
        title=draft.title, hook=draft.hook, tldr=draft.tldr,
        key_takeaways=sections["key_takeaways"][:5],
        technical_deep_dive=sections["technical_deep_dive"][:5],
        future_implications=sections["future_implications"][:3],
        topics=clean_topics(draft.topics, known_topics),
        entities=entities, timeliness=draft.timeliness,
    )  # fmt: skip
    return result


def claims_feedback(grounded: Grounded) -> str:
    """Return the lines telling the model which statements its sources do not support."""
    lines = [f'- "{text[:200]}": {", ".join(missing)} not stated in its source'
             for text, missing in grounded.claim_failures[:10]]  # fmt: skip
    if not lines:
        return ""
    return (
        "These statements name numbers or names that their cited sentences do not contain:\n"
        + "\n".join(lines)
        + "\nEvery number (with its unit) and every name in a point must appear in the "
        "sentences it cites, and the TL;DR may state only what the article states."
    )


def feedback(grounded: Grounded, sentence_ids: bool = False) -> str:
    """Return the message asking the model to redo a card whose citations did not check out."""
    claims = claims_feedback(grounded)
    if grounded.takeaways >= MIN_TAKEAWAYS and claims:
        return claims + "\nWrite the card again."
    return _citation_feedback(grounded, sentence_ids) + ("\n" + claims if claims else "")


def _citation_feedback(grounded: Grounded, sentence_ids: bool) -> str:
    """Return the message about citations that could not be found in the article."""
    if sentence_ids:
        return (
            f"Only {grounded.takeaways} key takeaways cite a sentence number the article has. "
            "Write the card again. In cite, give only numbers shown in brackets before the "
            "article's sentences, the ones that state each point."
        )
    missing = "\n".join(f'- "{quote}"' for quote in grounded.unverified[:10])
    return (
        f"Only {grounded.takeaways} key takeaways kept a citation that appears in the article. "
        "These quotes were not found in the article text:\n"
        f"{missing or '- (none given)'}\n"
        "Write the card again. Copy every citation character for character from the article "
        "between the markers; do not paraphrase or shorten inside a citation."
    )
