"""Run configurations over a frozen set: make each card (cached per input), then score it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregator.evals.cards import CardMaker, LLMCardMaker, default_maker
from aggregator.evals.configs import EvalConfig
from aggregator.evals.judge import Judge
from aggregator.evals.metrics import score_card
from aggregator.evals.sets import Case, EvalSet
from aggregator.log import event
from aggregator.progress import Progress, quiet_progress

log = logging.getLogger("aggregator.evals")
Made = tuple[dict[str, Any] | None, dict[str, Any]]
COST_FIELDS = ("tokens_in", "tokens_out", "cost_usd", "latency_ms")


@dataclass
class CaseResult:
    """One configuration's card for one case, how it was made, and its metrics."""

    case_id: str
    card: dict[str, Any] | None
    meta: dict[str, Any]
    metrics: dict[str, Any]
    cached: bool = False

    @property
    def error(self) -> str | None:
        """Return why no card was made, if none was."""
        return self.meta.get("error") if self.card is None else None


@dataclass
class ConfigRun:
    """Every case's result for one configuration, in set order."""

    config: EvalConfig
    results: list[CaseResult] = field(default_factory=list)
    judge: dict[str, Any] | None = None

    def values(self, metric: str) -> list[float | None]:
        """Return a metric's value per case (None where it does not apply)."""
        return [r.metrics.get(metric) for r in self.results]


class ResultCache:
    """Cards kept as JSON files keyed like the production LLM cache: config and input hashes."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """Return a cached entry, or None (an unreadable entry counts as absent)."""
        try:
            return json.loads(self._path(kind, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        """Store an entry atomically (a killed run never leaves half a file)."""
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(value, out, ensure_ascii=False)
        os.replace(tmp, path)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def measure(case: Case, card: dict[str, Any] | None, meta: dict[str, Any]) -> dict[str, Any]:
    """Return the case's metrics: grounding from the draft when known, the rest from the card."""
    metrics = score_card(card, case.quotable_text, case.expected_topics, case.expected_roles)
    draft = meta.get("draft")
    if card is not None and isinstance(draft, dict):
        grounding = score_card(draft, case.quotable_text, case.expected_topics)
        metrics["citation_rate"] = grounding["citation_rate"]
        metrics["claim_support"] = grounding["claim_support"]
        # Claims in the model's own answer, before the engine dropped the unsupported ones.
        metrics["claims_checked"] = grounding["claims_checked"]
        counts = ("citations", "verified", "points", "supported")
        metrics["details"]["draft"] = {k: grounding["details"][k] for k in counts}
    for name in COST_FIELDS:
        metrics[name] = float(meta.get(name) or 0)
    return metrics


class Runner:
    """Runs configurations over a set: cached cards reused, the rest made a few at a time."""

    def __init__(
        self,
        eval_set: EvalSet,
        *,
        cache_dir: Path | None = None,
        judge: Judge | None = None,
        make_card: CardMaker | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
    ):
        self.set = eval_set
        self.cache = ResultCache(cache_dir) if cache_dir else None
        self.judge = judge
        self.make_card = make_card
        self.workers = workers
        self.progress = progress or quiet_progress()

    def _cacheable(self, config: EvalConfig) -> bool:
        # Only the built-in LLM maker is cached: it is slow and costs money, and its
        # fingerprint (model, prompt sha256, parameters) says when an answer is stale.
        return self.cache is not None and self.make_card is None and config.mode == "llm"

    def _make(self, maker: CardMaker, cases: list[Case], config: EvalConfig,
              done: Callable[[], None]) -> list[Made]:  # fmt: skip
        """Return (card, meta) per case: in one batch when the maker can, else on threads."""
        if isinstance(maker, LLMCardMaker):
            return maker.make_many(cases, config, done)

        def one(case: Case) -> Made:
            made = maker(case, config)
            done()
            return made

        with ThreadPoolExecutor(max_workers=self.workers or 1) as pool:
            return list(pool.map(one, cases))

    def _cards(self, config: EvalConfig, maker: CardMaker, task: Any) -> list[CaseResult]:
        """Return every case's result, from the cache where this config already made the card."""
        cases = self.set.cases
        keys = [_hash(config.key(), case.sha256) for case in cases]
        results: list[CaseResult | None] = [None] * len(cases)
        if self._cacheable(config) and self.cache:
            for i, key in enumerate(keys):
                if (hit := self.cache.get("cards", key)) is not None:
                    measured = measure(cases[i], hit["card"], hit["meta"])
                    results[i] = CaseResult(cases[i].id, hit["card"], hit["meta"], measured, True)
                    task.advance()
        todo = [i for i, result in enumerate(results) if result is None]
        made = self._make(maker, [cases[i] for i in todo], config, task.advance)
        for i, (card, meta) in zip(todo, made, strict=True):
            if self._cacheable(config) and self.cache and card is not None:
                self.cache.put("cards", keys[i], {"card": card, "meta": meta})
            results[i] = CaseResult(cases[i].id, card, meta, measure(cases[i], card, meta))
        return [r for r in results if r is not None]

    def _judge(self, results: list[CaseResult]) -> None:
        """Add the judge's metrics to every result with a card (cached by judge, card and case)."""
        assert self.judge is not None
        cases = {case.id: case for case in self.set.cases}
        todo = []
        for result in results:
            if result.card is None:
                continue
            key = _hash(self.judge.key(), cases[result.case_id].sha256,
                        json.dumps(result.card, sort_keys=True))  # fmt: skip
            hit = self.cache.get("judge", key) if self.cache else None
            if hit is not None:
                result.metrics.update(hit)
            else:
                todo.append((result, key))
        pairs = [(cases[r.case_id], r.card or {}) for r, _ in todo]
        scores = self.judge.score_many(pairs)
        for (result, key), score in zip(todo, scores, strict=True):
            result.metrics.update(score)
            if self.cache and "judge_error" not in score:
                self.cache.put("judge", key, score)

    def run(self, config: EvalConfig) -> ConfigRun:
        """Return one configuration's results over every case of the set."""
        config = config.with_topics(self.set.topics)
        maker = self.make_card or default_maker(config, self.workers)
        with self.progress(f"eval {config.name}", len(self.set.cases)) as task:
            results = self._cards(config, maker, task)
        if self.judge is not None:
            self._judge(results)
        run = ConfigRun(config, results, self.judge.describe() if self.judge else None)
        failed = sum(1 for r in results if r.card is None)
        event(log, "eval: configuration done", config=config.name, cases=len(results),
              failed=failed, cached=sum(r.cached for r in results))  # fmt: skip
        return run
