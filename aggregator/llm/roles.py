"""The extractive card's roles: which sentence is the hook, what changed, why it matters, what next.

Every rule is a cue list and a score; docs/extractive.md explains them. Each role takes a
different sentence, so the three TL;DR parts and the hook never repeat one another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aggregator.llm.segment import balanced, is_whole, starts_whole

NO_NEXT_STEP = "The source states no next step."
NO_REASON = "The source does not say why it matters."
TOO_SHORT_HOOK = "Only a sentence or two of this story could be read."
HOOK_CHARS = 160

_EVENT = re.compile(
    r"\b(releas\w*|launch\w*|announc\w*|introduc\w*|unveil\w*|ship(?:s|ped|ping)?|"
    r"publish\w*|open[- ]sourc\w*|cut(?:s|ting)?|rais\w*(?! (?:concerns?|questions?|doubts?|objections?|alarms?|eyebrows))|lower\w*|drop(?:s|ped)?|"
    r"increas\w*|reduc\w*|acquir\w*|buy(?:s|ing)?|bought|sign\w*|approv\w*|ban(?:s|ned)?|"
    r"rul(?:ed|es|ing)|fin(?:ed|es)|su(?:ed|es|ing)|replac\w*|add(?:s|ed)?|remov\w*|"
    r"block\w*|fil(?:ed|es)|propos\w*|passe[sd]|adopt\w*|won|wins|lost|fail\w*|"
    r"halv\w*|doubl\w*|priced?|tapes? out|taped out|went down|outage|broke|reach(?:ed|es)|"
    r"hits?|open(?:s|ed)|join(?:s|ed)|replaced|found|shows?|showed|retir\w*|delay\w*|"
    r"postpon\w*|push(?:es|ed)? back|switch(?:es|ed)? off|shut(?:s|ting)? down|halt\w*|"
    r"suspend\w*|pause[sd]|appoint\w*|hired?|named|recall\w*)\b",
    re.I,
)
_NUMBER = re.compile(r"\d")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z0-9]+(?:[- ][A-Z0-9][\w-]*)*")
# Strong cues count 2, weak ones 1: a role needs at least 2 (one strong or two weak cues).
_WHY_STRONG = re.compile(
    r"\b(because|means?|meaning|so that|allows?|lets|enabl\w*|cheaper|faster|for the first time|"
    r"the first|risks?|costs?|matters?|important|impact\w*|as a result|which makes|therefore|"
    r"saves?|threat\w*|could mean|in effect|the upshot|the catch|helps?|helped|benefit\w*|"
    r"advantage\w*|crucial|critical|essential|leads? to|led to|result(?:s|ed)? in|prevent\w*|"
    r"protect\w*|danger\w*|concerns?|worr(?:y|ies|ied))\b",
    re.I,
)
_WHY_WEAK = re.compile(
    r"\b(so|than|slower|better|worse|instead of|compared|unlike|largest|biggest|lowest|"
    r"highest|problem|harder|easier|signal\w*|without|significant\w*|major|key|only|"
    r"avoid\w*|more than|less than|fewer than)\b",
    re.I,
)
# "download" is a reader's action; "has been downloaded 9,000 times" is a past count, not one.
_NEXT_STRONG = re.compile(
    r"\b((?:is|are|now|generally|becomes?|will be) available|available (?:now|today|from|to|on|"
    r"via|through|in)|download(?:s|ing|able)?|can be downloaded|sign(?:ing)? up|apply by|applications? (?:open|close)|"
    r"deadline|register\w*|opt[- ]out|opt[- ]in|install\w*|submit\w*|comments? (?:are |is )?due|"
    r"consultation (?:closes|runs|is open|ends)|waitlist|request access|in (?:public )?preview|"
    r"starting (?:on|from|today)|from today|you should|readers can|developers can|"
    r"users can|customers can|re-?run your|update to|upgrade to|switch to|try it|"
    r"can (?:claim|apply|request|ask for|register|join|sign up|download)|"
    r"(?:should|must) (?:update|upgrade|migrate|switch|rotate|patch|check))\b",
    re.I,
)
_NEXT_WEAK = re.compile(
    r"\b(migrat\w*|pin\w*|before (?:\w+ )?\d{1,2}|by (?:\w+ )?\d{1,2}(?:st|nd|rd|th)?\b|"
    r"until (?:\w+ )?\d{1,2}(?:st|nd|rd|th)?\b|refund\w*|side by side|"
    r"you can|watch for|worth (?:testing|reading|trying)|test\w* (?:it |them )?on your|"
    r"advice|recommend\w*|"
    # advice spelled out as orders after a colon: "...: restrict what bots may promise"
    r": (?:restrict|keep|check|review|audit|route|update|upgrade|test|ask|read|use|avoid|"
    r"make sure|ensure|limit|log|document|disable|enable|rotate|patch|back up))\b",
    re.I,
)
_FUTURE_STRONG = re.compile(
    r"\b(will|plans?|planned|planning|expects?|expected|roadmap|later this|upcoming|intends?|"
    r"aims? to|is set to|are set to|forecast\w*|next (?:year|month|week|quarter|step|release|"
    r"version|generation)|by 20\d\d|in 20[3-9]\d|from 20\d\d)\b",
    re.I,
)
_FUTURE_WEAK = re.compile(
    r"\b(could(?! not| have)|might|may(?! have)|likely|soon|predict\w*)\b", re.I
)
_PAST_CONTEXT = re.compile(r"\b(predicts? will|said it would|would have|could not)\b", re.I)
_CONDITIONAL_SPEC = re.compile(r"\b(supports?|has|have|is|are|runs?|uses?|measures?)\b", re.I)


def event_score(sentence: str) -> float:
    """Return how much a sentence reads as the event: an action verb, numbers, a named subject."""
    score = 1.5 * bool(_EVENT.search(sentence))
    score += 0.5 * min(2, len(_NUMBER.findall(sentence)) // 2 + bool(_NUMBER.search(sentence)))
    score += 0.5 * bool(_NAME.search(sentence))
    # A quotation is someone's view of the event, not the event.
    return score - 1.5 * sentence.startswith(('"', "“", "'", "‘"))


def _cues(strong: re.Pattern[str], weak: re.Pattern[str], sentence: str) -> float:
    """Return 2 per distinct strong cue plus 1 per distinct weak cue in the sentence."""
    found_strong = {m.group(1).lower() for m in strong.finditer(sentence)}
    found_weak = {m.group(1).lower() for m in weak.finditer(sentence)}
    return 2.0 * len(found_strong) + len(found_weak)


def why_score(sentence: str) -> float:
    """Return how much a sentence reads as a consequence or a comparison (0 when not at all)."""
    return _cues(_WHY_STRONG, _WHY_WEAK, sentence)


def next_score(sentence: str) -> float:
    """Return how much a sentence tells the reader what they can do (0 when it does not)."""
    return _cues(_NEXT_STRONG, _NEXT_WEAK, sentence)


def future_score(sentence: str) -> float:
    """Return how much a sentence is about what will or may happen (0 for a present fact)."""
    if _PAST_CONTEXT.search(sentence):
        return 0.0
    cues = {m.group(1).lower() for m in _FUTURE_STRONG.finditer(sentence)}
    # "will" alone in a sentence describing what a thing is or has is a spec, not a forecast.
    if cues == {"will"} and _CONDITIONAL_SPEC.search(sentence) and _NUMBER.search(sentence):
        return 1.0
    return _cues(_FUTURE_STRONG, _FUTURE_WEAK, sentence)


@dataclass
class Roles:
    """The index of the sentence chosen for each role (None when none fits)."""

    hook: int | None = None
    what_changed: int | None = None
    why_it_matters: int | None = None
    what_to_do_next: int | None = None
    future: list[int] = field(default_factory=list)

    def used(self) -> set[int]:
        """Return every sentence index a role took."""
        single = (self.hook, self.what_changed, self.why_it_matters, self.what_to_do_next)
        return {i for i in single if i is not None} | set(self.future)


def _best(candidates: Sequence[int], taken: set[int], key: object, need: float = 0.0) -> int | None:
    """Return the untaken candidate with the highest key above `need`, or None."""
    scored = [(key(i), -n, i) for n, i in enumerate(candidates) if i not in taken]  # type: ignore[operator]
    scored = [s for s in scored if s[0] > need]
    return max(scored)[2] if scored else None


def usable(sentence: str) -> bool:
    """Return True for a sentence a card may show as is: whole at both ends, quotes closed."""
    return is_whole(sentence) and starts_whole(sentence) and balanced(sentence)


# How a sentence can open by leaning on the one before it. Some openers dangle wherever the
# sentence before is not shown: a contrast ("On the other hand, ...", "However, ...") or a
# thing named only by a pronoun ("It claims a 40% cut ..." had meant another company than the
# one in a card's what-changed). Others go on from it ("This is the first ...", "That matters
# most for ...", "She will report to ..."), which reads right under a card's what-changed.
_DANGLING = (
    r"on the other hand|but|however|yet|still|instead|otherwise|meanwhile|"
    r"it|its|it's|they|their|them|another|others|both|neither|such|"
    r"the (?:exception|latter|former|rest|others)"
)
_GOING_ON = (
    r"and|also|so|then|he|she|his|her|here|the same|"
    r"(?:this|that|these|those)(?! (?:week|month|year|morning|afternoon|evening|quarter|spring|"
    r"summer|autumn|fall|winter)\b)"
)
_OPENER = r"^[\"“‘']?(?:{})\b"
# A hook is read first and alone: a sentence that leans on the one before it either way is
# not one. A request to the reader ("Feedback welcome") is neither a hook nor a reason.
_LEANS = re.compile(_OPENER.format(f"{_DANGLING}|{_GOING_ON}"), re.I)
_DANGLES = re.compile(_OPENER.format(_DANGLING), re.I)
_REQUEST = re.compile(
    r"^(?:feedback|thanks|thank you|edit|update|please|comments|any (?:thoughts|ideas|tips)|"
    r"let me know|happy to)\b",
    re.I,
)


def is_request(sentence: str) -> bool:
    """Return True for a sentence that asks the reader for something (feedback, tips)."""
    return bool(_REQUEST.match(sentence.strip()))


def stands_alone(sentence: str) -> bool:
    """Return False for a sentence that leans on an earlier one or asks the reader for input."""
    return not (_LEANS.match(sentence.strip()) or is_request(sentence))


def reads_on_its_own(sentence: str) -> bool:
    """Return True for a sentence that may stand under a card's what-changed (no contrast
    with or pronoun for a sentence the card does not show, no request to the reader)."""
    return not (_DANGLES.match(sentence.strip()) or is_request(sentence))


def fits_hook(sentence: str) -> bool:
    """Return True for a sentence that can open a card as is: short enough, standing alone."""
    return len(sentence) <= HOOK_CHARS and stands_alone(sentence)


def _hook_score(sentence: str, rank: float) -> float:
    """Return a hook candidate's score: an event, central, short, standing alone; one that
    needs cutting or leans on an earlier sentence loses."""
    too_long = 3.0 if len(sentence) > HOOK_CHARS else 0.0
    leans = 0.0 if stands_alone(sentence) else 3.0
    return event_score(sentence) + rank - len(sentence) / HOOK_CHARS - too_long - leans


def assign_roles(sentences: Sequence[str], centrality: Sequence[float]) -> Roles:
    """Return which sentence plays which role; centrality breaks ties and ranks the rest."""
    order = sorted(range(len(sentences)), key=lambda i: -centrality[i])
    good = [i for i in order if usable(sentences[i])] or order
    top = good[: max(6, len(good) // 3)]
    rank = {i: 1 - n / max(1, len(good)) for n, i in enumerate(good)}
    roles, taken = Roles(), set()

    def take(index: int | None) -> int | None:
        if index is not None:
            taken.add(index)
        return index

    # A news story's first sentence usually is the event (inverted pyramid): it gets a nudge;
    # a sentence that spells out consequences ("which is a problem because") is the why.
    lead = min(good, default=None)

    def changed(i: int) -> float:
        consequence = 0.5 * (why_score(sentences[i]) >= 4)
        return event_score(sentences[i]) + rank[i] + 0.75 * (i == lead) - consequence

    # What changed opens the TL;DR and is a recap's line: it must not begin by contrasting
    # with, or naming by a pronoun, a sentence nobody sees there ("However, the other 28
    # people showed no symptoms."), unless the article offers nothing else.
    on_its_own = {i for i in good if reads_on_its_own(sentences[i])}
    opening = [i for i in good if i in on_its_own] or good
    roles.what_changed = take(_best([i for i in top if i in opening], taken, changed))
    if roles.what_changed is None:
        roles.what_changed = take(_best(opening, taken, lambda i: rank[i], -1))
    # Forward-looking sentences go to the implications before the other roles can take them.
    future = [i for i in good if i not in taken and future_score(sentences[i]) >= 2]
    future.sort(key=lambda i: -(future_score(sentences[i]) + rank[i]))
    roles.future = sorted(future[:2])
    taken.update(roles.future)
    # The TL;DR shows its parts one after another under what changed: a part that contrasts
    # with, or names by a pronoun, the sentence before it ("On the other hand, ...", "It
    # claims ...") would read as if about what changed. It may only follow that very sentence.
    after = roles.what_changed
    clear = [i for i in good if i in on_its_own or (after is not None and i == after + 1)]
    roles.what_to_do_next = take(
        _best(clear, taken, lambda i: next_score(sentences[i]) + rank[i] / 2, 2.0)
    )
    roles.why_it_matters = take(
        _best(clear, taken, lambda i: why_score(sentences[i]) + rank[i], 2.0)
    )

    # The hook says what happened in the fewest words: short event sentences win. It chooses
    # before a why-it-matters without a cue, which in a post of a few sentences would
    # otherwise take the one sentence that could open the card.
    def hook_score(i: int) -> float:
        return _hook_score(sentences[i], rank[i])

    hook = _best(top, taken, hook_score, -99)
    if hook is None or not fits_hook(sentences[hook]):
        # Every central sentence is too long or leans on another: a less central one that
        # fits and stands alone opens the card better than a cut or a dangling one.
        rest = [i for i in good if i not in top and fits_hook(sentences[i])]
        wider = _best(rest, taken, hook_score, -99)
        if wider is not None and (hook is None or hook_score(wider) > hook_score(hook)):
            hook = wider
    roles.hook = take(hook)
    if roles.why_it_matters is None:
        # Without a cue, the most central sentence left stands in (not a request, not one
        # that leans on another).
        roles.why_it_matters = take(_best(clear, taken, lambda i: rank[i], -1))
    return roles
