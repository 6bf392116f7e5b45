"""The extractive card's roles: one test per role, and every part a different sentence."""

from __future__ import annotations

from aggregator.llm.extractive import build_card
from aggregator.llm.roles import NO_NEXT_STEP, event_score, future_score, next_score, why_score

EVENT = "Halvard Labs released Tern-2 on Monday and cut its API price by 60% to $1.20 per million tokens."
WHY = "That makes long documents cheaper to process than on any rival model, because prices are per token."
NEXT = (
    "Tern-2 is available today in the Halvard console, and Tern-1 users can opt out of the switch."
)
FUTURE = "Halvard plans to release a smaller version next quarter, the company said."
SPEC = "Tern-2 has a context window of 400,000 tokens and runs on the same servers."
FILLER = "The announcement came at a developer event in the company's home city of Rensburg."
ARTICLE = "\n\n".join([FILLER, SPEC, EVENT, WHY, NEXT, FUTURE])
TITLE = "Halvard's new model is cheaper"


def card():
    return build_card(TITLE, ARTICLE)


def test_what_changed_is_the_event_sentence() -> None:
    assert card().tldr.what_changed == EVENT


def test_why_it_matters_is_a_consequence() -> None:
    assert card().tldr.why_it_matters == WHY
    assert why_score(WHY) >= 2 and why_score(FILLER) == 0


def test_what_to_do_next_is_an_action_or_availability() -> None:
    assert card().tldr.what_to_do_next == NEXT
    assert next_score(NEXT) >= 2 and next_score(SPEC) == 0
    assert next_score("The weights can be downloaded from the project's site.") >= 2
    # A count of past downloads is a fact about the story, not something the reader can do.
    assert next_score("The template has since been downloaded more than 9,000 times.") == 0


def test_what_to_do_next_says_so_when_the_source_has_none() -> None:
    text = "\n\n".join([FILLER, SPEC, EVENT, WHY, FUTURE])
    assert build_card(TITLE, text).tldr.what_to_do_next == NO_NEXT_STEP


def test_future_implications_are_forward_looking_not_specs() -> None:
    assert [p.text for p in card().future_implications] == [FUTURE]
    assert future_score(FUTURE) >= 2 and future_score(SPEC) == 0
    assert future_score("The testers could not tell the two versions apart in 2025.") == 0


def test_hook_is_a_short_whole_sentence_and_not_the_title() -> None:
    hook = card().hook
    assert hook != TITLE and len(hook) <= 160 and hook.endswith(".")
    assert hook in (SPEC, FILLER)  # the roles above took the other sentences


def test_every_part_is_a_different_sentence() -> None:
    c = card()
    parts = [c.hook, c.tldr.what_changed, c.tldr.why_it_matters, c.tldr.what_to_do_next]
    parts += [p.text for p in c.future_implications]
    assert len(set(parts)) == len(parts)


def test_what_changed_prefers_the_lead_event_over_a_later_reaction() -> None:
    lead = (
        "The Harbour Standards Office opened a consultation on a rule that would require "
        "model developers to publish a two-page disclosure card."
    )
    reaction = (
        "Open-source developers raised concerns that the 50,000-user threshold in the "
        "rule would catch small labs."
    )
    body = [lead, "The card has seven sections, from training data to known limits.",
            "Developers could mark a field as confidential.", reaction,
            "The office said the rule applies to models with many users."]  # fmt: skip
    assert (
        build_card("Office consults on disclosure cards", "\n\n".join(body)).tldr.what_changed
        == lead
    )


def test_delays_and_retirements_are_events_and_claims_are_next_steps() -> None:
    assert event_score("Brantwell has pushed back the launch of its chip by six months.") >= 1.5
    assert event_score("Tessel will retire its old API in June.") >= 1.5
    assert next_score("Savers who paid the fee can claim a refund until 31 August.") >= 2
    assert next_score("Customers should update to version 4.2 of the client.") >= 2


def test_what_changed_is_not_the_sentence_that_explains_the_consequence() -> None:
    event = "Brantwell has pushed back the launch of its second chip by six months."
    consequence = (
        "The delay leaves Brantwell selling only its old chip, which is a problem "
        "because its two largest customers said they would not buy more of it."
    )
    body = [event, "A fixed design went back to the factory last week.", consequence,
            "The company expects samples in September."]  # fmt: skip
    tldr = build_card("Brantwell delays its chip", "\n\n".join(body)).tldr
    assert tldr.what_changed == event and tldr.why_it_matters == consequence


def test_stakes_and_benefits_read_as_why_it_matters() -> None:
    assert why_score("The order is crucial for Brantwell, whose sales fell by a third.") >= 2
    assert why_score("The new format helps small teams avoid a second review.") >= 2
    assert why_score("The filing led to a two-week halt in sales.") >= 2
    # A plain description states no consequence.
    assert why_score("The card lists the training data in seven sections.") == 0


