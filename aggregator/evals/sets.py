"""Frozen evaluation sets: a folder of case files plus a manifest of their hashes (immutable)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SET_FORMAT = "aggregator-eval-set/1"
MANIFEST = "manifest.json"
CASES_DIR = "cases"
_CASE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


class EvalError(Exception):
    """A user-facing evaluation problem; the message is one line starting with `eval:`."""


@dataclass(frozen=True)
class Case:
    """One article to summarize, with optional labels (expected topics, notes)."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    published_at: str = ""
    labels: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""

    @property
    def expected_topics(self) -> list[str] | None:
        """Return the labelled topic slugs, or None when the case has no topic labels."""
        topics = self.labels.get("topics")
        return list(topics) if isinstance(topics, list) else None

    @property
    def expected_roles(self) -> dict[str, Any] | None:
        """Return the labelled sentence per card role (null: the article states none), or None."""
        roles = self.labels.get("roles")
        return dict(roles) if isinstance(roles, dict) else None

    @property
    def quotable_text(self) -> str:
        """Return what a citation may quote: title and text, as the summarizer grounds them."""
        return f"{self.title}\n\n{self.text}"

    def to_json(self) -> dict[str, Any]:
        """Return the case as stored in its file (without its own hash)."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published_at": self.published_at,
            "labels": self.labels,
            "text": self.text,
        }


@dataclass(frozen=True)
class EvalSet:
    """A verified set: its cases in manifest order, its taxonomy and its hash."""

    path: Path
    name: str
    sha256: str
    cases: list[Case]
    topics: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical JSON encoding used for every hash (sorted keys, UTF-8, no spaces)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sha256_hex(data: bytes) -> str:
    """Return the hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def set_hash(manifest: dict[str, Any]) -> str:
    """Return the set's hash: sha256 of its manifest without the `set_sha256` field."""
    return sha256_hex(canonical_bytes({k: v for k, v in manifest.items() if k != "set_sha256"}))


def case_bytes(case: Case) -> bytes:
    """Return the exact bytes of a case file (pretty JSON, so a reviewer can read a diff)."""
    return (json.dumps(case.to_json(), indent=2, ensure_ascii=False) + "\n").encode()


def write_set(
    out: Path,
    cases: Iterable[Case],
    *,
    name: str,
    topics: list[dict[str, Any]] | None = None,
    description: str = "",
    extra: dict[str, Any] | None = None,
) -> EvalSet:
    """Write a new set folder (refusing to touch an existing one) and return it verified."""
    if (out / MANIFEST).exists() or (out.exists() and any(out.iterdir())):
        raise EvalError(f"eval: {out} is not empty; a set is never overwritten (pick a new --out)")
    cases = list(cases)
    seen: set[str] = set()
    entries = []
    (out / CASES_DIR).mkdir(parents=True, exist_ok=True)
    for case in cases:
        if not _CASE_ID.match(case.id) or case.id in seen:
            raise EvalError(f"eval: case id {case.id!r} is invalid or repeated")
        seen.add(case.id)
        data = case_bytes(case)
        (out / CASES_DIR / f"{case.id}.json").write_bytes(data)
        entries.append(
            {"id": case.id, "file": f"{CASES_DIR}/{case.id}.json", "sha256": sha256_hex(data)}
        )
    manifest: dict[str, Any] = {
        "format": SET_FORMAT,
        "name": name,
        "description": description,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "topics": topics or [],
        **(extra or {}),
        "cases": entries,
    }
    manifest["set_sha256"] = set_hash(manifest)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out / MANIFEST).write_text(text, encoding="utf-8")
    return load_set(out)


def _read_manifest(path: Path) -> dict[str, Any]:
    """Return the manifest of a set folder; raise EvalError when missing or malformed."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"eval: {path} has no {MANIFEST}; not an evaluation set") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalError(f"eval: {path / MANIFEST} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SET_FORMAT:
        raise EvalError(f"eval: {path / MANIFEST} is not a {SET_FORMAT} manifest")
    if not isinstance(manifest.get("cases"), list) or not manifest["cases"]:
        raise EvalError(f"eval: {path / MANIFEST} lists no cases")
    return manifest


def _load_case(path: Path, entry: dict[str, Any]) -> Case:
    """Return one case after checking its file against the manifest's hash."""
    case_id = str(entry.get("id", ""))
    file = path / str(entry.get("file", ""))
    if not _CASE_ID.match(case_id) or file.resolve().parent != (path / CASES_DIR).resolve():
        raise EvalError(f"eval: {path} manifest has a malformed case entry {case_id!r}")
    try:
        data = file.read_bytes()
    except OSError:
        raise EvalError(f"eval: set {path} is missing case file {entry.get('file')}") from None
    if sha256_hex(data) != entry.get("sha256"):
        raise EvalError(f"eval: set {path} was modified: case {case_id} does not match its sha256")
    try:
        raw = json.loads(data.decode("utf-8"))
        case = Case(**raw, sha256=entry["sha256"])
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise EvalError(f"eval: set {path} case {case_id} is malformed: {exc}") from None
    if case.id != case_id or not case.text.strip():
        raise EvalError(f"eval: set {path} case {case_id} has a different id or no text")
    return case


def load_set(path: Path | str) -> EvalSet:
    """Return the verified set at `path`; refuse (EvalError, one line) if any hash differs."""
    path = Path(path)
    manifest = _read_manifest(path)
    if set_hash(manifest) != manifest.get("set_sha256"):
        raise EvalError(f"eval: set {path} was modified: manifest does not match its set_sha256")
    cases = [_load_case(path, entry) for entry in manifest["cases"]]
    listed = {Path(str(e["file"])).name for e in manifest["cases"]}
    extra = sorted(p.name for p in (path / CASES_DIR).glob("*") if p.name not in listed)
    if extra:
        raise EvalError(f"eval: set {path} was modified: unlisted case file {extra[0]}")
    if len({c.id for c in cases}) != len(cases):
        raise EvalError(f"eval: set {path} lists a case twice")
    return EvalSet(
        path=path,
        name=str(manifest.get("name", path.name)),
        sha256=manifest["set_sha256"],
        cases=cases,
        topics=list(manifest.get("topics") or []),
        description=str(manifest.get("description", "")),
    )


def bundled_set_path(name: str = "starter") -> Path:
    """Return the folder of a set shipped with the package (the starter set for tests and CI)."""
    return Path(__file__).resolve().parent / "sets" / name
