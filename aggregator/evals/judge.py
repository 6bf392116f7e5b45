"""The optional LLM judge: a separately configured model scores a card against its article."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from aggregator.evals.configs import EvalConfig
from aggregator.evals.sets import Case, EvalError
from aggregator.llm.client import ClientConfig, LLMClient
from aggregator.llm.complete import acomplete_structured
from aggregator.llm.output import LLMError
from aggregator.llm.prompts import PromptError, load_prompt
from aggregator.llm.tokens import truncate_to_tokens

JUDGE_PROMPT = "eval_judge/v1"
# Room left in the judge's input budget for the instructions and the card itself.
CARD_ALLOWANCE = 1500


def _short(value: object) -> object:
    """Return a rationale cut to 400 characters (judges ramble)."""
    return value[:400] if isinstance(value, str) else value


class JudgeScores(BaseModel):
    """The judge's verdict on one card (1 poor - 5 excellent)."""

    model_config = ConfigDict(extra="forbid")

    faithfulness: int = Field(ge=1, le=5)
    usefulness: int = Field(ge=1, le=5)
    actionability: int = Field(ge=1, le=5)
    rationale: Annotated[str, BeforeValidator(_short)] = Field(max_length=400)


class Judge:
    """Scores cards with a configuration's judge model (`llm.judge_model`, else `llm.model`)."""

    def __init__(self, config: EvalConfig, prompt_ref: str = JUDGE_PROMPT):
        llm = config.settings.llm
        if not llm.enabled:
            raise EvalError(f"eval: judge config {config.name} has no LLM endpoint configured")
        try:
            self.prompt = load_prompt(prompt_ref)
        except PromptError as exc:
            raise EvalError(f"eval: judge: {exc}") from None
        self.model = llm.judge_model or llm.model
        self.client = ClientConfig.from_settings(llm, model=self.model, temperature=0.0)

    def key(self) -> str:
        """Return a short hash of what decides the judge's scores."""
        parts = [self.model, self.client.base_url or "", self.prompt.sha256]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """Return the judge's identity for the report."""
        return {"model": self.model, "prompt": self.prompt.ref, "prompt_sha256": self.prompt.sha256}

    def __call__(self, case: Case, card: dict[str, Any]) -> dict[str, Any]:
        """Return the judge's scores for one card."""
        return self.score_many([(case, card)])[0]

    def score_many(self, pairs: list[tuple[Case, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Return the scores of every (case, card) pair, a few calls at a time on one client."""

        async def main() -> list[dict[str, Any]]:
            async with LLMClient(self.client) as client:
                return list(await asyncio.gather(*(self._score(client, c, k) for c, k in pairs)))

        return asyncio.run(main())

    async def _score(self, client: LLMClient, case: Case, card: dict[str, Any]) -> dict[str, Any]:
        """Return the judge's scores as metrics (judge_*), or a judge_error when it gave none."""
        budget = max(200, self.client.max_input_tokens - CARD_ALLOWANCE)
        text, _ = truncate_to_tokens(case.text, budget, self.model)
        variables = {"title": case.title, "text": text,
                     "card": json.dumps(card, indent=1, ensure_ascii=False)}  # fmt: skip
        try:
            done = await acomplete_structured(client, self.prompt, variables, JudgeScores,
                                              purpose="eval_judge", subject=case.id)  # fmt: skip
        except LLMError as exc:
            return {"judge_error": str(exc).splitlines()[0]}
        scores: JudgeScores = done.value
        return {
            "judge_faithfulness": float(scores.faithfulness),
            "judge_usefulness": float(scores.usefulness),
            "judge_actionability": float(scores.actionability),
            "judge_rationale": scores.rationale,
            "judge_cost_usd": round(done.total("cost_usd"), 8),
        }
