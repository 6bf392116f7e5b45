"""Evaluation configurations: an aggregator.toml plus an optional [eval] table (name, mode)."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aggregator.config import ConfigError, load_settings
from aggregator.evals.sets import EvalError
from aggregator.llm.prompts import PromptError, load_prompt
from aggregator.settings import Settings, Topic

Mode = Literal["llm", "extractive"]
EVAL_KEYS = {"name", "mode"}


@dataclass(frozen=True)
class EvalConfig:
    """One configuration to evaluate: its settings, how cards are made, and a display name."""

    name: str
    settings: Settings
    mode: Mode
    path: Path | None = None

    def with_topics(self, topics: list[dict[str, Any]]) -> EvalConfig:
        """Return this config using a set's taxonomy (its labels name those slugs)."""
        if not topics:
            return self
        settings = self.settings.model_copy(update={"topics": [Topic(**t) for t in topics]})
        return EvalConfig(self.name, settings, self.mode, self.path)

    def fingerprint(self) -> dict[str, Any]:
        """Return what decides this config's output (the cache key's ingredients, no secrets)."""
        llm = self.settings.llm
        taxonomy = [t.model_dump() for t in self.settings.topics]
        base = {"mode": self.mode, "topics": taxonomy}
        if self.mode == "extractive":
            return base
        try:
            prompt = load_prompt(llm.item_prompt)
        except PromptError as exc:
            raise EvalError(f"eval: config {self.name}: {exc}") from None
        return {
            **base, "model": llm.model, "base_url": llm.base_url or "",
            "prompt": prompt.ref, "prompt_sha256": prompt.sha256,
            "temperature": llm.temperature, "max_output_tokens": llm.max_output_tokens,
            "max_input_tokens": llm.max_input_tokens,
        }  # fmt: skip

    def key(self) -> str:
        """Return a short hash of the fingerprint."""
        data = json.dumps(self.fingerprint(), sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()[:16]


def _mode(requested: str, settings: Settings, where: str) -> Mode:
    """Return the card-making mode: auto picks llm when an endpoint is configured."""
    if requested not in ("auto", "llm", "extractive"):
        raise EvalError(f"eval: {where}: [eval] mode must be auto, llm or extractive")
    if requested == "auto":
        return "llm" if settings.llm.enabled else "extractive"
    if requested == "llm" and not settings.llm.enabled:
        raise EvalError(f"eval: {where}: mode llm needs OPENAI_BASE_URL or OPENAI_API_KEY")
    return requested  # type: ignore[return-value]


def load_eval_config(path: Path | str, env: Mapping[str, str] | None = None) -> EvalConfig:
    """Return the configuration in a TOML file; raise EvalError with one line on any problem."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"eval: config {path} not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EvalError(f"eval: config {path} is not readable TOML: {exc}") from None
    section = data.pop("eval", {})
    if not isinstance(section, dict) or set(section) - EVAL_KEYS:
        raise EvalError(f"eval: {path}: [eval] accepts only {', '.join(sorted(EVAL_KEYS))}")
    try:
        # The file's tables go in as overrides so the [eval] table never reaches Settings.
        settings = load_settings(path.with_name(path.name + ".absent"), env=env, overrides=data,
                                 required=False)  # fmt: skip
    except ConfigError as exc:
        raise EvalError(f"eval: {path}: {exc.problems[0]}") from None
    mode = _mode(str(section.get("mode", "auto")), settings, str(path))
    return EvalConfig(str(section.get("name") or path.stem), settings, mode, path)


def offline_config(name: str = "offline") -> EvalConfig:
    """Return the default configuration in extractive mode (no model, no network)."""
    return EvalConfig(name, load_settings(Path("/nonexistent/aggregator.toml"), env={},
                                          required=False), "extractive")  # fmt: skip
