"""Model prices (USD per million tokens) and the cost of a call."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta

from aggregator.clock import utcnow
from aggregator.log import event
from aggregator.settings import ModelPrice

log = logging.getLogger("aggregator.llm.pricing")

# Public list prices (standard tier) for common OpenAI models; `[llm.pricing]` overrides them.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60, cached_input=0.075),
    "gpt-4o": ModelPrice(input=2.50, output=10.00, cached_input=1.25),
    "gpt-4.1-nano": ModelPrice(input=0.10, output=0.40, cached_input=0.025),
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60, cached_input=0.10),
    "gpt-4.1": ModelPrice(input=2.00, output=8.00, cached_input=0.50),
    "gpt-5-nano": ModelPrice(input=0.05, output=0.40, cached_input=0.005),
    "gpt-5-mini": ModelPrice(input=0.25, output=2.00, cached_input=0.025),
    "gpt-5": ModelPrice(input=1.25, output=10.00, cached_input=0.125),
    "o4-mini": ModelPrice(input=1.10, output=4.40, cached_input=0.275),
    "o3-mini": ModelPrice(input=1.10, output=4.40, cached_input=0.55),
    "gpt-3.5-turbo": ModelPrice(input=0.50, output=1.50),
}
_warned: set[str] = set()


def price_for(model: str, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """Return the price of a model: configured first, then defaults; dated snapshots match their family."""
    table = {**DEFAULT_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    # "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini": the longest family prefix wins.
    families = [name for name in table if model.startswith(name + "-")]
    if families:
        return table[max(families, key=len)]
    if model not in _warned:
        _warned.add(model)
        event(
            log,
            "llm: no price for model; its calls are counted as free",
            logging.WARNING,
            model=model,
        )
    return None


def call_cost(
    price: ModelPrice | None, tokens_in: int, tokens_out: int, tokens_cached: int = 0
) -> float:
    """Return the USD cost of one call; cached input tokens are billed at the cached rate."""
    if price is None:
        return 0.0
    cached = min(tokens_cached, tokens_in)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    total = (tokens_in - cached) * price.input + cached * cached_rate + tokens_out * price.output
    return round(total / 1_000_000, 8)


class DailyBudget:
    """Spend allowed today: each call reserves its worst case first, so the limit is never crossed."""

    def __init__(self, limit_usd: float, spent_usd: float = 0.0):
        self.limit = limit_usd
        self.spent = spent_usd
        self.reserved = 0.0
        self.exhausted = spent_usd >= limit_usd

    def admit(self, estimate_usd: float) -> bool:
        """Reserve room for a call costing at most `estimate_usd`; return False if there is none."""
        if self.spent + self.reserved + estimate_usd > self.limit:
            self.exhausted = True
            return False
        self.reserved += estimate_usd
        return True

    def settle(self, estimate_usd: float, actual_usd: float) -> None:
        """Replace a call's reservation by what it really cost."""
        self.reserved = max(0.0, self.reserved - estimate_usd)
        self.spent += actual_usd


def next_utc_day(now: datetime | None = None) -> datetime:
    """Return the next midnight UTC (when the daily budget starts afresh)."""
    now = now or utcnow()
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
