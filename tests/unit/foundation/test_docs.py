"""Every setting is documented: a setting that isn't is a bug (datasette's test_docs idea)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from aggregator.settings import RedditSource, RSSSource, Settings

DOC = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()


def documented_keys(section: str) -> set[str]:
    """Return the keys in the table under a `## [section]` heading."""
    match = re.search(rf"^## \[+{re.escape(section)}\]+\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    assert match, f"no section for [{section}] in docs/configuration.md"
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", match.group(1), re.M))


def settings_sections() -> list[tuple[str, type[BaseModel]]]:
    out = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.append((name, annotation))
    return out


@pytest.mark.parametrize(("section", "model"), settings_sections())
def test_docs_every_setting_documented(section: str, model: type[BaseModel]) -> None:
    keys = {name for name, field in model.model_fields.items() if not field.exclude}
    missing = keys - documented_keys(section)
    assert not missing, f"[{section}] keys missing from docs/configuration.md: {sorted(missing)}"


def test_docs_source_keys_documented() -> None:
    doc_keys = documented_keys("sources") | {"url"}
    for model in (RSSSource, RedditSource):
        missing = set(model.model_fields) - doc_keys
        assert not missing, f"{model.__name__} keys undocumented: {sorted(missing)}"


def test_docs_topic_keys_documented() -> None:
    from aggregator.settings import Topic

    assert set(Topic.model_fields) <= documented_keys("topics")
