"""Evaluation configurations, the offline card maker and the judge's prompt file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.evals.cards import extractive_card
from aggregator.evals.configs import load_eval_config, offline_config
from aggregator.evals.judge import JUDGE_PROMPT, JudgeScores
from aggregator.evals.metrics import score_card
from aggregator.evals.runner import measure
from aggregator.evals.sets import EvalError, bundled_set_path, load_set
from aggregator.llm.prompts import MissingVariables, load_prompt

ENV = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-test-0123456789"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "candidate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_configs_eval_table_names_the_config_and_picks_the_mode(tmp_path: Path) -> None:
    path = write(tmp_path, '[eval]\nname = "cheap"\n[llm]\nmodel = "gpt-4.1-nano"\n')
    config = load_eval_config(path, ENV)
    assert (config.name, config.mode, config.settings.llm.model) == ("cheap", "llm", "gpt-4.1-nano")
    assert load_eval_config(path, {}).mode == "extractive"  # no endpoint: offline


def test_configs_fingerprint_changes_with_model_and_never_holds_the_key(tmp_path: Path) -> None:
    one = load_eval_config(write(tmp_path, '[llm]\nmodel = "m1"\n'), ENV)
    two = load_eval_config(write(tmp_path, '[llm]\nmodel = "m2"\n'), ENV)
    assert one.key() != two.key()
    assert ENV["OPENAI_API_KEY"] not in str(one.fingerprint())
    assert one.fingerprint()["prompt"] == "summarize_item/v2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[eval]\ncolour = 'red'\n", r"\[eval\] accepts only mode, name"),
        ("[eval]\nmode = 'llm'\n", "mode llm needs OPENAI_BASE_URL"),
        ("[eval]\nmode = 'fast'\n", "mode must be auto, llm or extractive"),
        ("[llm]\ntemperature = 9\n", r"llm.temperature"),
        ("not toml [", "not readable TOML"),
    ],
)
def test_configs_problems_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(EvalError, match=message) as info:
        load_eval_config(write(tmp_path, text), {})
    assert "\n" not in str(info.value)


def test_configs_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="not found"):
        load_eval_config(tmp_path / "nope.toml", {})


def test_configs_extractive_maker_returns_published_card_and_draft() -> None:
    starter = load_set(bundled_set_path())
    config = offline_config().with_topics(starter.topics)
    case = starter.cases[0]
    card, meta = extractive_card(case, config)
    assert meta["mode"] == "extractive" and isinstance(meta["draft"], dict)
    assert score_card(card, case.text)["schema_valid"] == 1.0
    metrics = measure(case, card, meta)
    assert metrics["citation_rate"] == 1.0 and metrics["details"]["draft"]["citations"] > 0


def test_configs_judge_prompt_renders_and_names_missing_variables() -> None:
    prompt = load_prompt(JUDGE_PROMPT)
    system, user = prompt.render({"title": "T", "text": "Article body.", "card": "{}"})
    assert "faithfulness" in system and "Article body." in user and "$" not in user
    with pytest.raises(MissingVariables, match="card"):
        prompt.render({"title": "T", "text": "x"})


def test_configs_judge_scores_are_bounded() -> None:
    scores = JudgeScores(faithfulness=5, usefulness=1, actionability=3, rationale="r" * 900)
    assert len(scores.rationale) == 400
    with pytest.raises(ValueError):
        JudgeScores(faithfulness=6, usefulness=1, actionability=1, rationale="")


def test_configs_published_draft_is_the_one_grounding_turned_into_the_card() -> None:
    from aggregator.evals.cards import RecordingCache, _published_draft
    from aggregator.llm.schema import CardDraft
    from aggregator.summarize.grounding import ground_card

    text = "Title line\n\nThe cluster now runs at eighty percent utilisation all day long."
    quote = "runs at eighty percent utilisation"

    def draft(citation: str) -> dict:
        point = {"text": "A point.", "citations": [citation]}
        return {"title": "T", "hook": "H", "tldr": {"what_changed": "a", "why_it_matters": "b",
                "what_to_do_next": ""}, "key_takeaways": [point] * 3, "technical_deep_dive": [],
                "future_implications": [point], "topics": [], "entities": [],
                "timeliness": "time-bound"}  # fmt: skip

    recorder = RecordingCache()
    recorder.put("first", "m", draft(quote))
    recorder.put("second", "m", draft("an invented quotation that is nowhere"))
    assert recorder.get("first") is None  # evaluation calls always reach the model
    first = next(iter(recorder.drafts.values()))
    published = ground_card(CardDraft.model_validate(first), text, set()).card
    chosen = _published_draft(list(recorder.drafts.values()), published.model_dump(mode="json"),
                              text, set())  # fmt: skip
    assert chosen == first
