"""Story grouping quality on a labelled JSONL set: group_documents beside a TF-IDF baseline.

Usage: python bench/grouping_quality.py PATH [--threshold 0.25] [--shuffles 3] [--repeat 10]

PATH is a JSONL file, one document a line: {id, title, text, gold} (optional published_at,
source). Documents go to `aggregator.dedupe.group_documents` in file order; undated documents
share one arrival window, so only content decides. The baseline is plain online single-link
clustering over scikit-learn TF-IDF vectors (sublinear tf, English stop words, fitted on the
whole set): each document joins the cluster of its most similar earlier document when the
cosine reaches --threshold. Scores: B-cubed precision/recall/F1 over documents, pairwise F1,
adjusted Rand index. Both methods are scored on the whole set and on two halves split by the
gold label's topic number (the part before "_": odd-numbered positions form "dev-a", the
others "dev-b") so that a gain found on one half can be checked on the other. Shuffled runs
feed the same documents in --shuffles random orders; the summary gives the largest change
of B-cubed F1 (the baseline's shuffled scores are printed beside). Speed is group_documents'
documents per second on one core (signatures included), the best of --repeat runs (default
10: on a shared 2-vCPU machine single runs swing by a quarter, and the best run is the one
least disturbed), beside the baseline's; the median run is printed too. Targets: B-cubed F1
>= 0.90 and above the baseline, shuffled change <= 0.02, >= 2,000 docs/s. Needs scikit-learn (the
`bench` extra) for the baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aggregator.dedupe import group_documents

Docs = Sequence[dict[str, Any]]


def bcubed(predicted: dict[Any, Any], gold: dict[Any, Any]) -> tuple[float, float, float]:
    """Return B-cubed precision, recall and F1 of a clustering against gold labels."""
    clusters: dict[Any, set] = defaultdict(set)
    classes: dict[Any, set] = defaultdict(set)
    for key in gold:
        clusters[predicted[key]].add(key)
        classes[gold[key]].add(key)
    precision = recall = 0.0
    for key in gold:
        both = len(clusters[predicted[key]] & classes[gold[key]])
        precision += both / len(clusters[predicted[key]])
        recall += both / len(classes[gold[key]])
    precision, recall = precision / len(gold), recall / len(gold)
    return precision, recall, _f1(precision, recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _pairs(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def pairwise_f1(predicted: dict[Any, Any], gold: dict[Any, Any]) -> float:
    """Return the F1 of same-cluster decisions over all pairs of documents."""
    both = _pairs(Counter((predicted[k], gold[k]) for k in gold))
    said = _pairs(Counter(predicted[k] for k in gold))
    true = _pairs(Counter(gold[k] for k in gold))
    return _f1(both / said if said else 1.0, both / true if true else 1.0)


def adjusted_rand(predicted: dict[Any, Any], gold: dict[Any, Any]) -> float:
    """Return the adjusted Rand index of a clustering against gold labels."""
    n = len(gold)
    both = _pairs(Counter((predicted[k], gold[k]) for k in gold))
    said = _pairs(Counter(predicted[k] for k in gold))
    true = _pairs(Counter(gold[k] for k in gold))
    expected = said * true / math.comb(n, 2) if n > 1 else 0.0
    top = (said + true) / 2
    return (both - expected) / (top - expected) if top != expected else 1.0


def baseline(docs: Docs, threshold: float) -> dict[Any, Any]:
    """Return online single-link clusters over scikit-learn TF-IDF vectors of title + text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
        [f"{d.get('title') or ''}\n{d.get('text') or ''}" for d in docs]
    )
    similarity = (vectors @ vectors.T).toarray()
    out: dict[Any, Any] = {}
    for i, doc in enumerate(docs):
        best = int(similarity[i, :i].argmax()) if i else -1
        joins = best >= 0 and similarity[i, best] >= threshold
        out[doc["id"]] = out[docs[best]["id"]] if joins else doc["id"]
    return out


def halves(docs: Docs) -> dict[str, list[dict[str, Any]]]:
    """Return the whole set and its two topic halves (alternate topics, sorted by number)."""
    topics = sorted({str(d["gold"]).split("_")[0] for d in docs}, key=_topic_number)
    first = set(topics[0::2])
    return {
        "all": list(docs),
        "dev-a": [d for d in docs if str(d["gold"]).split("_")[0] in first],
        "dev-b": [d for d in docs if str(d["gold"]).split("_")[0] not in first],
    }


