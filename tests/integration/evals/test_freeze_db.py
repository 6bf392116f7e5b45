"""`eval freeze --from-db`: stories sampled from a real migrated database into a verified set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli.eval import eval_group
from aggregator.clock import utcnow
from aggregator.context import Context
from aggregator.db.models import Article, Item, Source, Story, StoryTopic
from aggregator.evals.freeze import freeze_from_db
from aggregator.evals.sets import EvalError, load_set
from aggregator.settings import Settings

pytestmark = pytest.mark.integration
TOPICS = [{"slug": "models", "name": "Models"}, {"slug": "policy", "name": "Policy"}]


def add_stories(ctx: Context, source_name: str, topic: str | None, count: int) -> None:
    """Insert `count` stories of one source, each with extracted text and maybe a topic."""
    now = utcnow()
    with ctx.session() as session:
        source = Source(name=source_name, kind="rss", url=f"https://{source_name}.example/feed")
        session.add(source)
        session.flush()
        for i in range(count):
            uid = f"{source_name}{i:04d}"
            story = Story(uid=uid, slug=f"story-{uid}", title=f"Story {uid}", week="2031-W10",
                          published_at=now - timedelta(hours=i))  # fmt: skip
            session.add(story)
            session.flush()
            item = Item(source_id=source.id, guid_hash=uid, title=f"Item {uid}", story_id=story.id,
                        url=f"https://{source_name}.example/{i}",
                        published_at=story.published_at)  # fmt: skip
            session.add(item)
            session.flush()
            session.add(Article(item_id=item.id, text=f"Full text of {uid}.\n\nSecond paragraph.",
                                method="trafilatura"))  # fmt: skip
            story.primary_item_id = item.id
            if topic:
                session.add(StoryTopic(story_id=story.id, topic_slug=topic, score=0.8))


def test_freeze_samples_every_source_and_topic(ctx: Context, tmp_path: Path) -> None:
    add_stories(ctx, "big", "models", 30)
    add_stories(ctx, "bigpolicy", "policy", 10)
    add_stories(ctx, "small", None, 2)
    ctx.settings = ctx.settings.model_copy(update={"topics": []})
    frozen = freeze_from_db(ctx, sample=12, seed=3, out=tmp_path / "set")
    assert len(frozen.cases) == 12
    assert Counter(c.source for c in frozen.cases) == {"big": 8, "bigpolicy": 3, "small": 1}
    first = frozen.cases[0]
    assert first.text.startswith("Full text of") and first.url.startswith("https://")
    assert first.labels["topics_origin"] == "production"
    assert load_set(tmp_path / "set").sha256 == frozen.sha256
    again = freeze_from_db(ctx, sample=12, seed=3, out=tmp_path / "again")
    assert [c.id for c in again.cases] == [c.id for c in frozen.cases]


def test_freeze_empty_database_is_an_error(ctx: Context, tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="no stories with extracted text"):
        freeze_from_db(ctx, sample=5, seed=0, out=tmp_path / "set")


def test_freeze_command_uses_the_main_settings(
    make_settings: Callable[..., Settings], ctx: Context, tmp_path: Path
) -> None:
    add_stories(ctx, "feed", "models", 6)
    settings = make_settings(topics=TOPICS)

    class State:  # what the main CLI hands down as its context object
        def settings(self) -> Settings:
            return settings

    out = tmp_path / "frozen"
    args = ["freeze", "--from-db", "--sample", "4", "--seed", "9", "--out", str(out)]
    result = CliRunner().invoke(eval_group, args, obj=State())
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"eval: froze 4 cases into {out}")
    frozen = load_set(out)
    assert [t["slug"] for t in frozen.topics] == ["models", "policy"]
    assert all(c.expected_topics == ["models"] for c in frozen.cases)
    rerun = CliRunner().invoke(eval_group, args, obj=State())
    assert rerun.exit_code == 1 and "never overwritten" in rerun.output
