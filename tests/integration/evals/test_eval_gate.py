"""The evaluation gate: the bundled set in offline mode must keep the pinned quality floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aggregator.evals
from aggregator.evals.api import evaluate
from aggregator.evals.configs import offline_config
from aggregator.evals.sets import bundled_set_path, load_set

pytestmark = pytest.mark.integration
BASELINE = Path(aggregator.evals.__file__).with_name("baseline.json")


def test_eval_gate_offline_scores_keep_their_floors() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    starter = load_set(bundled_set_path(baseline["set"]))
    # A changed set needs its floors measured again: say so instead of comparing apples to pears.
    assert starter.sha256 == baseline["set_sha256"], "starter set changed: re-pin baseline.json"
    doc = evaluate(starter.path, [offline_config()])
    summary = doc["configs"][0]["summary"]
    assert summary["failed"] == 0
    means = {name: entry["mean"] for name, entry in summary["quality"].items()}
    drops = {name: (means[name], floor) for name, floor in baseline["floors"].items()
             if means[name] < floor - 1e-9}  # fmt: skip
    assert not drops, f"evaluation gate: scores below their floors (mean, floor): {drops}"


def test_eval_gate_roles_set_keeps_its_floors() -> None:
    pinned = json.loads(BASELINE.read_text(encoding="utf-8"))["roles"]
    roles = load_set(bundled_set_path(pinned["set"]))
    assert roles.sha256 == pinned["set_sha256"], "roles set changed: re-pin baseline.json"
    summary = evaluate(roles.path, [offline_config()])["configs"][0]["summary"]
    means = {name: entry["mean"] for name, entry in summary["quality"].items()}
    drops = {name: (means[name], floor) for name, floor in pinned["floors"].items()
             if means[name] is None or means[name] < floor - 1e-9}  # fmt: skip
    assert not drops, f"evaluation gate (roles): scores below their floors (mean, floor): {drops}"
