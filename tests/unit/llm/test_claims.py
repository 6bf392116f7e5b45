"""Numbers with units and names in a claim must be in its sources (normalised)."""

from __future__ import annotations

from aggregator.summarize.claims import numbers, unsupported

SOURCE = (
    "Halvard Labs cut prices by 60% to $1.20 per 400,000 tokens, said chief executive Ines Varga."
)


def test_numbers_fold_units_separators_and_scales() -> None:
    found = numbers("Prices fell 60 percent to $1.20 per 400k tokens, 2.5x faster, in 2026.")
    assert {("60", "%"), ("1.2", "$"), ("400000", ""), ("2.5", "x"), ("2026", "")} <= found
    assert ("400000", "token") in numbers("400,000 tokens")


def test_supported_claims_pass_whatever_their_spelling() -> None:
    assert unsupported("Halvard cut prices by 60 percent.", [SOURCE]) == []
    assert unsupported("Prices are now $1.20 per 400k tokens.", [SOURCE]) == []
    assert unsupported("Chief executive Ines Varga announced it.", [SOURCE]) == []


def test_wrong_number_unit_or_name_is_reported() -> None:
    assert unsupported("Halvard cut prices by 70%.", [SOURCE]) == ["70%"]
    assert unsupported("Prices are now €1.20.", [SOURCE]) == ["€1.2"]
    # The former officeholder named where the article names the current one (kite-public #414).
    assert unsupported("Chief executive Tomas Brandt announced it.", [SOURCE]) == ["Tomas Brandt"]
