"""Issue 19, problem 9 (second half): a link the address guard refuses is blamed on the guard."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aggregator.context import open_context
from aggregator.extract.article import ItemText
from aggregator.extract.stage import Work, _Runner
from aggregator.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/post", "http://localhost:9/post"])
def test_refused_address_wins_over_robots(make_settings: Callable[..., Settings], url: str) -> None:
    ctx = open_context(make_settings(fetch={"allow_private_networks": False}))
    runner = _Runner(ctx, None)
    try:
        outcome = runner.run(Work(1, 1, url, 0, ItemText(title="A title"), source_id=1))
    finally:
        runner.fetcher.close()
        ctx.engine.dispose()
    assert outcome.article is not None
    error = outcome.article.error or ""
    assert error.startswith(f"fetch: {url}: refused: 127.0.0.1 is a loopback address ("), error
    assert "robots" not in error
    assert "allow_private_networks" in error
