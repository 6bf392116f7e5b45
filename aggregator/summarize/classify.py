"""What kind of piece an article is (news, how-to, opinion...) and whether it is time-bound.

Plain data in, plain data out: the signals are the article's own (a dateline, dated event
language, reporting verbs, explicit dates near the lead) against the structure of evergreen
material (how-to steps, second person, headings that ask or teach, first-person essays).
In LLM mode the model's own answer is one more, strong, vote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import get_args

from aggregator.llm.schema import Kind

KINDS: tuple[str, ...] = get_args(Kind)
TIMELINESS = ("time-bound", "evergreen")
# How much the LLM's answer weighs against the article's signals (each signal is ~1).
LLM_WEIGHT = 2.5
# Evidence for a news peg must beat evergreen structure by this much (news is the default
# only when something dates it: an undated essay is evergreen).
THRESHOLD = 0.0

_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
# "WASHINGTON (AP) —", "BERLIN --", "(Reuters) -", "NEW DELHI:", "Hong Kong (CNN Business)".
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Za-z.'’-]*,?\s*){1,4}(?:\([^)]{1,40}\)\s*)?(?:[—–]|--|-\s|:)"
    r"|^\s*\((?:AP|Reuters|AFP|CNN[^)]*|Bloomberg)\)",
)
_EVENT_TIME = re.compile(
    rf"\b(?:(?:on|late|early|last|this|next)\s+{_WEEKDAY}|{_WEEKDAY}(?:'s)?\s+(?:night|morning|"
    rf"afternoon|evening)|today|yesterday|tonight|this (?:week|morning|month)|last (?:week|night|"
    rf"month)|earlier this (?:week|month|year)|on {_WEEKDAY}|{_WEEKDAY}|{_MONTH} \d{{1,2}}\b|"
    rf"\d{{1,2}} {_MONTH}\b)",
)
_REPORTING = re.compile(
    r"\b(?:announced|unveiled|launched|released|confirmed|reported|revealed|said on|said in a "
    r"statement|told reporters|according to|arrested|charged|sentenced|killed|died|agreed|"
    r"signed|filed|won|lost|beat|voted|ruled|dropped|acquired|raised|plunged|fell|rose|"
    r"pleaded|testified|debuted|introduced|is set to|will launch|plans to|expected to|spotted|"
    r"set to|will (?:be|face|play|take)|has been|have been|announces|reveals|launches)\b",
)
_YEAR = re.compile(r"\b(?:in|of|since|for|by|until|this|next|last|early|late) (?:19|20)\d\d\b")
_SAID = re.compile(r"\b(?:said|says|told)\b")
_HOWTO_TITLE = re.compile(
    r"\b(?:how to|how do|how i|step[- ]by[- ]step|tutorial|guide to|beginner'?s? guide|tips|"
    r"ways to|recipe|checklist|cheat ?sheet|what you need to know about|best practices|"
    r"lessons|primer|introduction to|getting started)\b",
    re.I,
)
_EXPLAINER_TITLE = re.compile(
    r"^why\b|\b(?:what is|what are|why (?:do|does|is|are|you)|explained|explainer|understanding|"
    r"the basics|deep dive|a guide|guide)\b",
    re.I,
)
_REVIEW = re.compile(r"\b(?:review(?:ed)?|hands-on|tested by|verdict|rrp|pros and cons)\b", re.I)
_OPINION_URL = re.compile(
    r"/(?:opinion|opinions|commentisfree|columnists?|editorials?|views?|op-ed)/"
)
_OPINION_TEXT = re.compile(
    r"\b(?:I think|I believe|in my view|we must|we should|should not|it is time|it's time|"
    r"the truth is|make no mistake|let's be clear|I would argue)\b",
    re.I,
)
_ANNOUNCE = re.compile(
    r"\b(?:announces?|introduc(?:es|ing)|launch(?:es|ing)|unveils?|is now available|"
    r"now available|general availability|release notes|we(?:'re| are) (?:excited|thrilled|"
    r"pleased|happy) to|today we|names .{1,40} (?:CEO|chief))\b",
    re.I,
)
_ANALYSIS = re.compile(
    r"\b(?:analysis|benchmarks?|we (?:measured|compared|tested)|the data|lessons|reading group|"
    r"notes on|postmortem|post-mortem|case study|trade-?offs?|in practice|revisited|"
    r"a look at|deep dive)\b",
    re.I,
)
_DISCUSSION = re.compile(r"\b(?:open thread|ask (?:hn|me anything)|AMA|discussion thread)\b", re.I)
# A paragraph or sentence that starts with a bare verb is a how-to step ("Add the flour.").
_IMPERATIVE = re.compile(
    r"(?:^|\n|(?<=[.!?]) )(?:\d+[.)]\s*)?(?:Add|Use|Make|Try|Start|Avoid|Keep|Set|Install|Run|"
    r"Open|Click|Choose|Pick|Take|Put|Remove|Place|Mix|Stir|Bake|Cook|Pour|Check|Create|Write|"
    r"Find|Get|Go|Don't|Do not|Remember|Consider|Stop|Eat|Drink|Plan|Save|Build|Follow|Read|"
    r"Learn|Think|Focus|Ask|Be|Look|Let|Combine|Heat|Serve|Store|Prepare|Configure|Enable|"
    r"Select|Type|Download|Copy|Paste|Replace|Apply)\b(?! [A-Z][a-z]+ (?:said|says))"
)
# Subreddit post tags: [D]iscussion, [P]roject, [R]esearch, [N]ews.
_FLAIR = re.compile(r"^\s*\[([DPRN])\]", re.I)
_FLAIRS = {"D": "discussion", "P": "announcement", "R": "analysis", "N": "news"}
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|yourself)\b", re.I)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|my|me)\b")
_WORD = re.compile(r"\w+")


@dataclass
class Classification:
    """An article's kind and timeliness, the score behind them and the signals that counted."""

    kind: str
    timeliness: str
    score: float  # > THRESHOLD: time-bound
    signals: list[str] = field(default_factory=list)