def test_hook_stands_alone() -> None:
    from aggregator.llm.roles import stands_alone

    # Each of these was a demo hook: it leans on the sentence before it, or asks for input.
    for leaning in (
        "On the other hand, compute is about the only property of a model you can measure.",
        "It claims a 40% cut in cooling energy compared with water loops.",
        "Feedback welcome, especially on which languages to add to the sample set.",
        "That is still good for a 34B model.",
        "The exception is anything that needs the newest memory stacks.",
    ):
        assert not stands_alone(leaning), leaning
    assert stands_alone("This week Halvard Labs cut its prices by 60%.")
    assert stands_alone("There is no public benchmark for long-context retrieval at 4-bit.")
    assert stands_alone(EVENT) and stands_alone(SPEC)
    # An eventful, central sentence that leans on the one before loses the hook to one that
    # does not.
    leans = "It cut the price of Tern-2 by 60% to $1.20 per million tokens on Monday."
    text = "\n\n".join([EVENT, leans, WHY, NEXT, FUTURE, SPEC])
    assert build_card(TITLE, text).hook != leans


def test_advice_spelled_out_is_a_next_step() -> None:
    # A demo card showed lawyers' advice as "why it matters" and said the source stated no
    # next step.
    advice = (
        "Practical advice from lawyers was consistent: restrict what support bots may promise, "
        "and keep logs of every conversation."
    )
    assert next_score(advice) >= 2
    # One weak cue is not enough: a committee recommending a bill is an event.
    assert next_score("The committee recommended the bill to the full house.") < 2
    assert next_score("It was recommended by the agency's Future Technologies Advisory Panel.") < 2
    text = "\n\n".join([EVENT, WHY, advice, SPEC, FILLER])
    assert build_card(TITLE, text).tldr.what_to_do_next == advice


def test_hook_looks_past_the_central_sentences_when_none_can_open_the_card() -> None:
    from aggregator.llm.roles import HOOK_CHARS, assign_roles

    # The six most central sentences are all too long for a hook or lean on another (a demo
    # card opened with '"But if your insurer won't cover you ..."'): a less central sentence
    # that fits and stands alone opens the card instead.
    long = [
        f"{EVENT[:-1]}, {part}, according to the company's filing and two people briefed on it."
        for part in (
            "a move analysts had expected since the spring",
            "which undercuts every rival listed on the public price boards",
            "after a quarter in which its revenue from the API grew by half",
            "while the older Tern-1 model keeps its price until the end of the year",
            "with discounts of a further 10% for customers who commit to a year of use",
        )
    ]
    leaning = "But buyers say the cut matters less than the new context window."
    plain = "Halvard Labs has 40 employees and is based in Rensburg."
    sentences = [*long, leaning, plain, FILLER]
    assert all(len(s) > HOOK_CHARS for s in long)
    roles = assign_roles(sentences, [0.9, 0.8, 0.7, 0.6, 0.5, 0.85, 0.2, 0.1])
    assert sentences[roles.hook] in (plain, FILLER)


def test_why_and_next_do_not_lean_on_a_sentence_the_card_does_not_show() -> None:
    # A demo card showed "It claims a 40% cut in cooling energy ..." under a what-changed about
    # another company's chip: "It" had meant the sentence before it in the source.
    leaning = "It makes long documents cheaper to process, because prices are per token."
    text = "\n\n".join([EVENT, FILLER, SPEC, leaning, FUTURE])
    assert why_score(leaning) >= 2
    assert build_card(TITLE, text).tldr.why_it_matters != leaning
    # Right after what changed, the sentence it leans on is the one the card shows first.
    text = "\n\n".join([EVENT, leaning, FILLER, SPEC, FUTURE])
    assert build_card(TITLE, text).tldr.why_it_matters == leaning
    # Going on from what changed reads right under it; a contrast or a pronoun does not.
    from aggregator.llm.roles import reads_on_its_own

    assert reads_on_its_own("That matters most for companies that send many long prompts.")
    assert reads_on_its_own("“This is the first appellate decision in the jurisdiction.”")
    assert reads_on_its_own("She will report to the chief executive, Jonas Berg.")
    assert not reads_on_its_own("On the other hand, compute is the only thing you can measure.")
    assert not reads_on_its_own("However, the older model keeps its price.")
    assert not reads_on_its_own("They are a cost problem, since every API charges by the token.")


def test_what_changed_does_not_open_on_a_contrast_or_a_pronoun() -> None:
    # A corpus card's TL;DR (and so its recap line) began "However, the other 28 people have
    # showed no signs or symptoms": what they were contrasted with was not on the card.
    contrast = "However, Halvard Labs cut its API price by 60% to $1.20 per million tokens today."
    text = "\n\n".join([contrast, SPEC, WHY, FILLER, FUTURE])
    assert build_card(TITLE, text).tldr.what_changed != contrast
    # With nothing else to offer, the article's own sentence still says what changed.
    assert build_card(TITLE, contrast).tldr.what_changed == contrast
