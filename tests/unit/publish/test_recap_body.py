"""Recap pages render what the recap stage writes: syntheses, the stories each section names."""

from __future__ import annotations

from aggregator.publish.recaps import recap_body

RECAP = {
    "title": "Week 46",
    "intro": "A busy week.",
    "sections": [
        {"title": "Chips", "synthesis": "Two tape-outs and a price cut.", "story_ids": [2, 99, 1]},
        {"title": "", "synthesis": ""},
    ],
    "what_to_watch": ["Pricing next month"],
    "top_links": [{"story_id": 1, "title": "ignored", "url": "http://x"}, {"story_id": 42}],
}
LINKS = {1: "items/2026/11/one/index.html", 2: "items/2026/11/two/index.html"}
TITLES = {1: "Story one", 2: "Story two"}


def test_recap_body_renders_synthesis_and_story_links() -> None:
    body = recap_body(RECAP, LINKS, TITLES)
    (section,) = body["sections"]  # the empty section is dropped
    assert section["paragraphs"] == ["Two tape-outs and a price cut."]
    # Stories in the order the recap names them; an id the site does not know is skipped.
    assert [(p["title"], p["href"]) for p in section["points"]] == [
        ("Story two", LINKS[2]),
        ("Story one", LINKS[1]),
    ]
    assert [p["title"] for p in body["top"]] == ["Story one"]
    assert body["watch"] == ["Pricing next month"]


def test_recap_body_without_titles_names_no_stories() -> None:
    body = recap_body(RECAP, LINKS)
    assert body["sections"][0]["points"] == [] and body["top"] == []


def test_recap_body_tells_an_extractive_section_one_credited_line_per_story() -> None:
    recap = {
        "sections": [{
            "title": "Chips", "synthesis": "", "story_ids": [2, 1],
            "items": [{"story_id": 2, "title": "Story two", "source": "Ferrite Weekly",
                       "text": "We retrofitted four halls."}],
        }],
    }  # fmt: skip
    (section,) = recap_body(recap, LINKS, TITLES)["sections"]
    assert section["paragraphs"] == []
    # Story two is told once, by its line and credited; story one, without a line, by its title.
    assert section["points"] == [
        {"title": "Story two", "text": "We retrofitted four halls.", "href": LINKS[2],
         "source": "Ferrite Weekly"},
        {"title": "Story one", "text": "", "href": LINKS[1], "source": ""},
    ]  # fmt: skip
