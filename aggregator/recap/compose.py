"""Week -> recap: pick and rank the week's stories, write the extractive recap, check an LLM one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from aggregator.clock import iso_week
from aggregator.llm.roles import NO_NEXT_STEP
from aggregator.llm.schema import clip_text
from aggregator.recap.headline import checked_headline, recap_headline

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_REF = re.compile(r"^\s*s?(\d+)\s*$", re.I)
MAX_SECTIONS = 6
MAX_WATCH = 5
MAX_TOP_LINKS = 5


class RecapError(Exception):
    """A recap that cannot be made as asked; the message is one line starting with `recap:`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecapLine(_Strict):
    """One story's line in an extractive section: its TL;DR sentence, credited to its source."""

    story_id: int
    title: Annotated[str, clip_text(200)]
    source: Annotated[str, clip_text(120)] = ""
    text: Annotated[str, clip_text(400)]


class RecapSection(_Strict):
    """One theme of the week: a synthesis (LLM) or one line per story (extractive), and its stories."""

    title: Annotated[str, clip_text(120)]
    synthesis: Annotated[str, clip_text(2000)] = ""
    story_ids: list[int]
    # Extractive sections tell each story in its own words, credited, one line each: glued
    # together, first-person sentences from different outlets read as one confused voice.
    items: list[RecapLine] = Field(default_factory=list)


class TopLink(_Strict):
    """One of the week's must-read stories with its original address."""

    story_id: int
    title: Annotated[str, clip_text(200)]
    url: str | None = None


class RecapDoc(_Strict):
    """The recap JSON stored in `recaps.recap` and rendered by the site and the email."""

    week: str
    title: Annotated[str, clip_text(160)]
    intro: Annotated[str, clip_text(1500)]
    sections: list[RecapSection] = Field(default_factory=list)
    what_to_watch: list[Annotated[str, clip_text(400)]] = Field(default_factory=list)
    top_links: list[TopLink] = Field(default_factory=list)
    mode: Literal["llm", "extractive"] = "extractive"
    quiet: bool = False

    def story_ids(self) -> list[int]:
        """Return every story the recap names, sections first, each once."""
        ids = [i for s in self.sections for i in s.story_ids] + [t.story_id for t in self.top_links]
        return list(dict.fromkeys(ids))


class SectionDraft(_Strict):
    """A theme as the model writes it: stories referred to as "s12"."""

    title: Annotated[str, clip_text(120)]
    synthesis: Annotated[str, clip_text(2000)]
    story_ids: list[str]


class RecapDraft(_Strict):
    """What the model must return for a week (checked by `validate_draft` before storing)."""

    title: Annotated[str, clip_text(160)]
    intro: Annotated[str, clip_text(1500)]
    sections: list[SectionDraft]
    what_to_watch: list[str]
    top_links: list[str]


@dataclass(frozen=True)
class StoryDigest:
    """What the recap needs to know about one story of the week (from its row and card)."""

    id: int
    title: str
    hook: str = ""
    why: str = ""
    next_step: str = ""
    url: str | None = None
    source: str = ""
    topics: tuple[tuple[str, float], ...] = ()
    score: int = 0
    comments: int = 0
    source_count: int = 1
    published_at: datetime | None = None
    what_changed: str = ""
    item_count: int = 1  # items that joined the story: how much it grew during the week

    @property
    def main_topic(self) -> str | None:
        """Return the slug of the story's most confident topic, or None."""
        if not self.topics:
            return None
        return sorted(self.topics, key=lambda t: (-t[1], t[0]))[0][0]


@dataclass
class DraftCheck:
    """A validated recap and the references the model made that were not the week's stories."""

    recap: RecapDoc
    dropped: list[str] = field(default_factory=list)


def parse_week(week: str) -> str:
    """Return the ISO week string if it is valid (e.g. 2026-W47); raise RecapError otherwise."""
    match = _WEEK.match(week.strip()) if isinstance(week, str) else None
    if match:
        try:
            date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return week.strip()
        except ValueError:
            pass
    raise RecapError(f"recap: week must be an ISO week such as 2026-W47, got {week!r}")


def last_complete_week(now: datetime, timezone: str) -> str:
    """Return the last ISO week that has fully ended at `now` in the given time zone."""
    local = now.astimezone(ZoneInfo(timezone)).date()
    return iso_week(local - timedelta(days=local.isoweekday()))


def check_story_ids(ids: Iterable[object], allowed: Iterable[int]) -> tuple[list[int], list[str]]:
    """Return (known story ids in order, each once; the references that named no such story)."""
    known = set(allowed)
    kept: list[int] = []
    dropped: list[str] = []
    for ref in ids:
        match = _REF.match(str(ref)) if isinstance(ref, str | int) else None
        story_id = int(match[1]) if match else None
        if story_id is None or story_id not in known:
            dropped.append(str(ref))
        elif story_id not in kept:
            kept.append(story_id)
    return kept, dropped


def quiet_recap(week: str) -> RecapDoc:
    """Return the recap of a week without stories (the site shows a "quiet week" page)."""
    return RecapDoc(
        week=week,
        title=f"A quiet week ({week})",
        intro="Nothing from the watched sources made it into a story this week.",
        mode="extractive",
        quiet=True,
    )


