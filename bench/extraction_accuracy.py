"""Extraction accuracy and speed on the Scrapinghub article-extraction benchmark.

Usage: python bench/extraction_accuracy.py PATH [--limit N] [--worst K]

PATH is the corpus folder (html/<id>.html.gz, ground-truth.json). Every page goes through
`aggregator.extract.article.extract(raw_bytes, url)`. Scoring follows the benchmark's own metric:
tokens are regex \\w+ runs, shingles are token 4-grams matched as multisets; per document
precision = TP/(TP+FP) and recall = TP/(TP+FN); both are averaged over documents and F1 is
the harmonic mean of the two averages. Speed is single-process: documents per CPU second
(per core), with the wall-clock rate beside it. Targets: F1 >= 0.95, >= 60 docs/s per core.
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
    predicted = {i: extract(bodies[i], truth[i]["url"]).text for i in ids}
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    scores = {i: precision_recall(predicted[i], truth[i]["articleBody"]) for i in ids}
    precision = sum(p for p, _ in scores.values()) / len(ids)
    recall = sum(r for _, r in scores.values()) / len(ids)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # One process is one core: CPU seconds give the per-core rate even on a busy machine.
    rate, wall_rate = len(ids) / cpu, len(ids) / elapsed
    for i in sorted(ids, key=lambda i: sum(scores[i]))[: args.worst]:
        print(f"  P={scores[i][0]:.2f} R={scores[i][1]:.2f} {truth[i]['url']}")
    ok = f1 >= 0.95 and rate >= 60
    print(
        f"extraction_accuracy: docs {len(ids)}, F1 {f1:.4f}, precision {precision:.4f}, "
        f"recall {recall:.4f}, {rate:.1f} docs/s per core ({cpu:.1f} CPU s; wall {wall_rate:.1f} "
        f"docs/s, load average {os.getloadavg()[0]:.1f}), "
        f"targets F1>=0.95 and >=60 docs/s: {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
