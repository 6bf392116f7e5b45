"""Offline topic scores: the taxonomy's own words in the article, and a calibrated "none fits".

Each topic's vocabulary is its name, slug, description and keywords. A word that several
topics share says less (it is divided by how many use it); repeated words count on a log
scale, so a generic term said once does not file an article under a broad topic. The best
topic is kept when its evidence reaches MIN_EVIDENCE (else none fits); a second or third
only when it has at least RELATIVE_TO_BEST of the best one's evidence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from aggregator.llm.schema import TopicScore
from aggregator.settings import Topic

# Calibrated on the calibration half of the starter eval set (tests/unit/llm/test_topics.py
# measures the held-out half): below this evidence no configured topic fits.
MIN_EVIDENCE = 1.5
RELATIVE_TO_BEST = 0.4
MAX_TOPICS = 3
FULL_LENGTH = 200  # words
# Evidence e is published as the score e / (e + SCALE): 0-1, monotonic, 0.5 at MIN_EVIDENCE.
SCALE = 1.5


def _vocabulary(topic: Topic, terms: Callable[[str], list[str]]) -> Counter[str]:
    """Return a topic's weighted terms: name and keywords count double, the description once."""
    vocab = Counter({t: 2 for t in terms(f"{topic.name} {topic.slug.replace('-', ' ')}")})
    vocab.update(terms(topic.description))
    for keyword in topic.keywords:
        vocab.update({t: 2 for t in terms(keyword)})
    return vocab


def topic_evidence(
    title: str, text: str, topics: Sequence[Topic], terms: Callable[[str], list[str]]
) -> dict[str, float]:
    """Return each topic's evidence in the article (0 when none of its words appear)."""
    doc = Counter(terms(text)) + Counter({t: 3 for t in terms(title)})
    lowered = f"{title}\n{text}".lower()
    vocabs = {topic.slug: _vocabulary(topic, terms) for topic in topics}
    shared = Counter(t for vocab in vocabs.values() for t in vocab)
    evidence = {}
    for topic in topics:
        vocab = vocabs[topic.slug]
        found = sum(w * (1 + math.log(doc[t])) / shared[t] for t, w in vocab.items() if doc[t])
        found += sum(1 for k in topic.keywords if " " in k.strip() and k.lower() in lowered)
        evidence[topic.slug] = found / math.sqrt(sum(vocab.values()) or 1)
    return evidence


def evidence_needed(words: int, min_evidence: float = MIN_EVIDENCE) -> float:
    """Return the evidence a text of this many words needs for a topic to fit.

    Evidence grows with length, so a feed excerpt or a short post needs less: the
    threshold shrinks with the square root of the length below FULL_LENGTH words (the
    calibration cases are all longer, so for them it is MIN_EVIDENCE itself).
    """
    return max(0.3, min_evidence * min(1.0, math.sqrt(words / FULL_LENGTH)))


def choose_topics(
    evidence: dict[str, float],
    min_evidence: float = MIN_EVIDENCE,
    relative: float = RELATIVE_TO_BEST,
) -> list[TopicScore]:
    """Return the topics that fit, best first: none when even the best has too little evidence."""
    ranked = sorted(evidence.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked or ranked[0][1] <= 0 or ranked[0][1] < min_evidence:
        return []
    best = ranked[0][1]
    kept = [(slug, e) for slug, e in ranked if e >= relative * best][:MAX_TOPICS]
    return [TopicScore(slug=slug, score=round(e / (e + SCALE), 2)) for slug, e in kept]
