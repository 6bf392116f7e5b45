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


# Problem 6: praw connected to a loopback oauth_url with private networks disallowed.
@pytest.mark.parametrize("field", ["oauth_url", "reddit_url"])
def test_reddit_urls_pass_the_address_guard(
    make_settings: Callable[..., Settings], field: str
) -> None:
    from aggregator.collect.fetch import Fetcher
    from aggregator.collect.reddit import RedditError, collect_subreddit, make_reddit
    from aggregator.demo.reddit_api import RedditAPIServer
    from aggregator.settings import RedditSource

    with RedditAPIServer({"MachineLearning": []}) as api:
        reddit = {"client_id": "i", "client_secret": "s", "user_agent": "tests", field: api.url}
        source = {"kind": "reddit", "name": "r/ML", "subreddit": "MachineLearning"}
        settings = make_settings(
            reddit=reddit, sources=[source], fetch={"allow_private_networks": False}
        )
        config = settings.sources[0]
        assert isinstance(config, RedditSource)
        fetcher = Fetcher(settings.fetch, settings.site.base_url)
        client = make_reddit(settings.reddit, fetcher.user_agent, 5)
        with pytest.raises(RedditError) as caught:
            collect_subreddit(config, settings.reddit, fetcher, reddit=client)
        fetcher.close()
        assert api.requests == []  # refused before any connection
    message = str(caught.value)
    assert message.startswith(f"collect: r/MachineLearning: {api.url}: refused: 127.0.0.1 is a")
    assert "allow_private_networks" in message
