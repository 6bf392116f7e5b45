"""The offline backend: a card built from the article's best sentences (a small TextRank), no model."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz

from aggregator.llm.roles import (
    HOOK_CHARS,
    NO_NEXT_STEP,
    NO_REASON,
    TOO_SHORT_HOOK,
    Roles,
    assign_roles,
    usable,
)
from aggregator.llm.schema import TLDR, Card, Point, TopicScore
from aggregator.llm.segment import is_whole, prose_text, shorten, split_sentences
from aggregator.llm.topics import choose_topics, evidence_needed, topic_evidence
from aggregator.settings import Topic

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_ENTITY = re.compile(r"\b[A-Z][\w+.-]*[\w+](?:\s+(?:[A-Z][\w+.-]*[\w+]|\d[\w.]*))*")
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
HEADLINE_ONLY_HOOK = "Only the headline of this story could be read."
HEADLINE_ONLY_WHY = "The article's text was not available, so this card cannot say why it matters."
MIN_TOPIC_SCORE = 0.3


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


def _finish(sentence: str) -> str:
    """Return a whole source line as a sentence: a line without an ending gets a full stop."""
    return sentence if is_whole(sentence) else sentence.rstrip(" ,;:") + "."


def card_sentences(title: str, text: str) -> list[str]:
    """Return the article's prose sentences a card may use (no datelines, no headline echoes)."""
    found = [s for s in split_sentences(prose_text(text)) if _usable(s)]
    sentences = list(dict.fromkeys(found))[:MAX_SENTENCES]  # a repeated sentence counts once
    # Extracted text often starts with the headline; a card that repeats it says nothing.
    return [s for s in sentences if not echoes_title(s, title)] or sentences


def build_card(title: str, text: str, topics: Sequence[Topic] = (), deep: bool = True) -> Card:
    """Return a card made of the article's own sentences, one per role; citations are verbatim.

    `deep=False` (an excerpt too short to ground an analysis) leaves the Deep insight empty.
    """
    sentences = card_sentences(title, text)
    if not sentences and text.strip():
        sentences = [shorten(" ".join(text.split()), 400)]
    if not sentences or echoes_title(" ".join(sentences), title):
        return _headline_card(title, topics)
    roles = assign_roles(sentences, rank_sentences(sentences))
    clean_title = _clip(" ".join(title.split()), 100) or "Untitled"

    def part(index: int | None, limit: int = 400) -> str:
        return shorten(_finish(sentences[index]), limit) if index is not None else ""

    changed = part(roles.what_changed) or shorten(clean_title, 400)
    # Too few sentences for distinct parts: say so rather than repeat one sentence.
    hook = part(roles.hook, HOOK_CHARS) or TOO_SHORT_HOOK
    why = part(roles.why_it_matters) or NO_REASON
    tldr = TLDR(
        what_changed=changed,
        why_it_matters=why,
        what_to_do_next=part(roles.what_to_do_next) or NO_NEXT_STEP,
    )
    takeaways, deep_dive, future = [], [], []
    if deep and sentences:
        takeaways, deep_dive = _insight(sentences, roles)
        future = [_point(sentences[i]) for i in roles.future]
    return Card(
        title=clean_title, hook=hook, tldr=tldr,
        key_takeaways=takeaways, technical_deep_dive=deep_dive, future_implications=future,
        topics=score_topics(title, text, topics), entities=find_entities(sentences),
        timeliness="evergreen" if _EVERGREEN.search(title) else "time-bound",
    )  # fmt: skip


def _headline_card(title: str, topics: Sequence[Topic]) -> Card:
    """Return the card of a story known only by its headline: it says so instead of repeating it."""
    clean = _clip(" ".join(title.split()), 100) or "Untitled"
    return Card(
        title=clean,
        hook=HEADLINE_ONLY_HOOK,
        tldr=TLDR(
            what_changed=shorten(_finish(clean), 400),
            why_it_matters=HEADLINE_ONLY_WHY,
            what_to_do_next=NO_NEXT_STEP,
        ),
        topics=score_topics(title, "", topics),
        timeliness="evergreen" if _EVERGREEN.search(title) else "time-bound",
    )


def _insight(sentences: list[str], roles: Roles) -> tuple[list[Point], list[Point]]:
    """Return (key takeaways, technical deep dive): central sentences the TL;DR did not use."""
    scores = rank_sentences(sentences)
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    whole = [i for i in order if usable(sentences[i])] or order
    unused = [i for i in whole if i not in roles.used()]
    # Short articles have too few sentences for distinct parts: the TL;DR's may repeat here.
    spare = [i for i in whole if i not in unused and i not in roles.future]
    pool = unused if len(unused) >= 3 else unused + spare
    takeaways = sorted(pool[: 5 if len(pool) >= 7 else 3])
    taken = roles.used() | set(takeaways)
    technical = [i for i in unused if i not in taken and _TECHNICAL.search(sentences[i])][:2]
    return [_point(sentences[i]) for i in takeaways], [
        _point(sentences[i]) for i in sorted(technical)
    ]


def _point(sentence: str) -> Point:
    """Return a point whose text is the sentence and whose citation is its verbatim words."""
    quote = _clip(sentence, 600)
    return Point(text=shorten(_finish(sentence), 600), citations=[quote])
