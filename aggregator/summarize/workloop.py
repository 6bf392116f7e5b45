"""The summarize work loop: claimed stories summarized with bounded concurrency, outcomes batched."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aggregator.llm.cache import CallRecord
from aggregator.llm.output import BudgetExceeded, LLMError
from aggregator.summarize.basis import is_deep
from aggregator.summarize.summarizer import CardResult, StoryInput


@dataclass
class Unit:
    """One claimed job and the story input loaded for it."""

    job_id: int
    story: StoryInput
    attempts: int = 0  # this one included


@dataclass
class Outcome:
    """What happened to one unit: a card, an error to retry later, or neither (released).

    `fallback` is the labelled extractive card standing in when the LLM's failed for good.
    """

    result: CardResult | None = None
    error: LLMError | None = None
    records: list[CallRecord] = field(default_factory=list)
    fallback: CardResult | None = None


log = logging.getLogger("aggregator.summarize")
# A wrong key or model fails every call alike: stop the run instead of burning attempts.
FATAL_STATUS = {401, 403, 404}
# The attempt at which a job fails for good (claims.fail's default).
MAX_ATTEMPTS = 6


@dataclass
class WorkLoop:
    """Claims units, summarizes them with bounded concurrency, stores outcomes in batches.

    `claim(limit)` and `store(batch)` run on one dedicated thread (the only one that
    touches the database); workers never wait for a commit before taking the next story.
    """

    summarizer: Any
    claim: Callable[[int], list[Unit]]
    store: Callable[[list[tuple[Unit, Outcome]]], list[str]]
    stored: Callable[[Unit, Outcome, str], None]
    stopping: Callable[[], bool] = lambda: False
    progress: Any = None
    stop: str | None = None  # why no more work is started: budget, a fatal error
    # Writes the labelled extractive stand-in when the LLM fails for good (None: no stand-ins).
    fallback: Any = None
    db: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    outbox: list[tuple[Unit, Outcome]] = field(default_factory=list)
    writer: asyncio.Task | None = None

    async def on_db(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Return fn(*args) run on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(self.db, fn, *args)

    async def run(self, cap: int, workers: int) -> None:
        """Feed claimed units to `workers` concurrent workers until the cap, the queue or a stop."""
        queue: asyncio.Queue[Unit | None] = asyncio.Queue(maxsize=workers)
        tasks = [asyncio.create_task(self._work(queue)) for _ in range(workers)]
        claimed = 0
        while claimed < cap and not self.stop and not self.stopping():
            units = await self.on_db(self.claim, min(workers, cap - claimed))
            if not units:
                break
            claimed += len(units)
            for unit in units:
                await queue.put(unit)
        for _ in tasks:
            await queue.put(None)
        await asyncio.gather(*tasks)
        while self.writer is not None and not self.writer.done():
            await self.writer

    async def _work(self, queue: asyncio.Queue[Unit | None]) -> None:
        while (unit := await queue.get()) is not None:
            if self.stop or self.stopping():
                self._submit(unit, await self._stand_in(unit, self._held()))
                continue
            outcome = await self._stand_in(unit, await summarize_unit(self.summarizer, unit))
            if isinstance(outcome.error, BudgetExceeded):
                self.stop = "budget"
            elif outcome.error is not None and outcome.error.status in FATAL_STATUS:
                self.stop = str(outcome.error)
            self._submit(unit, outcome)
            if self.progress is not None:
                self.progress.advance(1)

    async def _stand_in(self, unit: Unit, outcome: Outcome) -> Outcome:
        """Return the outcome with an extractive stand-in when the LLM's card failed for good."""
        if self.fallback is None:
            return outcome
        reason = fallback_reason(unit, outcome)
        if reason is None:
            return outcome
        try:
            outcome.fallback = await self.fallback.summarize(unit.story)
        except Exception:  # the job is retried as if no stand-in was due
            log.exception("summarize: no extractive stand-in for story %s", unit.story.story_id)
            return outcome
        outcome.fallback.meta.fallback_reason = reason
        return outcome

    def _held(self) -> Outcome:
        """Return the outcome of a unit never started: released (to tomorrow when over budget)."""
        if self.stop == "budget":
            return Outcome(error=BudgetExceeded("summarize: daily LLM budget reached"))
        return Outcome()

    def _submit(self, unit: Unit, outcome: Outcome) -> None:
        self.outbox.append((unit, outcome))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        # Outcomes that pile up while a commit runs go together in the next one.
        while self.outbox:
            batch, self.outbox = self.outbox, []
            statuses = await self.on_db(self.store, batch)
            for (unit, outcome), status in zip(batch, statuses, strict=True):
                self.stored(unit, outcome, status)

    def close(self) -> None:
        """Stop the database thread."""
        self.db.shutdown(wait=True)


class BudgetSpent:
    """A summarizer for a day whose budget is spent: every story waits for tomorrow's."""

    async def summarize(self, story: StoryInput) -> CardResult:
        raise BudgetExceeded("summarize: daily LLM budget reached")


async def summarize_unit(summarizer: Any, unit: Unit) -> Outcome:
    """Return the outcome of summarizing one story (errors become outcomes, never raise)."""
    try:
        result = await summarizer.summarize(unit.story)
    except LLMError as exc:
        return Outcome(error=exc, records=exc.records)
    except Exception as exc:  # a bug on one story must not stop the others: retried later
        log.exception("summarize: story %s failed", unit.story.story_id)
        # Retried like a server fault: a stand-in only once the attempts are used up.
        return Outcome(error=LLMError(f"summarize: {type(exc).__name__}: {exc}", transient=True))
    basis = result.card.basis
    if (
        result.meta.mode == "llm"
        and not result.card.key_takeaways
        and (basis is None or is_deep(basis))
    ):
        # Nothing the model wrote survived the citation check: not a card to publish. (A source
        # too short for depth keeps its TL;DR only, by design: that card stands.)
        error = LLMError(
            f"summarize: no point of the model's card could be grounded in the article "
            f"(grounded ratio {result.meta.grounded_ratio:.2f})",
            records=result.records,
        )
        return Outcome(error=error, records=result.records)
    return Outcome(result=result, records=result.records)


def fallback_reason(unit: Unit, outcome: Outcome) -> str | None:
    """Return why an extractive card must stand in for this outcome, or None when none is due.

    Due when the budget is spent, the error will not go away by retrying (invalid or
    ungroundable output, a refused request), or the attempts are used up.
    """
    error = outcome.error
    if error is None:
        return None
    if isinstance(error, BudgetExceeded):
        return "daily LLM budget reached"
    if error.transient and unit.attempts < MAX_ATTEMPTS:
        return None
    return " ".join(str(error).split())[:500]
