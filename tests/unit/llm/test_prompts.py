"""Prompt files: every version loads, renders with fixture values, and names missing variables."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aggregator.llm.prompts import (
    PROMPTS_DIR,
    MissingVariables,
    PromptError,
    list_prompts,
    load_prompt,
)

# Fixture values for every variable any prompt may use.
VALUES = {
    "title": "Lumen Labs cuts prices",
    "text": "Lumen Labs cut the price of its hosted model by 60 percent.",
    "topics": "  - inference-economics: Inference economics",
    "week": "2026-W47",
    "stories": "s1: Lumen Labs cuts prices\n  hook: cheaper tokens",
}


def fixture_values(names) -> dict[str, str]:
    """Return a value for every variable (a marked placeholder for ones added later)."""
    return {n: VALUES.get(n, f"fixture value for {n}") for n in names if n != "boundary"}


def test_prompts_every_file_is_listed():
    refs = list_prompts()
    assert "summarize_item/v1" in refs
    assert "weekly_recap/v1" in refs


@pytest.mark.parametrize("ref", list_prompts())
def test_prompt_renders_with_fixture_values(ref: str):
    prompt = load_prompt(ref)
    values = fixture_values(prompt.variables())
    system, user = prompt.render(values)
    assert "$" not in system.replace("$0", "") and "${" not in user
    for name, value in values.items():
        assert value in system + user, f"{ref}: ${name} not rendered"


@pytest.mark.parametrize("ref", list_prompts())
def test_prompt_missing_variable_fails(ref: str):
    prompt = load_prompt(ref)
    needed = sorted(prompt.variables() - {"boundary"})
    values = fixture_values(needed[1:])
    with pytest.raises(MissingVariables) as info:
        prompt.render(values)
    assert info.value.names == [needed[0]]
    assert needed[0] in str(info.value)


def test_load_prompt_identity_is_name_version_and_file_sha256():
    prompt = load_prompt("summarize_item/v1")
    raw = (PROMPTS_DIR / "summarize_item" / "v1.toml").read_bytes()
    assert (prompt.name, prompt.version) == ("summarize_item", "v1")
    assert prompt.sha256 == hashlib.sha256(raw).hexdigest()


def test_load_prompt_unknown_version_is_a_one_line_error():
    with pytest.raises(PromptError, match=r"^prompts: no prompt file for 'summarize_item/v99'"):
        load_prompt("summarize_item/v99")


@pytest.mark.parametrize("ref", ["summarize_item", "../etc/v1", ""])
def test_load_prompt_rejects_bad_references(ref: str):
    with pytest.raises(PromptError, match=r"^prompts: "):
        load_prompt(ref)


def test_load_prompt_rejects_unknown_keys(tmp_path: Path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "v1.toml").write_text('system = "s"\nprompt = "p"\nmodel_name = "x"\n')
    with pytest.raises(PromptError, match="model_name"):
        load_prompt("demo/v1", root=tmp_path)


def test_prompt_render_does_not_expand_variables_inside_values():
    prompt = load_prompt("summarize_item/v1")
    _, user = prompt.render({**VALUES, "text": "costs $title and ${topics} today"})
    assert "costs $title and ${topics} today" in user


def test_prompt_boundary_is_derived_from_the_data():
    prompt = load_prompt("summarize_item/v1")
    first = prompt.render(VALUES)
    again = prompt.render(dict(VALUES))
    other = prompt.render({**VALUES, "text": "Something else entirely."})
    assert first == again
    marker = first[1].splitlines()[0]
    assert marker.startswith("ARTICLE ") and marker not in other[1]
