"""Claims checked, not only quotes: a point's numbers (with units) and names must be in its sources.

"60 percent" and "60%" are the same claim, as are "400,000 tokens" and "400000 tokens";
case does not matter. A number is compared with its unit when it has one, so "70%" is not
supported by a sentence saying "60%", and "$1.20" not by "1.20 euros".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aggregator.llm.extractive import find_entities
from aggregator.llm.segment import normalize

_UNITS = (
    r"percent|per cent|percentage points?|x|times|k|m|bn|million|billion|trillion|thousand|"
    r"tokens?|parameters?|params|gb|tb|mb|kb|ms|seconds?|minutes?|hours?|days?|weeks?|"
    r"months?|years?|gpus?|accelerators?|users?|customers?|employees?|people|mw|gw|kw|w|"
    r"watts?|megawatts?|euros?|dollars?|pounds?|usd|eur|gbp"
)
_NUMBER = re.compile(
    rf"(?P<cur>[$€£])?\s?(?P<num>\d+(?:[,\u202f ]\d{{3}})*(?:\.\d+)?)"
    rf"(?:\s?(?P<unit>%|(?:{_UNITS})\b))?",
    re.I,
)
_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "million": 1e6,
    "bn": 1e9,
    "billion": 1e9,
    "trillion": 1e12,
}
_UNIT_ALIASES = {"percent": "%", "per cent": "%", "times": "x", "k": "thousand",
                 "params": "parameters", "usd": "$", "dollars": "$", "dollar": "$",
                 "eur": "€", "euros": "€", "euro": "€", "gbp": "£", "pounds": "£",
                 "pound": "£"}  # fmt: skip


def _unit(unit: str | None, currency: str | None) -> str:
    """Return a unit in one canonical spelling (singular, aliases folded)."""
    if currency:
        return currency
    if not unit:
        return ""
    unit = " ".join(unit.lower().split())
    unit = _UNIT_ALIASES.get(unit, unit)
    return unit[:-1] if unit.endswith("s") and len(unit) > 3 else unit


def _name_form(text: str) -> str:
    """Return text folded for name lookups: case, hyphens and possessives do not matter."""
    folded = normalize(text).lower().replace("-", " ").replace("'s ", " ")
    return " ".join(folded.split())


def _show(value: str, unit: str) -> str:
    """Return a number as a reader writes it: 60%, $1.2, 400000 token."""
    if unit in ("$", "€", "£"):
        return unit + value
    return f"{value}{unit}" if unit in ("%", "x") else f"{value} {unit}".strip()


def numbers(text: str) -> set[tuple[str, str]]:
    """Return the (value, unit) pairs a text states; years and list numbers count, units folded."""
    found = set()
    for match in _NUMBER.finditer(normalize(text)):
        value = re.sub(r"[,\u202f ]", "", match.group("num"))
        unit = (match.group("unit") or "").lower()
        if unit in _SCALE:  # 400k, 400 thousand and 400,000 are one number
            value, unit = f"{float(value) * _SCALE[unit]:f}", ""
        value = value.rstrip("0").rstrip(".") if "." in value else value
        found.add((value, _unit(unit, match.group("cur"))))
    return found


def unsupported(claim: str, sources: Sequence[str]) -> list[str]:
    """Return the numbers and names in `claim` that none of `sources` states (empty: supported)."""
    source = " ".join(sources)
    stated = numbers(source)
    values = {value for value, _ in stated}
    missing = []
    for value, unit in sorted(numbers(claim)):
        # A unit the source leaves off ("60" for "60%") is not a contradiction; another is.
        if value not in values or (
            unit and (value, unit) not in stated and (value, "") not in stated
        ):
            missing.append(_show(value, unit))
    lowered = _name_form(source)
    # Each clause on its own: a capital after a colon or full stop starts it, not a name.
    clauses = [c.strip() for c in re.split(r"[.:;!?]\s+|\s[–—-]\s", normalize(claim)) if c.strip()]
    for name in find_entities(clauses, limit=20):
        form = _name_form(name)
        if form not in lowered and form.removesuffix("s") not in lowered:  # GPUs ~ GPU
            missing.append(name)
    return missing
