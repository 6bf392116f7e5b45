"""One call for a whole evaluation: verify the set, run one or two configurations, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aggregator.evals.cards import CardMaker
from aggregator.evals.configs import EvalConfig
from aggregator.evals.judge import Judge
from aggregator.evals.report import build_document
from aggregator.evals.runner import Runner
from aggregator.evals.sets import EvalError, load_set
from aggregator.progress import Progress


def evaluate(
    set_path: Path | str,
    configs: list[EvalConfig],
    *,
    judge: EvalConfig | None = None,
    cache_dir: Path | None = None,
    make_card: CardMaker | None = None,
    workers: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Return the report document of configurations A (and B) over a verified set.

    The set is refused (EvalError) if any hash differs from its manifest.
    """
    if not 1 <= len(configs) <= 2:
        raise EvalError("eval: give one configuration, or two to compare")
    eval_set = load_set(set_path)
    if len(configs) == 2 and configs[0].name == configs[1].name:
        configs = [configs[0], EvalConfig(configs[1].name + " (B)", configs[1].settings,
                                          configs[1].mode, configs[1].path)]  # fmt: skip
    runner = Runner(
        eval_set,
        cache_dir=cache_dir,
        judge=Judge(judge) if judge is not None else None,
        make_card=make_card,
        workers=workers,
        progress=progress,
    )
    runs = [runner.run(config) for config in configs]
    return build_document(eval_set, runs, seed)
