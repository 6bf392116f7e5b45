"""Grounding: keep only citations that are really in the article, and only points that keep one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from aggregator.llm.schema import Card, CardDraft, Point, PointDraft, TopicScore

# Curly quotes, primes, and the dash family become their ASCII forms before comparing.
_FOLD = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...", "\u00ad": "",
})  # fmt: skip
_SPACE = re.compile(r"\s+")
# A near match must be this similar (rapidfuzz 0-100): typo-level differences only.
FUZZY_THRESHOLD = 92.0
# Shorter quotes ("the model") prove nothing: they are found in almost any article.
MIN_QUOTE_CHARS = 16
MIN_TOPIC_SCORE = 0.3
MAX_TOPICS = 5
MIN_TAKEAWAYS = 2


def normalize(text: str) -> str:
    """Return text with Unicode forms, quotes, dashes and whitespace made uniform."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return _SPACE.sub(" ", text).strip()


class ArticleText:
    """An article prepared for quote lookups (normalised once, searched many times)."""

    def __init__(self, text: str):
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

    @property
    def grounded_ratio(self) -> float:
        """Return the share of the model's citations found in the article."""
        return round(self.verified / self.total, 4) if self.total else 0.0

    @property
    def takeaways(self) -> int:
        """Return how many key takeaways survived."""
        return len(self.card.key_takeaways)


def _ground_points(
    points: Iterable[PointDraft | Point], article: ArticleText, result: Grounded
) -> list[Point]:
    """Return the points that keep at least one verified citation (deduplicated, in order)."""
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
        if citations:
            kept.append(Point(text=point.text, citations=citations[:3]))
        else:
            result.dropped_points += 1
    return kept


def clean_topics(topics: Iterable[TopicScore], known: set[str]) -> list[TopicScore]:
    """Return known topics only, one score each (the highest), confident ones first."""
    best: dict[str, float] = {}
    for topic in topics:
        if topic.slug in known and topic.score >= MIN_TOPIC_SCORE:
            best[topic.slug] = max(best.get(topic.slug, 0.0), topic.score)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TOPICS]
    return [TopicScore(slug=slug, score=round(score, 3)) for slug, score in ranked]


def ground_card(draft: CardDraft | Card, article_text: str, known_topics: set[str]) -> Grounded:
    """Return the card with unverified citations removed and uncited points unpublished."""
    article = ArticleText(article_text)
    result = Grounded(
        card=Card(title=draft.title, hook=draft.hook, tldr=draft.tldr), verified=0, total=0
    )
    sections = {
        name: _ground_points(getattr(draft, name), article, result)
        for name in ("key_takeaways", "technical_deep_dive", "future_implications")
    }
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


def feedback(grounded: Grounded, sentence_ids: bool = False) -> str:
    """Return the message asking the model to redo a card whose citations did not check out."""
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
