"""Tokens per card and the cost per 1,000 items at gpt-4o-mini prices, live and batched.

Goals with the default prompt: live <= $0.60 and with the Batch API (half price) <= $0.30
per 1,000 items. Every shipped version of the item prompt is printed side by side.

The demo set is measured as the pipeline sees it: the offline demo (`aggregator demo`'s
collect, extract and dedupe) runs into a temporary directory, and each story's summarize
input is loaded exactly as the summarize stage loads it. A story is summarized once however
many items it gathers, so the cost per item is the cost per story x stories / items.

Input tokens are counted on the exact messages the engine sends (system, article cut to
`max_input_tokens`, numbered for a sentence-number prompt) plus the JSON schema that strict
structured output adds, plus ~4 tokens of chat framing per message. Output tokens are those of
a card of typical size under each prompt's own rules (3 takeaways, one deep-dive point, one
implication, one citation each; lengths at the prompt's stated limits), built from the
article's words: no model is called, so the output side is an estimate, printed as such.
Tokens are exact (o200k_base) when tiktoken's file is cached or `bpe-openai` is installed.

    python bench/card_cost.py [--prompt summarize_item/v2] [--corpus ground-truth.json --limit 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.llm.batch import BATCH_DISCOUNT  # noqa: E402
from aggregator.llm.output import build_messages  # noqa: E402
from aggregator.llm.pricing import call_cost, price_for  # noqa: E402
from aggregator.llm.prompts import Prompt, load_prompt  # noqa: E402
from aggregator.llm.tokens import count_tokens, estimate_tokens, exact_counts  # noqa: E402
from aggregator.settings import LLMSettings, Settings  # noqa: E402
from aggregator.summarize.summarizer import (  # noqa: E402
    StoryInput,
    card_schema,
    draft_model,
    prompt_article,
    prompt_variables,
)

MODEL = "gpt-4o-mini"
GOAL_BATCH_USD = 0.30
GOAL_LIVE_USD = 0.60


def token_counter() -> tuple[str, Callable[[str], int]]:
    """Return (how tokens are counted, a counter): exact o200k_base when available offline."""
    if exact_counts(MODEL):
        return "tiktoken o200k_base (exact)", lambda text: count_tokens(text, MODEL)
    try:
        import bpe_openai

        exact = bpe_openai.get_encoding("o200k_base")
        return "bpe-openai o200k_base (exact)", lambda t: len(exact.encode(t))
    except Exception:  # not installed: the engine's own character estimate
        return "character estimate (~4 chars/token; install bpe-openai for exact)", estimate_tokens


@dataclass
class DemoSet:
    """The stories the summarize stage would send, and how many items they came from."""

    stories: list[StoryInput]
    items: int
    label: str


def demo_set() -> DemoSet:
    """Return the demo's stories after running its offline pipeline in a temporary directory."""
    from sqlalchemy import func, select

    from aggregator.context import open_context
    from aggregator.db.models import Item, Story
    from aggregator.demo.run import DEMO_DB, run_demo
    from aggregator.summarize.stage import load_stories

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGGREGATOR_LLM_MODEL"):
        os.environ.pop(name, None)  # offline: the stage inputs do not depend on the backend
    with tempfile.TemporaryDirectory() as tmp:
        run_demo(Path(tmp), echo=lambda _: None)
        ctx = open_context(Settings(database={"url": f"sqlite:///{Path(tmp) / DEMO_DB}"}))
        with ctx.session() as session:
            items = session.scalar(select(func.count()).select_from(Item)) or 0
            ids = list(session.scalars(select(Story.id).order_by(Story.id)))
            stories = list(load_stories(session, ids).values())
        ctx.engine.dispose()
    return DemoSet(stories, items, "demo set")


def corpus_set(path: Path, limit: int) -> DemoSet:
    """Return articles of a ground-truth.json {id: {"articleBody": ...}} (third-party), one item each."""
    data = json.loads(path.read_text(encoding="utf-8"))
    stories = []
    for n, entry in enumerate(list(data.values())[:limit]):
        text = entry.get("articleBody", "").strip()
        if text:
            stories.append(StoryInput(story_id=n, title=text.split("\n", 1)[0][:120], text=text))
    return DemoSet(stories, len(stories), f"{path.name} (no duplicates assumed)")


# Sizes (words; title and hook also cut to characters) of a card under each citation style.
# v1 (quotes): the typical card this bench has always assumed, points of 16 of the allowed 20
# words with one 12-word quote. v2 (sentence numbers): every length at the prompt's limit
# (title 70 chars, hook 110 chars, TL;DR 12 words, points 14 words), so it is not flattered.
SHAPES = {
    "quotes": {"title": (11, 90), "hook": (20, 150), "tldr": (18, 18, 14), "point": 16},
    "sentence_ids": {"title": (16, 70), "hook": (25, 110), "tldr": (12, 12, 12), "point": 14},
    # summarize_item/v3 (issue 14): TL;DR parts of one or two sentences (about 30 words of the
    # allowed 40), points of 28 of the allowed 15-40 words; same citation style as v2.
    "v3": {"title": (14, 90), "hook": (24, 150), "tldr": (30, 30, 25), "point": 28},
}


