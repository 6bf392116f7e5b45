"""The offline backend: a card built from the article's best sentences (a small TextRank), no model."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz

from aggregator.llm.schema import TLDR, Card, Point, TopicScore
from aggregator.llm.topics import choose_topics, evidence_needed, topic_evidence
from aggregator.settings import Topic

# A closing quote or bracket after the full stop stays with its sentence (quotes stay verbatim).
_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_ENTITY = re.compile(r"\b[A-Z][\w+.-]*[\w+](?:\s+(?:[A-Z][\w+.-]*[\w+]|\d[\w.]*))*")
_FUTURE = re.compile(
    r"\b(will|would|could|may|might|plans?|expects?|expected|next|future|"
    r"upcoming|roadmap|later this|soon)\b",
    re.I,
)
_TECHNICAL = re.compile(
    r"\d|\b(api|gpu|cpu|latency|throughput|parameters?|tokens?|benchmark|"
    r"architecture|training|inference|dataset|model|algorithm|open[- ]source|"
    r"memory|quantiz\w+|fine-?tun\w+)\b",
    re.I,
)
_EVERGREEN = re.compile(
    r"\b(how to|guide|tutorial|explained|introduction to|what is|why you|"
    r"lessons|primer|deep dive)\b",
    re.I,
)
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers him his how i if in into is it its itself just me
more most my new no nor not now of off on once only or other our ours out over own said same
says she should so some such than that the their theirs them then there these they this those
through to too under until up very was we were what when where which while who whom why will
with would you your yours one two like get got make made may might much many use used using
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_NOT_ENTITIES_TEXT = """
The A An This That These Those It Its In On At For From With By As But And Or If When While
After Before During Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February
March April May June July August September October November December We I You He She They Our
Their His Her Today Yesterday Tomorrow
"""
_NOT_ENTITIES = frozenset(_NOT_ENTITIES_TEXT.split())
MAX_SENTENCES = 150
MIN_TOPIC_SCORE = 0.3


def split_sentences(text: str) -> list[str]:
    """Return the article's sentences (paragraph breaks always end a sentence)."""
    out = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        out += [s.strip() for s in _SENTENCE.split(paragraph.strip()) if s.strip()]
    return out


def _stem(word: str) -> str:
    """Return a crude stem so plural and verb forms match (models ~ model, training ~ train)."""
    for suffix in ("ings", "ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> list[str]:
    """Return the stemmed content words of a text."""
    words = (w.lower() for w in _WORD.findall(text))
    return [_stem(w) for w in words if w not in STOPWORDS and len(w) > 2]


def rank_sentences(sentences: Sequence[str]) -> list[float]:
    """Return a TextRank score per sentence, nudged towards the lead (news puts facts first)."""
    n = len(sentences)
    if n == 0:
        return []
    bags = [set(terms(s)) for s in sentences]
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            overlap = len(bags[i] & bags[j])
            if overlap and len(bags[i]) > 1 and len(bags[j]) > 1:
                weights[i, j] = weights[j, i] = overlap / (
                    math.log(len(bags[i])) + math.log(len(bags[j]))
                )
    totals = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    scores = np.full(n, 1.0 / n)
    for _ in range(40):
        scores = 0.15 / n + 0.85 * transition.T @ scores
    return [float(s) * (1 + 0.6 / (1 + i / 3)) for i, s in enumerate(scores)]


def _usable(sentence: str) -> bool:
    words = len(sentence.split())
    return 6 <= words <= 80 and not sentence.endswith("?") and len(sentence) <= 600


def _clip(text: str, limit: int) -> str:
    """Return text cut to `limit` characters at a word boundary (no ellipsis: it stays a quote)."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def score_topics(title: str, text: str, topics: Sequence[Topic]) -> list[TopicScore]:
    """Return the configured topics the article is about (none when no topic fits)."""
    needed = evidence_needed(len(text.split()) + len(title.split()))
    return choose_topics(topic_evidence(title, text, topics, terms), needed)


def find_entities(sentences: Sequence[str], limit: int = 10) -> list[str]:
    """Return capitalised names that appear inside sentences (not just as the first word)."""
    counts: Counter[str] = Counter()
    for sentence in sentences:
        for match in _ENTITY.finditer(sentence):
            name = match.group(0).strip(" .")
            first = name.split()[0]
            if match.start() == 0 and " " not in name:
                continue  # a capital at the start of a sentence is not a name
            if first in _NOT_ENTITIES or len(name) < 2:
                continue
            counts[name] += 1
    return [name for name, _ in counts.most_common(limit)]


def echoes_title(sentence: str, title: str) -> bool:
    """Return True when a sentence repeats the headline (or a piece of it): useless as a hook."""
    a = sentence.lower().strip(" .\"'")
    b = title.lower().strip(" .\"'")
    if not a or not b:
        return False
    return fuzz.ratio(a, b) >= 85 or (len(a) <= len(b) and fuzz.partial_ratio(a, b) >= 90)


def build_card(title: str, text: str, topics: Sequence[Topic] = ()) -> Card:
    """Return a card made of the article's own sentences; every citation is verbatim."""
    sentences = [s for s in split_sentences(text) if _usable(s)][:MAX_SENTENCES]
    # Extracted text often starts with the headline; a card that repeats it says nothing.
    sentences = [s for s in sentences if not echoes_title(s, title)] or sentences
    if not sentences:
        sentences = [_clip(" ".join(text.split()), 400)] if text.strip() else []
    scores = rank_sentences(sentences)
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    lead = sentences[0] if sentences else title
    # One sentence stays unused for the implication DESIGN requires, even in a short article.
    count = min(5 if len(order) >= 5 else 3, max(1, len(order) - 1))
    takeaways = sorted(order[:count])
    used = set(takeaways)

    def points(pattern: re.Pattern[str], count: int) -> list[Point]:
        chosen = [i for i in order if i not in used and pattern.search(sentences[i])][:count]
        used.update(chosen)
        return [_point(sentences[i]) for i in sorted(chosen)]

    ranked = [sentences[i] for i in order if sentences[i] != lead]
    changed = ranked[0] if ranked else lead
    why = ranked[1] if len(ranked) > 1 else changed
    clean_title = _clip(" ".join(title.split()), 100) or _clip(lead, 100) or "Untitled"
    # DESIGN asks for 1-3 implications: without forward-looking wording, the best unused
    # sentence (the article's own, so still a verbatim citation) stands in. Chosen before the
    # deep dive, which may be empty, so a short article still gets one.
    future = points(_FUTURE, 2) or points(re.compile(r"."), 1)
    deep_dive = points(_TECHNICAL, 2)
    return Card(
        title=clean_title,
        hook=_clip(lead, 160) or clean_title,
        tldr=TLDR(what_changed=_clip(changed, 400), why_it_matters=_clip(why, 400)),
        key_takeaways=[_point(sentences[i]) for i in takeaways],
        technical_deep_dive=deep_dive,
        future_implications=future,
        topics=score_topics(title, text, topics),
        entities=find_entities(sentences),
        timeliness="evergreen" if _EVERGREEN.search(title) else "time-bound",
    )


def _point(sentence: str) -> Point:
    """Return a point whose text and citation are the sentence itself."""
    quote = _clip(sentence, 600)
    return Point(text=quote, citations=[quote])