def _rate(pattern: re.Pattern[str], text: str, words: int) -> float:
    """Return matches per 100 words."""
    return 100 * len(pattern.findall(text)) / max(words, 1)


def _time_signals(title: str, lead: str, text: str, words: int) -> list[tuple[str, float]]:
    """Return the signals that date an article (positive weights)."""
    found = []
    if _DATELINE.search(lead[:120]):
        found.append(("dateline", 2.0))
    dated = len(_EVENT_TIME.findall(lead))
    if dated:
        found.append(("dated lead", min(2.5, 1.0 + 0.5 * dated)))
    reports = len(_REPORTING.findall(lead)) + len(_REPORTING.findall(title))
    if reports:
        found.append(("reporting verbs", min(2.0, 0.7 * reports)))
    if _ANNOUNCE.search(title):
        found.append(("announcement title", 2.0))
    if _YEAR.search(lead) or _YEAR.search(title):
        found.append(("dated year", 0.7))
    said = _rate(_SAID, text, words)
    if said >= 0.4:
        found.append(("quotes sources", min(1.5, said)))
    return found


def _evergreen_signals(title: str, text: str, words: int) -> list[tuple[str, float]]:
    """Return the signals of evergreen structure (negative weights)."""
    found = []
    if _HOWTO_TITLE.search(title):
        found.append(("how-to title", -3.0))
    elif _EXPLAINER_TITLE.search(title):
        found.append(("explainer title", -2.0))
    steps = len(_IMPERATIVE.findall(text))
    if steps >= 3:
        found.append(("imperative steps", -min(3.0, 0.5 * steps)))
    you = _rate(_SECOND_PERSON, text, words)
    if you >= 1.0:
        found.append(("second person", -min(2.5, you)))
    me = _rate(_FIRST_PERSON, text, words)
    if me >= 1.5:
        found.append(("first-person essay", -min(2.0, me / 1.5)))
    if _REVIEW.search(title) or _REVIEW.search(text[:300]):
        found.append(("review", -1.5))
    if _ANALYSIS.search(title):
        found.append(("analysis title", -1.5))
    return found


def _kind(title: str, text: str, url: str, timebound: bool, method: str) -> str:
    """Return the kind of piece from its title, lead, URL and structure."""
    head = f"{title}\n{text[:400]}"
    flair = _FLAIR.match(title)
    if flair:  # a forum's own tag says what the post is
        return _FLAIRS[flair.group(1).upper()]
    if method.startswith("reddit-discussion") or _DISCUSSION.search(title):
        return "discussion"
    if _OPINION_URL.search(url.lower()) or "opinion" in title.lower():
        return "opinion"
    if _REVIEW.search(title) or _REVIEW.search(text[:300]):
        return "review"
    if _HOWTO_TITLE.search(title) or len(_IMPERATIVE.findall(text)) >= 5:
        return "howto"
    if _EXPLAINER_TITLE.search(title):
        return "explainer"
    if _ANNOUNCE.search(head) and not _DATELINE.search(text[:120]):
        return "announcement"
    if _ANALYSIS.search(title):
        return "analysis"
    if timebound:
        return "news"
    return "opinion" if len(_OPINION_TEXT.findall(text)) >= 2 else "analysis"


def classify(
    title: str,
    text: str,
    url: str = "",
    *,
    method: str = "",
    llm_timeliness: str | None = None,
    llm_kind: str | None = None,
) -> Classification:
    """Return the article's kind and timeliness from its own signals (and the LLM's answer)."""
    words = len(_WORD.findall(text)) or 1
    lead = " ".join(text.split()[:120])
    signals = _time_signals(title, lead, text, words) + _evergreen_signals(title, text, words)
    score = sum(weight for _, weight in signals)
    if llm_timeliness in TIMELINESS:
        vote = LLM_WEIGHT if llm_timeliness == "time-bound" else -LLM_WEIGHT
        signals.append((f"model says {llm_timeliness}", vote))
        score += vote
    timebound = score > THRESHOLD
    kind = llm_kind if llm_kind in KINDS else _kind(title, text, url, timebound, method)
    return Classification(
        kind=kind,
        timeliness="time-bound" if timebound else "evergreen",
        score=round(score, 2),
        signals=[name for name, _ in signals],
    )
