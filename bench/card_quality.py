"""Card quality of the offline (extractive) backend: the rates issue 14's "Done when" names.

Usage: python bench/card_quality.py [EXTRACTION_CORPUS] [--limit N] [--no-demo]

EXTRACTION_CORPUS is the Scrapinghub folder (html/<id>.html.gz). Every page goes through
`aggregator.extract.extract` and the extractive summarizer, offline. The demo part runs
`aggregator demo` in a temporary folder and reads the published api/items/*.json.

Per card it checks: all three TL;DR parts present (the honest "The source states no next
step." counts as present), no two of hook/what changed/why it matters/what to do next the
same, the hook not a dateline or byline, every published sentence whole (ends with terminal
punctuation or an ellipsis), quotes closed, and, on the demo, no Reddit card quoting one of
its thread's comments. Ends with one summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from aggregator.extract import extract
from aggregator.llm.roles import NO_NEXT_STEP, reads_on_its_own, stands_alone, why_score
from aggregator.llm.segment import balanced, is_prose, is_whole
from aggregator.settings import Settings
from aggregator.summarize.summarizer import ExtractiveSummarizer, StoryInput

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("what_changed", "why_it_matters", "what_to_do_next")
SECTIONS = ("key_takeaways", "technical_deep_dive", "future_implications")


def check(card: dict[str, Any], comments: list[str] = ()) -> Counter[str]:
    """Return the failures of one card (a Counter of rule names; empty when it passes all)."""
    bad: Counter[str] = Counter()
    tldr = card["tldr"]
    if not all(tldr.get(k, "").strip() for k in PARTS):
        bad["missing_tldr_part"] += 1
    parts = [card["hook"], *(tldr[k] for k in PARTS)]
    if len(set(parts)) < len(parts):
        bad["repeated_part"] += 1
    if not is_prose(card["hook"]):
        bad["dateline_hook"] += 1
    published = parts + [p["text"] for k in SECTIONS for p in card.get(k) or []]
    bad["cut_sentence"] += sum(not is_whole(s) for s in published)
    bad["unclosed_quote"] += sum(not balanced(s) for s in published)
    quoted = published + [c for k in SECTIONS for p in card.get(k) or [] for c in p["citations"]]
    bad["comment_as_article"] += sum(
        any(c[:60] in q for q in quoted) for c in comments if len(c) >= 30
    )
    return +bad


def roles_info(card: dict[str, Any]) -> Counter[str]:
    """Return which role slots of a card are empty or weak (information, not rule failures)."""
    tldr, info = card["tldr"], Counter()
    info["cards"] += 1
    info["hook_leans_or_asks"] += not stands_alone(card["hook"])
    # A TL;DR part that contrasts with, or names by a pronoun, a sentence the card does not
    # show dangles (a why or next step may, right after what changed in the source).
    info["tldr_part_leans"] += sum(not reads_on_its_own(tldr[k]) for k in PARTS)
    if not card.get("key_takeaways"):  # a TL;DR-only card (short source): nothing deep to count
        return info
    info["cards_with_deep_insight"] += 1
    info["why_without_consequence_cue"] += why_score(tldr["why_it_matters"]) < 2
    info["no_next_step_stated"] += tldr["what_to_do_next"] == NO_NEXT_STEP
    info["no_future_implication"] += not card.get("future_implications")
    return info


def corpus_cards(folder: Path, limit: int) -> list[dict[str, Any]]:
    """Return extractive cards for the first `limit` pages of the extraction corpus."""
    summarizer = ExtractiveSummarizer(Settings())
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    cards = []
    for n, (key, item) in enumerate(list(truth.items())[:limit]):
        with gzip.open(folder / "html" / f"{key}.html.gz", "rb") as raw:
            html = raw.read()
        page = extract(html, item.get("url") or "https://example.org/")
        title = page.title or ""
        story = StoryInput(n, title, page.text or title, method=page.method)
        cards.append(asyncio.run(summarizer.summarize(story)).card.model_dump(mode="json"))
    return cards


def demo_cards() -> list[tuple[dict[str, Any], list[str]]]:
    """Return (card, its thread's comment texts) of every story `aggregator demo` publishes."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "aggregator", "demo"], cwd=tmp, check=True,
                       capture_output=True)  # fmt: skip
        out = []
        for path in sorted(Path(tmp, "site", "api", "items").glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))["item"]
            out.append((record["card"], _demo_comments(record)))
        return out


def _demo_comments(record: dict[str, Any]) -> list[str]:
    """Return the demo's comments on the record's Reddit thread (from the bundled examples)."""
    permalinks = {s["item_url"] for s in record["coverage"]["sources"] if s.get("item_url")}
    bodies = []
    for file in (ROOT / "aggregator/demo/examples/reddit").glob("*.json"):
        for post in json.loads(file.read_text(encoding="utf-8"))["posts"]:
            if any(f"/comments/{post['id']}/" in p for p in permalinks) or (
                record.get("original_title") == post["title"]
            ):
                bodies += [c["body"] for c in post.get("comments", [])]
    return bodies


def report(
    name: str, checked: list[Counter[str]], info: list[Counter[str]] = ()
) -> dict[str, float]:
    """Print and return the share of cards passing each rule, then how the role slots fared."""
    total = len(checked)
    rules = ("missing_tldr_part", "repeated_part", "dateline_hook", "cut_sentence",
             "unclosed_quote", "comment_as_article")  # fmt: skip
    rates = {r: sum(1 for c in checked if c[r]) / max(1, total) for r in rules}
    passing = sum(1 for c in checked if not c) / max(1, total)
    print(f"{name}: {total} cards, all rules met {passing:.1%}")
    for rule in rules:
        count = sum(1 for c in checked if c[rule])
        print(f"  cards with {rule:20s} {count:4d} ({rates[rule]:.1%})")
    seen = sum(info, Counter())
    leaning = seen["hook_leans_or_asks"]
    print(f"  hooks that lean on an earlier sentence or ask for input (information): {leaning}")
    parts = seen["tldr_part_leans"]
    print(f"  TL;DR parts that dangle (contrast or pronoun; information): {parts}")
    if seen["cards_with_deep_insight"]:
        full = seen["cards_with_deep_insight"]
        print(f"  of {full} cards with deep insight (information, not failures):")
        for slot in ("why_without_consequence_cue", "no_next_step_stated", "no_future_implication"):
            print(f"    {slot:28s} {seen[slot]:4d} ({seen[slot] / full:.1%})")
    return {"cards": total, "passing": passing, **rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    results = {}
    if not args.no_demo:
        demo = demo_cards()
        results["demo"] = report("demo", [check(card, talk) for card, talk in demo],
                                 [roles_info(card) for card, _ in demo])  # fmt: skip
    if args.corpus:
        cards = corpus_cards(args.corpus, args.limit)
        results["corpus"] = report(f"corpus {args.corpus.name}", [check(c) for c in cards],
                                   [roles_info(c) for c in cards])  # fmt: skip
    line = "; ".join(f"{k}: {v['cards']} cards, {v['passing']:.1%} meet every rule"
                     for k, v in results.items())  # fmt: skip
    print(f"card quality: {line or 'nothing to check (give a corpus or drop --no-demo)'}")


if __name__ == "__main__":
    main()
