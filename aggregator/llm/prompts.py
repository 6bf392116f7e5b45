"""Prompts as versioned files under aggregator/prompts/: load one by name, render it with $variables."""

from __future__ import annotations

import hashlib
import string
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
SUFFIX = ".toml"


class PromptError(Exception):
    """A prompt file is missing, unreadable or malformed; the message is one line."""


class MissingVariables(PromptError):
    """Rendering a prompt lacked values for some $variables."""

    def __init__(self, prompt: str, names: list[str]):
        self.names = names
        super().__init__(f"prompts: {prompt} needs variables {', '.join(sorted(names))}")


class PromptOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, ge=16)


class Prompt(BaseModel):
    """One prompt version: system and user templates plus its identity (name, version, sha256)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    sha256: str
    description: str = ""
    system: str
    prompt: str
    defaults: dict[str, str] = Field(default_factory=dict)
    options: PromptOptions = Field(default_factory=PromptOptions)
    # How the model cites the article: re-typed quotes, or the numbers of sentences shown
    # to it as `[n] ...` (resolved back to the sentences' text by the engine).
    citations: Literal["quotes", "sentence_ids"] = "quotes"

    @property
    def ref(self) -> str:
        """Return the reference used in config, e.g. summarize_item/v1."""
        return f"{self.name}/{self.version}"

    def variables(self) -> set[str]:
        """Return the $variables the templates use."""
        names: set[str] = set()
        for template in (self.system, self.prompt):
            names.update(string.Template(template).get_identifiers())
        return names

    def render(self, values: dict[str, Any]) -> tuple[str, str]:
        """Return (system, user) with every $variable filled; raise MissingVariables otherwise.

        `$boundary`, the untrusted-data marker, is derived from the values unless given.

        Values are inserted once and never expanded again, so an article that
        contains `$text` cannot pull other variables into the prompt.
        """
        merged = {**self.defaults, **{k: str(v) for k, v in values.items()}}
        if "boundary" in self.variables() and "boundary" not in merged:
            merged["boundary"] = data_boundary(merged)
        missing = [name for name in self.variables() if name not in merged]
        if missing:
            raise MissingVariables(self.ref, missing)
        system = string.Template(self.system).substitute(merged)
        user = string.Template(self.prompt).substitute(merged)
        return system, user


def data_boundary(values: dict[str, str]) -> str:
    """Return a marker for the untrusted data block, derived from the data itself.

    The data cannot close its own block early: it would have to contain the
    hash of itself. Deriving it (not drawing it at random) keeps cache keys stable.
    """
    digest = hashlib.sha256()
    for key in sorted(values):
        digest.update(f"{key}\0{values[key]}\0".encode())
    return digest.hexdigest()[:16]


def prompt_path(ref: str, root: Path = PROMPTS_DIR) -> Path:
    """Return the file of a prompt reference such as summarize_item/v1."""
    name, _, version = ref.strip().partition("/")
    if not name or not version or "/" in version or ".." in ref:
        raise PromptError(f"prompts: {ref!r} is not a prompt reference (use name/version)")
    return root / name / f"{version}{SUFFIX}"


def load_prompt(ref: str, root: Path = PROMPTS_DIR) -> Prompt:
    """Return the prompt `name/version` read from its file, with the file's sha256."""
    path = prompt_path(ref, root)
    try:
        raw = path.read_bytes()
    except OSError:
        raise PromptError(f"prompts: no prompt file for {ref!r} (looked for {path})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PromptError(f"prompts: {path} is not valid UTF-8 TOML: {exc}") from None
    name, _, version = ref.partition("/")
    try:
        return Prompt(name=name, version=version, sha256=hashlib.sha256(raw).hexdigest(), **data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PromptError(f"prompts: {path}: {where}: {first['msg']}") from None


def list_prompts(root: Path = PROMPTS_DIR) -> list[str]:
    """Return every prompt reference found under the prompts folder, sorted."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in root.glob(f"*/*{SUFFIX}"))