def _topic_number(topic: str) -> tuple[int, str]:
    return (int(topic), topic) if topic.isdigit() else (10**9, topic)


def scores(docs: Docs, method: Callable[[Docs], dict[Any, Any]]) -> dict[str, float]:
    """Return the scores of one method on one set of documents."""
    gold = {d["id"]: d["gold"] for d in docs}
    predicted = method(docs)
    precision, recall, f1 = bcubed(predicted, gold)
    return {
        "P": precision,
        "R": recall,
        "F1": f1,
        "pairF1": pairwise_f1(predicted, gold),
        "ARI": adjusted_rand(predicted, gold),
        "stories": len({predicted[k] for k in gold}),
    }


def rate(docs: Docs, method: Callable[[Docs], Any], repeat: int) -> tuple[float, float]:
    """Return the best and the median documents-per-second of a method over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        method(docs)
        times.append(time.process_time() - started)
    times.sort()
    best, median = times[0], times[len(times) // 2]
    return (
        len(docs) / best if best > 0 else math.inf,
        len(docs) / median if median > 0 else math.inf,
    )


def _line(name: str, part: str, s: dict[str, float]) -> str:
    return (
        f"{name:<9} {part:<6} P {s['P']:.3f} R {s['R']:.3f} B3-F1 {s['F1']:.3f} "
        f"pair-F1 {s['pairF1']:.3f} ARI {s['ARI']:.3f} stories {s['stories']:.0f}"
    )


def load(path: Path) -> list[dict[str, Any]]:
    """Return the documents of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> int:
    """Score both methods, print a table and a summary; return 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--threshold", type=float, default=0.25, help="baseline cosine")
    parser.add_argument("--shuffles", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs (the best counts)")
    args = parser.parse_args()
    if not args.path.is_file():
        print(f"grouping_quality: no such file {args.path}", file=sys.stderr)
        return 2
    docs = load(args.path)
    ours = group_documents

    def base(d: Docs) -> dict[Any, Any]:
        return baseline(d, args.threshold)

    results: dict[tuple[str, str], dict[str, float]] = {}
    for part, subset in halves(docs).items():
        for name, method in (("ours", ours), ("baseline", base)):
            results[(name, part)] = scores(subset, method)
            print(_line(name, part, results[(name, part)]))
    f1 = results[("ours", "all")]["F1"]
    changes = []
    for seed in range(args.shuffles):
        shuffled = list(docs)
        random.Random(seed).shuffle(shuffled)
        s = scores(shuffled, ours)
        changes.append(s["F1"] - f1)
        print(_line("ours", f"shuf{seed}", s) + f" (change {s['F1'] - f1:+.3f})")
        b = scores(shuffled, base)
        change = b["F1"] - results[("baseline", "all")]["F1"]
        print(_line("baseline", f"shuf{seed}", b) + f" (change {change:+.3f})")
    words = sum(len(f"{d.get('title') or ''} {d.get('text') or ''}".split()) for d in docs)
    ours_rate, ours_median = rate(docs, ours, args.repeat)
    base_rate, _ = rate(docs, base, args.repeat)
    worst = max((abs(c) for c in changes), default=0.0)
    base_f1 = results[("baseline", "all")]["F1"]
    ok = f1 >= 0.90 and f1 > base_f1 and worst <= 0.02 and ours_rate >= 2000
    print(
        f"grouping_quality: {len(docs)} docs ({words / len(docs):.0f} words each), "
        f"B-cubed F1 ours {f1:.3f} vs baseline {base_f1:.3f} (dev-a "
        f"{results[('ours', 'dev-a')]['F1']:.3f} vs {results[('baseline', 'dev-a')]['F1']:.3f}, "
        f"dev-b {results[('ours', 'dev-b')]['F1']:.3f} vs "
        f"{results[('baseline', 'dev-b')]['F1']:.3f}), largest shuffled change {worst:.3f}, "
        f"{ours_rate:,.0f} docs/s per core (median of {args.repeat} runs {ours_median:,.0f}; "
        f"baseline {base_rate:,.0f}); targets F1 >= 0.90 and "
        f"above baseline, shuffled <= 0.02, >= 2,000 docs/s: {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
