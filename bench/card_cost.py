"""Tokens per card and the projected cost per 1,000 items at gpt-4o-mini prices (goal <= $0.30).

Input tokens are counted on the exact messages the engine sends (system, article cut to
`max_input_tokens`, plus the JSON schema that strict structured output adds to the prompt).
Output tokens are those of a card of typical size under the prompt's rules (3 takeaways, one
deep-dive point, one implication; 16-word points with one 12-word quote; 18-word TL;DR
sentences; 4 entities), built from each article's words: no model is called, so this is an
estimate of a compliant answer, and is printed as such.

    python bench/card_cost.py [--articles examples/articles] [--corpus ground-truth.json]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.config import LLMSettings, Settings  # noqa: E402
from aggregator.llm.output import build_messages  # noqa: E402
from aggregator.llm.pricing import call_cost, price_for  # noqa: E402
from aggregator.llm.tokens import count_tokens  # noqa: E402
from aggregator.prompts import load_prompt  # noqa: E402
from aggregator.summarize import StoryInput, card_schema, prompt_variables  # noqa: E402

MODEL = "gpt-4o-mini"
GOAL_USD = 0.30
_BLOCK = re.compile(r"<(p|h[1-6]|li|blockquote)[^>]*>(.*?)</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def demo_articles(folder: Path) -> list[tuple[str, str]]:
    """Return (title, text) of the project's example articles (TOML front matter + HTML)."""
    out = []
    for file in sorted(folder.glob("*/*.html")):
        raw = file.read_text(encoding="utf-8")
        _, head, body = raw.split("+++", 2) if raw.startswith("+++") else ("", "", raw)
        title = tomllib.loads(head).get("title", file.stem) if head else file.stem
        blocks = [html.unescape(_TAG.sub("", m.group(2))).strip() for m in _BLOCK.finditer(body)]
        out.append((title, "\n\n".join(b for b in blocks if b)))
    return out


def corpus_articles(path: Path, limit: int) -> list[tuple[str, str]]:
    """Return (title, text) from a ground-truth.json of {id: {"articleBody": ...}} (third-party)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for entry in list(data.values())[:limit]:
        text = entry.get("articleBody", "").strip()
        if text:
            out.append((text.split("\n", 1)[0][:120], text))
    return out


def compliant_card(text: str, slugs: list[str]) -> dict:
    """Return a card of the size the prompt asks for, made of the article's own words."""
    words = text.split() or ["news"]

    def span(start: int, count: int) -> str:
        return " ".join((words * (1 + (start + count) // len(words)))[start : start + count])

    def point(start: int) -> dict:
        return {"text": span(start, 16), "citations": [span(start + 40, 12)]}

    return {
        "title": span(0, 11)[:90], "hook": span(11, 20)[:150],
        "tldr": {"what_changed": span(31, 18), "why_it_matters": span(49, 18),
                 "what_to_do_next": span(67, 14)},
        "key_takeaways": [point(100), point(200), point(300)],
        "technical_deep_dive": [point(400)], "future_implications": [point(500)],
        "topics": [{"slug": slugs[0], "score": 0.8}] if slugs else [],
        "entities": [span(600 + 3 * i, 2) for i in range(4)], "timeliness": "time-bound",
    }  # fmt: skip


def measure(settings: Settings, articles: list[tuple[str, str]]) -> tuple[float, float]:
    """Return mean (input, output) tokens per card over the articles."""
    prompt = load_prompt(settings.llm.item_prompt)
    slugs = [t.slug for t in settings.topics]
    schema = json.dumps(card_schema(slugs), separators=(",", ":"))
    total_in = total_out = 0
    for n, (title, text) in enumerate(articles):
        story = StoryInput(story_id=n, title=title, text=text)
        variables = prompt_variables(prompt, story, settings.topics,
                                     settings.llm.max_input_tokens, MODEL)  # fmt: skip
        messages = build_messages(prompt, variables)
        # About 4 tokens of chat framing per message; strict mode sends the schema as well.
        total_in += sum(count_tokens(m["content"], MODEL) + 4 for m in messages)
        total_in += count_tokens(schema, MODEL)
        card = json.dumps(compliant_card(text, slugs), separators=(",", ":"), ensure_ascii=False)
        total_out += count_tokens(card, MODEL)
    return total_in / len(articles), total_out / len(articles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=ROOT / "examples" / "articles")
    parser.add_argument(
        "--config",
        type=Path,
        default=ROOT / "examples" / "aggregator.toml",
        help="a config whose topics and [llm] settings are used",
    )
    parser.add_argument("--corpus", type=Path, help="a ground-truth.json of article bodies")
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    settings = Settings()
    if args.config.exists():  # a template with placeholders: take only its topics and [llm]
        data = tomllib.loads(args.config.read_text(encoding="utf-8"))
        llm = {k: v for k, v in data.get("llm", {}).items() if k in LLMSettings.model_fields}
        settings = Settings(topics=data.get("topics", []), llm=llm)
    if args.corpus:
        articles, label = corpus_articles(args.corpus, args.limit), args.corpus.name
    else:
        articles, label = demo_articles(args.articles)[: args.limit], "demo set"
    tokens_in, tokens_out = measure(settings, articles)
    price = price_for(MODEL)
    per_1000 = 1000 * call_cost(price, round(tokens_in), round(tokens_out))
    words = sum(len(t.split()) for _, t in articles) / len(articles)
    print(
        f"{len(articles)} articles ({label}), mean {words:.0f} words; "
        f"max_input_tokens {settings.llm.max_input_tokens}; token counts estimated from "
        f"characters unless tiktoken's {MODEL} encoding is cached locally"
    )
    print(
        f"tokens per card: input {tokens_in:.0f} (schema included), output {tokens_out:.0f} "
        f"(a prompt-compliant card, estimated)"
    )
    print(
        f"prices ({MODEL}, USD per 1M): input {price.input}, output {price.output}; "
        f"output is {0.6 * tokens_out / (0.15 * tokens_in + 0.6 * tokens_out):.0%} of the cost"
    )
    print(
        f"for reference, at Batch API prices (half; batch mode is not built): "
        f"${per_1000 / 2:.3f} per 1,000 items"
    )
    print(
        f"card_cost: ${per_1000:.3f} per 1,000 items at {MODEL} prices "
        f"(goal <= ${GOAL_USD:.2f}) -> {'PASS' if per_1000 <= GOAL_USD else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