def _group_by_topic(stories: Sequence[StoryDigest]) -> list[tuple[str | None, list[StoryDigest]]]:
    """Return the stories grouped by main topic, groups ordered by their best story."""
    groups: dict[str | None, list[StoryDigest]] = {}
    for story in stories:
        groups.setdefault(story.main_topic, []).append(story)
    # Untopical stories go last: a reader scans the named themes first.
    ordered = sorted(groups.items(), key=lambda kv: kv[0] is None)
    if len(ordered) > MAX_SECTIONS:
        rest = [s for _, group in ordered[MAX_SECTIONS - 1 :] for s in group]
        ordered = [*ordered[: MAX_SECTIONS - 1], ("__more__", rest)]
    return ordered


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?…" else text + "."


def _tldr_line(story: StoryDigest) -> RecapLine:
    """Return a story's line in a section: its TL;DR's what-changed (or just its title), credited."""
    text = _sentence(story.what_changed)
    return RecapLine(story_id=story.id, title=story.title, source=story.source, text=text)


def _watch(story: StoryDigest) -> str | None:
    """Return a story's next step for "What to watch" under its title, or None when it has none.

    The step alone ("The consultation runs for 60 days.") does not say which story it is about.
    """
    step = " ".join(story.next_step.split())
    if not step or step == NO_NEXT_STEP:
        return None
    title = " ".join(story.title.split()).rstrip(" .:")
    if not title:
        return _sentence(step)
    return f"{title}{' —' if title[-1] in '?!' else ':'} {_sentence(step)}"


def extractive_recap(
    week: str, stories: Sequence[StoryDigest], topic_names: Mapping[str, str]
) -> RecapDoc:
    """Return the offline recap: ranked stories grouped by topic, each told by its own TL;DR."""
    if not stories:
        return quiet_recap(week)
    sections = []
    for slug, group in _group_by_topic(stories):
        if slug == "__more__":
            title = "More this week"
        else:
            title = topic_names.get(slug, slug) if slug else "Other news"
        sections.append(RecapSection(title=title, items=[_tldr_line(s) for s in group],
                                     story_ids=[s.id for s in group]))  # fmt: skip
    sources = len({s.source for s in stories if s.source})
    return RecapDoc(
        week=week,
        title=recap_headline(week, stories),
        intro=(
            f"{len(stories)} {'story' if len(stories) == 1 else 'stories'} from {week}"
            + (f" and {sources} {'source' if sources == 1 else 'sources'}" if sources else "")
            + ", grouped by topic. They are ranked by how many independent sources covered"
            " them, how much they grew during the week, engagement where a source reports it,"
            " and how recent they are. This recap is extractive: each line is a story's own"
            " TL;DR, credited to its source; no language model wrote it."
        ),
        sections=sections,
        what_to_watch=[w for w in (_watch(s) for s in stories) if w][:3],
        top_links=[_link(s) for s in stories[:MAX_TOP_LINKS]],
        mode="extractive",
    )


def _link(story: StoryDigest) -> TopLink:
    return TopLink(story_id=story.id, title=story.title, url=story.url)


def validate_draft(week: str, draft: RecapDraft, stories: Sequence[StoryDigest]) -> DraftCheck:
    """Return the model's recap with every story id checked against the week's stories.

    Unknown references are dropped (and reported); a section left without stories
    goes too. Raises RecapError when no section names any of the week's stories.
    """
    by_id = {s.id: s for s in stories}
    dropped: list[str] = []
    sections = []
    for section in draft.sections:
        ids, bad = check_story_ids(section.story_ids, by_id)
        dropped += bad
        if ids and section.synthesis:
            sections.append(RecapSection(title=section.title or "This week",
                                         synthesis=section.synthesis, story_ids=ids))  # fmt: skip
    if not sections:
        raise RecapError("recap: the model's recap names none of the week's stories")
    link_ids, bad = check_story_ids(draft.top_links, by_id)
    dropped += bad
    if not link_ids:  # the model gave none: the best-ranked stories the sections use
        named = {i for s in sections for i in s.story_ids}
        link_ids = [s.id for s in stories if s.id in named]
    watch = [_sentence(w) for w in draft.what_to_watch if w.strip()]
    recap = RecapDoc(
        week=week,
        title=checked_headline(
            week, draft.title, [t for t in stories if any(t.id in s.story_ids for s in sections)]
        ),
        intro=draft.intro,
        sections=sections[:MAX_SECTIONS],
        what_to_watch=watch[:MAX_WATCH],
        top_links=[_link(by_id[i]) for i in link_ids[:MAX_TOP_LINKS]],
        mode="llm",
    )
    return DraftCheck(recap, dropped)


def _flat(text: str, limit: int = 400) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stories_block(stories: Sequence[StoryDigest]) -> str:
    """Return the prompt's list of stories, one blank-line-separated block per story, best first."""
    blocks = []
    for s in stories:
        lines = [f"id: s{s.id}", f"title: {_flat(s.title, 200)}"]
        if s.hook:
            lines.append(f"hook: {_flat(s.hook)}")
        if s.what_changed:
            lines.append(f"what changed: {_flat(s.what_changed)}")
        if s.why:
            lines.append(f"why it matters: {_flat(s.why)}")
        if s.topics:
            lines.append("topics: " + ", ".join(slug for slug, _ in s.topics))
        lines.append(f"coverage: {s.source_count} source(s), {s.item_count} item(s), "
                     f"score {s.score}, {s.comments} comments")  # fmt: skip
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def halve_stories(variables: dict[str, str]) -> dict[str, str]:
    """Return the prompt variables keeping the better half of the stories (input too long)."""
    blocks = variables["stories"].split("\n\n")
    return {**variables, "stories": "\n\n".join(blocks[: max(1, len(blocks) // 2)])}
