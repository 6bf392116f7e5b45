"""group_documents on the failure modes issue 16 found on labelled news (original short texts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.dedupe import group_documents
from aggregator.dedupe.index import StoryIndex, signature

# Unrelated news around the cases below: the index learns which words are common from them.
BACKGROUND = [
    (
        "Harbor council keeps the night ferry",
        "Port Elwen councillors voted on Tuesday to keep the late ferry crossing for three more "
        "years. Nurses and fish-plant workers who finish after midnight spoke at the meeting, "
        "and the operator said the subsidy covers fuel and two crew members.",
    ),
    (
        "Drought cuts the Valmora olive harvest by half",
        "Farmers across the Valmora plain expect to pick half the usual olives this autumn "
        "after the driest summer in forty years. The growers' cooperative said oil prices in "
        "local shops would rise and asked the region for help with irrigation.",
    ),
    (
        "Tessaro wins the mountain stage in the rain",
        "Lia Tessaro attacked on the last climb and won the ninth stage alone by forty seconds. "
        "The race leader crashed on a wet descent but kept the yellow jersey, his team said, "
        "and will start tomorrow's time trial.",
    ),
    (
        "City library opens a tool-lending room",
        "The central library in Brennick now lends drills, ladders and sewing machines to "
        "members. Staff said two hundred people signed up in the first week and the most "
        "borrowed item was a carpet cleaner.",
    ),
    (
        "Stratus Cloud lowers GPU rental prices",
        "Stratus Cloud cut the hourly price of its rented graphics processors by a third, "
        "saying new data centres in Oregon and Finland had added capacity. Start-ups training "
        "models welcomed the change; rivals are expected to follow.",
    ),
    (
        "Mid-sized earthquake shakes coastal towns",
        "A magnitude 5.1 earthquake struck off the Dravik coast before dawn, rattling windows "
        "in three towns. The geological service reported no damage or injuries and said "
        "small aftershocks could follow for several days.",
    ),
]

OBITUARIES = [
    (
        "Marisol Quent, the 1950s calendar pin-up, dies at 85",
        "Marisol Quent, whose calendar photographs made her one of the most copied pin-up "
        "models of the 1950s, died on Thursday in a hospice in Santa Ilena. She was 85. Her "
        "agent said the cause was pneumonia. Quent left modelling abruptly in 1958, became a "
        "Sunday-school teacher, and for decades refused interviews about her years in front "
        "of the camera.",
    ),
    (
        "Remembering Marisol Quent",
        "Fans left flowers outside the studio in Harlow Street where Marisol Quent posed for "
        "her famous leopard-print series. The former pin-up, who walked away from fame at the "
        "height of her career, died this week aged 85 after a short illness. Designers still "
        "borrow her bangs and her polka-dot swimsuits, and a biography of Quent is due next "
        "spring.",
    ),
]

ROBBERIES = [
    (
        "Armed robbers dressed as women raid Ostrava Row jeweller",
        "Armed robbers, some of them dressed as women in wigs and long coats, raided a "
        "jewellery shop on Ostrava Row on Friday afternoon and escaped with watches and "
        "diamond rings worth about four million euros. Police said the gang threatened staff "
        "with handguns and fled in a waiting car.",
    ),
    (
        "Four thieves, two in disguise, take millions in gems",
        "A gang of four thieves, two of them disguised as women, stole diamonds and luxury "
        "watches from an Ostrava Row jeweller on Friday. Detectives said the robbers carried "
        "pistols, ordered staff to the floor and got away in under three minutes; the haul is "
        "valued at roughly four million euros.",
    ),
]

PATCHES = [
    (
        "Lumenway issues emergency browser patch",
        "Lumenway released an emergency update for its Lumen browser to close a security hole "
        "that lets a booby-trapped web page run code on the reader's computer. The company "
        "said attackers were already exploiting the flaw and urged users to install the "
        "patch at once.",
        datetime(2019, 3, 12, 18, 0, tzinfo=UTC),
    ),
    (
        "Lumenway rushes out a fix for a Lumen browser flaw",
        "Lumenway shipped an out-of-cycle security update for the Lumen browser after "
        "attackers exploited a flaw that let a malicious web page take over a computer. The "
        "company urged users to install the patch immediately.",
        datetime(2024, 6, 3, 9, 0, tzinfo=UTC),
    ),
]


def _docs(cases: list[tuple], dated: bool = False) -> list[dict]:
    docs = [
        {"id": f"bg{n}", "title": t, "text": x, "published_at": None, "source": "wire"}
        for n, (t, x) in enumerate(BACKGROUND)
    ]
    for n, case in enumerate(cases):
        title, text = case[0], case[1]
        when = case[2] if dated else None
        docs.append({"id": f"c{n}", "title": title, "text": text, "published_at": when})
    return docs


@pytest.mark.parametrize("cases", [OBITUARIES, ROBBERIES], ids=["obituaries", "robbers"])
def test_group_documents_joins_rewrites_of_one_event(cases: list[tuple]) -> None:
    stories = group_documents(_docs(cases))
    assert stories["c0"] == stories["c1"] == "c0"
    # The background stays apart: each founded its own story.
    assert all(stories[f"bg{n}"] == f"bg{n}" for n in range(len(BACKGROUND)))


@pytest.mark.parametrize("order", [1, -1])
def test_group_documents_joins_in_either_order(order: int) -> None:
    docs = _docs(ROBBERIES + OBITUARIES)
    shuffled = docs[:6] + docs[6:][::order]
    stories = group_documents(shuffled)
    assert stories["c0"] == stories["c1"] and stories["c2"] == stories["c3"]
    assert stories["c0"] != stories["c2"]


def test_group_documents_keeps_sibling_events_years_apart_when_dated() -> None:
    undated = group_documents(_docs(PATCHES))
    assert undated["c0"] == undated["c1"]  # by content alone they read as one event
    dated = group_documents(_docs(PATCHES, dated=True))
    assert dated["c0"] == "c0" and dated["c1"] == "c1"


def test_group_documents_reads_iso_dates_and_rejects_other_values() -> None:
    docs = _docs(PATCHES, dated=True)
    for doc in docs[-2:]:
        doc["published_at"] = doc["published_at"].isoformat().replace("+00:00", "Z")
    stories = group_documents(docs)
    assert stories["c0"] != stories["c1"]
    with pytest.raises(ValueError, match=r"^dedupe: published_at 12 "):
        group_documents([{"id": 1, "title": "t", "text": "x", "published_at": 12}])


# A weekly newsletter whose third section is about the Korvath turbine recall, beside two
# reports of that recall: the newsletter covers five topics and must found its own story.
NEWSLETTER = (
    "Gridline Notes #41: battery prices, the Korvath turbine recall, and a new tariff",
    "Hello again. This issue: why battery prices stopped falling, what the Korvath turbine "
    "recall means for wind farms, a tariff change in the north, a hiring note and a reading "
    "list. About five minutes.\n\n"
    "1. Battery prices are flat\n\n"
    "Cell prices for grid storage have not moved since the spring, according to four "
    "integrators I asked. Lithium carbonate is cheap again, but transformer and inverter "
    "queues add months, and buyers now pay for delivery dates rather than for cells. Expect "
    "contracts to quote penalties for late connection more than the price per kilowatt hour.\n\n"
    "2. Hiring is slower\n\n"
    "Three developers told me they froze hiring for permitting staff until the new planning "
    "rules are published. Consultants who do environmental surveys are booked until autumn, "
    "which pushes the first shovels on several solar parks into next year.\n\n"
    "3. The Korvath recall\n\n"
    "Korvath Energy recalled its K9 offshore turbine blades after cracks were found near the "
    "root of blades installed at the Selwyn Bank farm. The company says 212 blades are "
    "affected and replacement will take eighteen months. Operators of the Selwyn Bank farm "
    "lose output in the meantime; insurers will argue about who pays.\n\n"
    "4. A northern tariff\n\n"
    "The regulator approved a lower network tariff for generators in the far north, meant to "
    "pull new projects closer to the coast. Traders think the change is too small to matter "
    "before the cables planned for the end of the decade.\n\n"
    "5. Reading list\n\n"
    "A long essay on heat pumps in old houses, a dataset of curtailment by region, and a "
    "podcast with a grid operator about frequency response. Reply with tips; I read them "
    "all.",
)
RECALL = [
    (
        "Korvath Energy recalls K9 turbine blades after cracks at Selwyn Bank",
        "Korvath Energy recalled 212 of its K9 offshore turbine blades on Monday after "
        "inspectors found cracks near the blade root at the Selwyn Bank wind farm. The "
        "manufacturer said replacing the blades will take eighteen months and that turbines "
        "with affected blades will run at reduced speed until then. Selwyn Bank's operator "
        "said output would fall by about a fifth.",
    ),
    (
        "Cracked blades force Korvath recall",
        "Cracks at the root of K9 blades at the Selwyn Bank offshore wind farm have forced "
        "Korvath Energy to recall 212 blades, the company said. Replacement will stretch over "
        "eighteen months; the farm's operator expects a fifth less output and is talking to "
        "insurers about the loss.",
    ),
]


@pytest.mark.parametrize("first", [True, False], ids=["newsletter-first", "newsletter-last"])
def test_group_documents_keeps_a_newsletter_apart_from_one_of_its_topics(first: bool) -> None:
    cases = [NEWSLETTER, *RECALL] if first else [*RECALL, NEWSLETTER]
    stories = group_documents(_docs(cases))
    newsletter, reports = ("c0", ["c1", "c2"]) if first else ("c2", ["c0", "c1"])
    assert stories[reports[0]] == stories[reports[1]]  # the two reports are one story
    assert stories[newsletter] == newsletter  # the newsletter founds its own
    assert stories[reports[0]] != newsletter


def test_newsletter_matches_one_report_only_through_one_section() -> None:
    # The premise: by cosine alone the newsletter would join the recall story.
    index = StoryIndex()
    sigs = [signature(title, text) for title, text in [*BACKGROUND, NEWSLETTER, *RECALL]]
    index.prime(sigs)
    newsletter, report = sigs[len(BACKGROUND)], sigs[len(BACKGROUND) + 1]
    assert index.cosine(newsletter, report) >= index.event_threshold
    assert index.partial(newsletter, index._weighted(report)[0])
    assert not index.partial(report, index._weighted(newsletter)[0])
    # A long single-event report (cut into parts too) is not partial against its rewrite.
    long_report = signature(RECALL[0][0], "\n\n".join([RECALL[0][1], RECALL[1][1]] * 3))
    index.prime([long_report])
    assert long_report.parts and not index.partial(long_report, index._weighted(report)[0])
