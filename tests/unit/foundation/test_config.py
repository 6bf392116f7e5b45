"""Configuration: defaults, environment overrides, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import ConfigError, load_settings
from aggregator.settings import parse_duration
from aggregator.starter import STARTER_CONFIG


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    return info.value.problems


def test_config_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml", env={}, required=False)
    assert settings.database.url == "sqlite:///aggregator.db"
    assert settings.fetch.allow_private_networks is False
    assert settings.llm.enabled is False
    assert settings.sources == []


def test_config_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "absent.toml", env={})
    assert info.value.problems[0].startswith("no configuration: ")
    assert "absent.toml does not exist" in info.value.problems[0]


def test_config_starter_is_valid(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, STARTER_CONFIG), env={})
    assert {s.kind for s in settings.sources} == {"rss", "reddit"}
    assert len(settings.topics) >= 3
    assert settings.schedule.collect_every == 300


def test_config_environment_overrides(tmp_path: Path) -> None:
    env = {
        "AGGREGATOR_DATABASE_URL": "postgresql://u@h/db",
        "OPENAI_API_KEY": "sk-test123456789",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "AGGREGATOR_LLM_MODEL": "local-model",
        "REDDIT_CLIENT_ID": "id",
        "REDDIT_CLIENT_SECRET": "secret",
    }
    settings = load_settings(write(tmp_path, "[database]\nurl = 'sqlite:///x.db'\n"), env=env)
    assert settings.database.url == "postgresql://u@h/db"
    assert settings.llm.model == "local-model"
    assert settings.llm.enabled and settings.reddit.has_credentials
    # Secrets never show in a dump or a repr.
    assert "sk-test123456789" not in settings.model_dump_json()
    assert "sk-test123456789" not in repr(settings)


def test_config_env_var_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[site]\ntitle = 'From env'\n")
    assert load_settings(None, env={"AGGREGATOR_CONFIG": str(path)}).site.title == "From env"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[[sources]]\nkind='rss'\nname='a'\nurl='ftp://x/feed'\n",
            "sources[0].url: not an http(s) URL",
        ),
        ("[site]\ntitel = 'typo'\n", "site.titel: unknown key"),
        ("[[sources]]\nkind='atom'\nname='a'\n", "sources[0]: kind must be 'rss' or 'reddit'"),
        (
            "[[sources]]\nkind='rss'\nurl='https://x.org/f'\n",
            "sources[0].name: required key is missing",
        ),
        ("[fetch]\ntimeout = 'soon'\n", "fetch.timeout:"),
        ("[schedule]\ncollect_every = 'often'\n", "schedule.collect_every: not a duration"),
        (
            "[database]\nurl = 'mysql://x'\n",
            "database.url: must start with sqlite:// or postgresql://",
        ),
        ("[[topics]]\nslug='Not A Slug'\nname='x'\n", "topics[0].slug: must be lower-case"),
        ("[site]\ntimezone = 'Mars/Olympus'\n", "site.timezone: unknown time zone"),
        (
            "[[sources]]\nkind='reddit'\nname='r'\nsubreddit='ok_sub'\nlisting='best'\n",
            "sources[0].listing:",
        ),
        ("[site\ntitle='x'\n", "not valid TOML"),
    ],
)
def test_config_error_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    lines = problems(tmp_path, text)
    assert any(expected in line for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_config_reports_every_problem_at_once(tmp_path: Path) -> None:
    text = "[site]\nbase_url='nope'\n[llm]\nmax_concurrency=0\n"
    lines = problems(tmp_path, text)
    assert len(lines) == 2
    assert lines[0].startswith("site.base_url") and lines[1].startswith("llm.max_concurrency")


def test_config_cross_checks_sources_and_topics(tmp_path: Path) -> None:
    text = (
        "[[topics]]\nslug='ml'\nname='ML'\n"
        "[[sources]]\nkind='rss'\nname='a'\nurl='https://a.org/f'\ntopics=['nope']\n"
        "[[sources]]\nkind='rss'\nname='a'\nurl='https://b.org/f'\n"
    )
    lines = problems(tmp_path, text)
    assert "sources[0].topics: unknown topic 'nope'" in lines
    assert "sources[1].name: duplicate source name 'a'" in lines


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("45s", 45), ("30m", 1800), ("1h", 3600), ("2d", 172800), ("1w", 604800), (90, 90)],
)
def test_parse_duration_units(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "-5m", 0, True])
def test_parse_duration_rejects_nonsense(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)