def compliant_card(text: str, slugs: list[str], style: str, sizes: str | None = None) -> dict:
    """Return a card of the size a prompt asks for, made of the article's own words."""
    shape = SHAPES[sizes or style]
    words = text.split() or ["news"]

    def span(start: int, count: int) -> str:
        return " ".join((words * (1 + (start + count) // len(words)))[start : start + count])

    def point(start: int) -> dict:
        if style == "sentence_ids":
            return {"text": span(start, shape["point"]), "cite": [start // 25 + 1]}
        return {"text": span(start, shape["point"]), "citations": [span(start + 40, 12)]}

    changed, why, action = shape["tldr"]
    return {
        "title": span(0, shape["title"][0])[: shape["title"][1]],
        "hook": span(11, shape["hook"][0])[: shape["hook"][1]],
        "tldr": {"what_changed": span(31, changed), "why_it_matters": span(49, why),
                 "what_to_do_next": span(67, action)},
        "key_takeaways": [point(100), point(200), point(300)],
        "technical_deep_dive": [point(400)], "future_implications": [point(500)],
        "topics": [{"slug": slugs[0], "score": 0.8}] if slugs else [],
        "entities": [span(600 + 3 * i, 2) for i in range(4)], "timeliness": "time-bound",
    }  # fmt: skip


@dataclass
class Tokens:
    """Mean tokens per card of one prompt: input split into its parts, and output."""

    system: float
    user: float
    schema: float
    output: float

    @property
    def input(self) -> float:
        """Return the mean input tokens per card."""
        return self.system + self.user + self.schema


def measure(prompt: Prompt, settings: Settings, stories: list[StoryInput], count) -> Tokens:
    """Return the mean tokens per card of a prompt over the stories."""
    slugs = [t.slug for t in settings.topics]
    schema = count(json.dumps(card_schema(slugs, draft_model(prompt)), separators=(",", ":")))
    system = user = output = 0
    for story in stories:
        article, _ = prompt_article(prompt, story.text)
        variables = prompt_variables(prompt, story, settings.topics,
                                     settings.llm.max_input_tokens, MODEL, article)  # fmt: skip
        messages = build_messages(prompt, variables)
        system += count(messages[0]["content"]) + 4
        user += count(messages[1]["content"]) + 4
        shape = "v3" if prompt.name == "summarize_item" and prompt.version == "v3" else None
        card = compliant_card(story.text, slugs, prompt.citations, shape)
        output += count(json.dumps(card, separators=(",", ":"), ensure_ascii=False))
    n = len(stories)
    return Tokens(system / n, user / n, schema, output / n)


def per_1000(tokens: Tokens) -> float:
    """Return the USD cost of 1,000 cards of this size at gpt-4o-mini prices."""
    return 1000 * call_cost(price_for(MODEL), round(tokens.input), round(tokens.output))


def load_config(path: Path) -> Settings:
    """Return settings with the topics and [llm] of a config (a template: nothing else is read)."""
    if not path.exists():
        return Settings()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    llm = {k: v for k, v in data.get("llm", {}).items() if k in LLMSettings.model_fields}
    return Settings(topics=data.get("topics", []), llm=llm)


def prompt_versions(name: str = "summarize_item") -> list[str]:
    """Return every shipped version of a prompt, oldest first."""
    folder = ROOT / "aggregator" / "prompts" / name
    found = sorted(folder.glob("v*.toml"), key=lambda f: int(f.stem[1:]))
    return [f"{name}/{f.stem}" for f in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prompt",
        default=LLMSettings().item_prompt,
        help="the prompt the goals are checked on (default: the configured one)",
    )
    parser.add_argument("--config", type=Path, default=ROOT / "aggregator" / "demo" / "examples" / "aggregator.toml",
                        help="a config whose topics and [llm] settings are used")  # fmt: skip
    parser.add_argument("--corpus", type=Path, help="a ground-truth.json of article bodies")
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    settings = load_config(args.config)
    data = corpus_set(args.corpus, args.limit) if args.corpus else demo_set()
    how, count = token_counter()
    stories, ratio = data.stories, len(data.stories) / max(1, data.items)
    words = sum(len(s.text.split()) for s in stories) / len(stories)
    print(f"{data.label}: {data.items} items -> {len(stories)} stories to summarize "
          f"({ratio:.3f} cards per item), mean {words:.0f} words per story")  # fmt: skip
    print(f"tokens: {how}; output side estimated (a prompt-compliant card, no model called)")
    price = price_for(MODEL)
    print(f"prices ({MODEL}, USD per 1M tokens): input {price.input}, output {price.output}; "
          f"Batch API x{BATCH_DISCOUNT}")  # fmt: skip
    print(
        f"{'prompt':<20} {'input':>6} {'output':>6}  {'live/1k items':>13}  {'batch/1k items':>14}"
    )
    results = {}
    for ref in sorted({*prompt_versions(), args.prompt}):
        prompt = load_prompt(ref)
        tokens = measure(prompt, settings, stories, count)
        live = per_1000(tokens) * ratio
        results[ref] = (live, live * BATCH_DISCOUNT)
        print(f"{ref:<20} {tokens.input:>6.0f} {tokens.output:>6.0f}  ${live:>12.3f}  "
              f"${live * BATCH_DISCOUNT:>13.3f}")  # fmt: skip
    live, batch = results[args.prompt]
    ok = live <= GOAL_LIVE_USD and batch <= GOAL_BATCH_USD
    print(
        f"card_cost: {args.prompt} live ${live:.3f}, batch ${batch:.3f} per 1,000 items at "
        f"{MODEL} prices, goals live <= ${GOAL_LIVE_USD:.2f}, batch <= ${GOAL_BATCH_USD:.2f} "
        f"-> {'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
