"""Compare sentence segmenters (sentencex, syntok, pysbd) on real article text; one summary line each.

Usage: python bench/segmenters.py /path/to/corpora/extraction/scrapinghub-aeb [--limit N]

No gold sentence boundaries exist for these pages, so it counts the errors a reader sees:
a "sentence" ending in a known abbreviation or an initial (a split at "Dr." or "U.S."),
a sentence starting with a lower-case letter (a split inside a sentence), a quote that
opens and never closes, and the time taken.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

_ABBREV = re.compile(
    r"(?:\b(?:Dr|Mr|Mrs|Ms|Prof|St|Sen|Rep|Gov|Gen|Inc|Co|Corp|Jr|Sr|No|vs|etc|e\.g|i\.e|Jan|Feb|"
    r"Aug|Sept|Oct|Nov|Dec)|\b[A-Z](?:\.[A-Z])*)\.$"
)


def _segmenters() -> dict:
    """Return name -> function(paragraph) -> list of sentences, for each installed segmenter."""
    found = {}
    try:
        import sentencex

        found["sentencex"] = lambda text: list(sentencex.segment("en", text))
    except ImportError:
        pass
    try:
        from syntok import segmenter

        def syntok_split(text: str) -> list[str]:
            out = []
            for paragraph in segmenter.analyze(text):
                for sentence in paragraph:
                    out.append("".join(t.spacing + t.value for t in sentence).strip())
            return out

        found["syntok"] = syntok_split
    except ImportError:
        pass
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        found["pysbd"] = seg.segment
    except ImportError:
        pass
    return found


def _errors(sentences: list[str]) -> tuple[int, int, int]:
    """Return (abbreviation splits, lower-case starts, unclosed quotes) among sentences."""
    abbrev = lower = quotes = 0
    for i, s in enumerate(s.strip() for s in sentences):
        if not s:
            continue
        if i + 1 < len(sentences) and _ABBREV.search(s):
            abbrev += 1
        if i and s[0].islower():
            lower += 1
        if s.count('"') % 2 or s.count("“") != s.count("”"):
            quotes += 1
    return abbrev, lower, quotes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limit", type=int, default=181)
    args = parser.parse_args()
    truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
    paragraphs = [
        p.strip()
        for item in list(truth.values())[: args.limit]
        for p in item["articleBody"].split("\n")
        if p.strip()
    ]
    print(f"{len(paragraphs)} paragraphs from {min(args.limit, len(truth))} articles")
    for name, split in _segmenters().items():
        started = time.perf_counter()
        totals = [0, 0, 0, 0]
        for paragraph in paragraphs:
            sentences = split(paragraph)
            totals[0] += len(sentences)
            for k, v in enumerate(_errors(sentences)):
                totals[k + 1] += v
        took = time.perf_counter() - started
        print(
            f"{name:10s} sentences={totals[0]} abbreviation_splits={totals[1]} "
            f"lowercase_starts={totals[2]} unclosed_quotes={totals[3]} seconds={took:.2f}"
        )


if __name__ == "__main__":
    main()
