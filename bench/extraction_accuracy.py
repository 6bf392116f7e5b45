"""Extraction accuracy and speed on the Scrapinghub article-extraction benchmark.

Usage: python bench/extraction_accuracy.py PATH [--limit N] [--worst K]

PATH is the corpus folder (html/<id>.html.gz, ground-truth.json). Every page goes through
`aggregator.extract.article.extract(raw_bytes, url)`. Scoring follows the benchmark's own metric:
tokens are regex \\w+ runs, shingles are token 4-grams matched as multisets; per document
precision = TP/(TP+FP) and recall = TP/(TP+FN); both are averaged over documents and F1 is
the harmonic mean of the two averages. Speed is single-process: documents per CPU second
(per core), with the wall-clock rate beside it. Targets: F1 >= 0.95, >= 60 docs/s per core.

The same pages also go through plain `trafilatura.extract` (default options) and
`trafilatura.bare_extraction` for its author, in the same run, so the two are compared under
the same load. Author rate: the share of pages that show an author (ours or trafilatura's
finds one; the benchmark has no author truth) on which each one found it.
Targets beside plain trafilatura: F1 >= its F1, author found on >= 70% of those pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from aggregator.extract import extract

_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Return the multiset of token n-grams of a text (the whole text when shorter than n)."""
    tokens = _TOKEN.findall(text or "")
    if len(tokens) < n:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def precision_recall(predicted: str, expected: str) -> tuple[float, float]:
    """Return (precision, recall) of one prediction; two empty texts count as a perfect match."""
    got, want = shingles(predicted), shingles(expected)
    tp = sum((got & want).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    if tp + fp + fn == 0:
        return 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def scored(
    predicted: dict[str, str], truth: dict, ids: list[str]
) -> tuple[float, float, float, dict]:
    """Return (F1, precision, recall, per-page scores) of predictions against the truth."""
    scores = {i: precision_recall(predicted[i], truth[i]["articleBody"]) for i in ids}
    precision = sum(p for p, _ in scores.values()) / len(ids)
    recall = sum(r for _, r in scores.values()) / len(ids)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall, scores


def plain_trafilatura(
    bodies: dict[str, bytes], truth: dict, ids: list[str]
) -> tuple[dict, dict, float]:
    """Return plain trafilatura's texts, its authors and its CPU seconds for the texts."""
    import trafilatura

    cpu = time.process_time()
    texts = {i: trafilatura.extract(bodies[i], url=truth[i]["url"]) or "" for i in ids}
    cpu = time.process_time() - cpu
    authors = {}
    for i in ids:
        doc = trafilatura.bare_extraction(bodies[i], url=truth[i]["url"], with_metadata=True)
        authors[i] = getattr(doc, "author", None) if doc is not None else None
    return texts, authors, cpu


def main() -> int:
    """Extract every page, print per-corpus P/R/F1 and docs/s; return 1 below the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    parser.add_argument("--worst", type=int, default=0, help="list the K lowest-F1 pages")
    args = parser.parse_args()
    truth_path = args.path / "ground-truth.json"
    if not truth_path.is_file():
        print(f"extraction_accuracy: no ground-truth.json in {args.path}", file=sys.stderr)
        return 2
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    ids = sorted(truth)[: args.limit or None]
    bodies = {i: gzip.decompress((args.path / "html" / f"{i}.html.gz").read_bytes()) for i in ids}
    extract(bodies[ids[0]], truth[ids[0]]["url"])  # warm-up: imports and lazy tables
    started, cpu_started = time.perf_counter(), time.process_time()
    ours = {i: extract(bodies[i], truth[i]["url"]) for i in ids}
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    f1, precision, recall, scores = scored({i: ours[i].text for i in ids}, truth, ids)
    # One process is one core: CPU seconds give the per-core rate even on a busy machine.
    rate, wall_rate = len(ids) / cpu, len(ids) / elapsed
    for i in sorted(ids, key=lambda i: sum(scores[i]))[: args.worst]:
        print(f"  P={scores[i][0]:.2f} R={scores[i][1]:.2f} {truth[i]['url']}")
    texts, authors, plain_cpu = plain_trafilatura(bodies, truth, ids)
    plain_f1, plain_p, plain_r, _ = scored(texts, truth, ids)
    shown = [i for i in ids if ours[i].author or authors[i]]
    our_authors = sum(1 for i in shown if ours[i].author) / max(1, len(shown))
    plain_authors = sum(1 for i in shown if authors[i]) / max(1, len(shown))
    print(
        f"  ours:              F1 {f1:.4f} (P {precision:.4f}, R {recall:.4f}), "
        f"{rate:.1f} docs/s per core, author on {our_authors:.0%} of {len(shown)} pages"
    )
    print(
        f"  plain trafilatura: F1 {plain_f1:.4f} (P {plain_p:.4f}, R {plain_r:.4f}), "
        f"{len(ids) / plain_cpu:.1f} docs/s per core, author on {plain_authors:.0%}"
    )
    ok = f1 >= 0.95 and rate >= 60 and f1 >= plain_f1 and our_authors >= 0.7
    print(
        f"extraction_accuracy: docs {len(ids)}, F1 {f1:.4f} vs plain trafilatura {plain_f1:.4f}, "
        f"{rate:.1f} docs/s per core ({cpu:.1f} CPU s; wall {wall_rate:.1f} docs/s, load "
        f"average {os.getloadavg()[0]:.1f}), author {our_authors:.0%} vs {plain_authors:.0%}, "
        f"targets F1>=0.95 and >= plain, >=60 docs/s, author >=70%: {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
