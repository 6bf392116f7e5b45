"""Frozen sets: written once, verified on every load, refused when anything changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aggregator.evals.sets import Case, EvalError, bundled_set_path, load_set, write_set

CASES = [
    Case(id="alpha", title="Alpha", text="First article text.", labels={"topics": ["a"]}),
    Case(id="beta", title="Beta", text="Second article — with “quotes”.", source="Feed"),
]


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    write_set(tmp_path / "set", CASES, name="small", topics=[{"slug": "a", "name": "A"}])
    return tmp_path / "set"


def test_sets_round_trip_keeps_cases_labels_and_order(small_set: Path) -> None:
    loaded = load_set(small_set)
    assert [c.id for c in loaded.cases] == ["alpha", "beta"]
    assert loaded.cases[1].text == CASES[1].text
    assert loaded.cases[0].expected_topics == ["a"] and loaded.cases[1].expected_topics is None
    assert loaded.topics == [{"slug": "a", "name": "A"}]
    assert len(loaded.sha256) == 64 and all(len(c.sha256) == 64 for c in loaded.cases)


def test_sets_refuse_an_edited_case(small_set: Path) -> None:
    path = small_set / "cases" / "alpha.json"
    path.write_text(path.read_text().replace("First", "Frist"))
    with pytest.raises(EvalError, match=r"case alpha does not match its sha256"):
        load_set(small_set)


def test_sets_refuse_an_edited_manifest(small_set: Path) -> None:
    manifest = json.loads((small_set / "manifest.json").read_text())
    manifest["cases"] = manifest["cases"][:1]  # dropping a case changes the set
    (small_set / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EvalError, match=r"manifest does not match its set_sha256"):
        load_set(small_set)


def test_sets_refuse_added_or_missing_case_files(small_set: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(small_set, other)
    (small_set / "cases" / "gamma.json").write_text("{}")
    with pytest.raises(EvalError, match=r"unlisted case file gamma.json"):
        load_set(small_set)
    (other / "cases" / "beta.json").unlink()
    with pytest.raises(EvalError, match=r"missing case file cases/beta.json"):
        load_set(other)


def test_sets_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(EvalError) as info:
        load_set(tmp_path)
    assert str(info.value).startswith("eval: ") and "\n" not in str(info.value)


def test_sets_are_never_overwritten(small_set: Path) -> None:
    with pytest.raises(EvalError, match="never overwritten"):
        write_set(small_set, CASES, name="again")


def test_sets_reject_bad_case_ids(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="invalid or repeated"):
        write_set(tmp_path / "s", [Case(id="../x", title="t", text="x")], name="bad")
    with pytest.raises(EvalError, match="invalid or repeated"):
        write_set(tmp_path / "t", [CASES[0], CASES[0]], name="dup")


def test_sets_bundled_starter_set_is_intact_and_labelled() -> None:
    starter = load_set(bundled_set_path())
    slugs = {t["slug"] for t in starter.topics}
    assert 8 <= len(starter.cases) <= 24
    for case in starter.cases:
        assert 200 <= len(case.text.split()) <= 500, case.id
        assert case.expected_topics is not None and set(case.expected_topics) <= slugs, case.id
    # Every case but the "none fits" ones is filed under at least one topic.
    assert sum(1 for case in starter.cases if not case.expected_topics) <= 2
