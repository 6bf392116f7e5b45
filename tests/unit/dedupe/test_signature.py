"""Signatures stay the same values as the code changes (stored ones must stay comparable)."""

from __future__ import annotations

import hashlib
import json
import random
import re

from aggregator.dedupe.signature import _NAME, _ascii_words, signature

TITLE = "Harbour council approves the Kestrel Bay ferry, first crossing in May"
PARAGRAPHS = [
    "The council of Port Ellery voted 7-2 on Tuesday to fund a ferry between the old quay and "
    "Kestrel Bay, said Mayor Ines Aldana.",
    "Tickets will cost 3.50 euros; the crossing takes 25 minutes, and the first boat, the Marta "
    "Quill, sails on 4 May.",
    "Opponents, led by councillor Tomas Reyes, said the harbour dredging budget was spent twice.",
    'Fishermen at Kestrel Bay welcomed the plan: "It brings people back to the quay," said one.',
    "The ferry company, Ellery Sound Lines, will hire twelve crew over the winter.",
    "A review of the timetable is due after the summer season, the council said.",
]


def test_a_signature_keeps_its_recorded_values() -> None:
    # Recorded from the code of 2026-12-07 (01f716b) before its speed-ups: MinHash values,
    # keywords, weights and part masks of a long text must not move.
    sig = signature(TITLE, "\n\n".join(PARAGRAPHS * 3))
    assert len(sig.keywords) == 60 and len(sig.parts) == 61
    data = json.dumps(sig.to_json(), sort_keys=True).encode()
    assert hashlib.sha256(data).hexdigest() == (
        "e4de89af05a613e821c9e2dba3eee7d3925b4a491a12f550069af23b0e76095f"
    )


def test_ascii_words_are_the_regex_words() -> None:
    # str.split also splits on \x1c-\x1f; every non-word character becomes a space first.
    rnd = random.Random(5)
    alphabet = "aZ9_ \n\t\r\x0b\x0c\x1c\x1d\x1e\x1f,.;:'\"-()"
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60)))
        assert _ascii_words(text) == re.findall(r"\w+", text, re.ASCII), repr(text)


def test_names_are_capitalised_runs_after_a_lower_case_word_or_comma() -> None:
    text = "Yesterday Ines Aldana met Tomas Reyes, Marta Quill; Ellery Sound. Port Ellery said X"
    # "Yesterday" starts the text, "Port" a sentence: not names (the word after is).
    assert _NAME.findall(text) == [
        "Ines Aldana",
        "Tomas Reyes",
        "Marta Quill",
        "Ellery Sound",
        "Ellery",
    ]
