"""A recap's headline: the lead story and how many follow it, or the model's when it is about one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aggregator.llm.extractive import terms

if TYPE_CHECKING:
    from aggregator.recap.compose import StoryDigest


def recap_headline(week: str, stories: Sequence[StoryDigest]) -> str:
    """Return the offline headline: the lead story's title and how many others follow it."""
    year, number = week.split("-W")
    more = len(stories) - 1
    tail = f", and {more} more {'story' if more == 1 else 'stories'}" if more else ""
    head = f"Week {int(number)}, {year}: "
    room = 160 - len(head) - len(tail)
    lead = " ".join(stories[0].title.split())
    if len(lead) > room:
        lead = lead[: room - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"
    return head + lead + tail


def checked_headline(week: str, title: str, named: Sequence[StoryDigest]) -> str:
    """Return the model's headline if it is about a story the sections name, else the offline one.

    "About" means sharing at least two content words with that story's title or TL;DR, so
    a headline about a story the week does not have (or about nothing) is not published.
    """
    words = set(terms(title))
    for story in named:
        if len(words & set(terms(f"{story.title} {story.what_changed}"))) >= 2:
            return title
    return recap_headline(week, named) if named else f"The week in review ({week})"
