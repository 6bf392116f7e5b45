"""group_documents on the failure modes issue 16 found on labelled news (original short texts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.dedupe import group_documents

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
