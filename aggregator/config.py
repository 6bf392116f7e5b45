"""Reading the configuration: aggregator.toml, the environment and overrides -> Settings."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aggregator.settings import Settings

DEFAULT_CONFIG_PATH = Path("aggregator.toml")


class ConfigError(Exception):
    """A configuration problem; `problems` holds one line per mistake."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class MissingConfig(ConfigError):
    """No configuration file where one was needed; the message says how to get one."""

    def __init__(self, path: Path, named_by: str | None):
        shown = f"./{path}" if path == DEFAULT_CONFIG_PATH else str(path)
        if named_by:
            hint = f"named by {named_by}; 'aggregator init DIR' writes one"
        else:
            hint = "run 'aggregator init' or pass --config"
        self.message = f"no configuration: {shown} does not exist ({hint})"
        super().__init__([self.message])


def _format_loc(loc: tuple[Any, ...]) -> str:
    """Return a pydantic error location as `sources[2].url`, skipping union tags."""
    out = ""
    previous: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in ("rss", "reddit"):
            pass  # the discriminated-union branch name, not a key the user wrote
        else:
            out += ("." if out else "") + str(part)
        previous = part
    return out or "config"


def _format_error(error: Mapping[str, Any]) -> list[str]:
    """Return one line per problem in a pydantic error entry."""
    loc = _format_loc(tuple(error.get("loc", ())))
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid"))
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "union_tag_invalid":
        message = "kind must be 'rss' or 'reddit'"
    elif kind == "union_tag_not_found":
        message = "missing 'kind' (rss or reddit)"
    message = message.removeprefix("Value error, ")
    lines = message.split("\n")
    if loc == "config" and all(re.match(r"^[\w\[\]\.]+: ", line) for line in lines):
        return lines  # cross-checks already name their key
    return [f"{loc}: {line}" for line in lines]


def _apply_environment(data: dict[str, Any], env: Mapping[str, str]) -> None:
    """Fold the documented environment variables into the raw settings dict."""

    def put(section: str, key: str, value: str | None) -> None:
        if value:
            data.setdefault(section, {})
            if isinstance(data[section], dict):
                data[section][key] = value

    put("database", "url", env.get("AGGREGATOR_DATABASE_URL"))
    put("llm", "model", env.get("AGGREGATOR_LLM_MODEL"))
    put("llm", "base_url", env.get("OPENAI_BASE_URL"))
    put("llm", "api_key", env.get("OPENAI_API_KEY"))
    put("reddit", "client_id", env.get("REDDIT_CLIENT_ID"))
    put("reddit", "client_secret", env.get("REDDIT_CLIENT_SECRET"))
    put("reddit", "user_agent", env.get("REDDIT_USER_AGENT"))
    put("email", "username", env.get("SMTP_USERNAME"))
    put("email", "password", env.get("SMTP_PASSWORD"))
    put("email", "secret_key", env.get("AGGREGATOR_SECRET_KEY"))


def resolve_config_path(path: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """Return the config path: the explicit one, else $AGGREGATOR_CONFIG, else ./aggregator.toml."""
    env = os.environ if env is None else env
    if path:
        return Path(path)
    if env.get("AGGREGATOR_CONFIG"):
        return Path(env["AGGREGATOR_CONFIG"])
    return DEFAULT_CONFIG_PATH


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    required: bool | None = None,
) -> Settings:
    """Return validated settings from a TOML file, the environment and overrides.

    A missing file is an error (MissingConfig) when it was named explicitly (argument or
    $AGGREGATOR_CONFIG) or `required` is true; otherwise an absent ./aggregator.toml gives
    the defaults. Raises ConfigError with one line per problem.
    """
    env = os.environ if env is None else env
    config_path = resolve_config_path(path, env)
    if required is None:
        required = bool(path or env.get("AGGREGATOR_CONFIG"))
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{config_path}: not valid TOML: {exc}"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{config_path}: cannot read: {exc}"]) from None
    elif required:
        named_by = (
            "--config" if path else "AGGREGATOR_CONFIG" if env.get("AGGREGATOR_CONFIG") else None
        )
        raise MissingConfig(config_path, named_by)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    _apply_environment(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [line for error in exc.errors() for line in _format_error(error)]
        raise ConfigError(problems) from None
    settings.config_path = config_path if config_path.exists() else None
    return settings


def base_dir(settings: Settings) -> Path:
    """Return the folder relative paths resolve against: the config file's, else the cwd."""
    return settings.config_path.parent if settings.config_path else Path.cwd()


def output_dir(settings: Settings) -> Path:
    """Return the absolute site output directory."""
    out = settings.site.output_dir
    return out if out.is_absolute() else base_dir(settings) / out
