"""Story assignment at scale: 20,000 generated items, target <= 20 s on 2 cores and <= 1 GB.

Usage: python bench/dedupe_scale.py [--items N] [--days D] [--db]

Items are generated news: events (fictional entity names plus event words) reported by one to
six sources in rewritten form, some as exact copies (same URL) or near-copies (boilerplate
added), spread over D days. The timed path is story assignment: signatures (on up to 2
processes), `StoryIndex` matching and related stories in time order, then the second pass over
the batch (`regroup`), as the stage does.
With --db the same items also go through `run_dedupe` on a temporary SQLite database (items
and articles inserted first, not timed); the targets then apply to that path too. Prints wall
time, CPU time of the process tree (signature workers included, sampled), peak resident memory
of the process tree (sampled; for --db during run_dedupe, and what the process held when it
started: the generated items and the setup), pairwise precision/recall against the generated
events, load average.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.dedupe.index import Doc, StoryIndex, place, signatures
from aggregator.dedupe.regroup import Placed, regroup

START = datetime(2026, 1, 5, tzinfo=UTC)
SYLLABLES = [
    "ka",
    "lo",
    "ri",
    "ven",
    "tor",
    "mi",
    "sa",
    "del",
    "quo",
    "ran",
    "zi",
    "pe",
    "nor",
    "val",
    "bu",
    "che",
    "dro",
    "fa",
    "gil",
    "hu",
    "jin",
    "kor",
    "lum",
    "mas",
    "nix",
    "pra",
]
HOT_ENTITIES = 300  # names that recur across many events (big companies, popular models)
COMMON = [
    "model",
    "company",
    "release",
    "users",
    "data",
    "cloud",
    "chip",
    "policy",
    "research",
    "team",
    "market",
    "price",
    "launch",
    "service",
    "update",
    "report",
    "system",
    "software",
    "network",
    "security",
    "startup",
    "funding",
    "open",
    "source",
    "platform",
    "customers",
    "developers",
    "engineers",
    "results",
    "performance",
    "version",
    "new",
    "week",
]


@dataclass
class Generated:
    doc: Doc
    event: int


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _event_text(rng: random.Random, entities: list[str], facts: list[str], words: int) -> str:
    out = []
    while len(out) < words:
        pool = entities if rng.random() < 0.15 else facts if rng.random() < 0.45 else COMMON
        out.append(rng.choice(pool))
        if rng.random() < 0.08:
            out[-1] += "."
    return " ".join(out)


def generate(n_items: int, days: int, seed: int = 7) -> list[Generated]:
    """Return n_items generated items in time order, labelled with their event."""
    rng = random.Random(seed)
    hot = [_name(rng) for _ in range(HOT_ENTITIES)]
    items: list[Generated] = []
    event = 0
    while len(items) < n_items:
        entities = [rng.choice(hot), _name(rng), _name(rng)]
        facts = [_name(rng).lower() for _ in range(12)] + rng.sample(COMMON, 5)
        when = START + timedelta(minutes=rng.randint(0, days * 24 * 60))
        base_text = _event_text(rng, entities, facts, rng.randint(150, 500))
        base_title = " ".join(rng.sample(entities, 2) + rng.sample(facts, 3))
        url = f"https://news{event % 50}.example/{event}"
        for copy in range(rng.choice([1, 1, 2, 2, 3, 4, 6])):
            at = when + timedelta(minutes=rng.randint(0, 36 * 60))
            roll = rng.random()
            if copy and roll < 0.15:  # the same URL again (Reddit post linking the article)
                doc = Doc(len(items), base_title, base_text, at, canonical_url=url)
            elif copy and roll < 0.3:  # syndicated copy with extra boilerplate
                doc = Doc(
                    len(items),
                    base_title,
                    base_text + " Republished with permission.",
                    at,
                    canonical_url=f"https://wire{copy}.example/{event}",
                )
            elif copy:  # a rewrite from the same facts
                title = " ".join(rng.sample(entities, 2) + rng.sample(facts, 3))
                doc = Doc(
                    len(items),
                    title,
                    _event_text(rng, entities, facts, rng.randint(120, 400)),
                    at,
                    canonical_url=f"https://outlet{copy}.example/{event}",
                )
            else:
                doc = Doc(len(items), base_title, base_text, at, canonical_url=url)
            items.append(Generated(doc, event))
        event += 1
    items = items[:n_items]
    items.sort(key=lambda g: (g.doc.published_at, g.doc.item_id))
    return items


def assign(items: list[Generated], workers: int) -> dict[int, int]:
    """Return item id -> story key, placing items through StoryIndex in time order and then
    regrouping the batch (the second pass), as the stage does."""
    index = StoryIndex()
    sigs = list(signatures([(g.doc.title, g.doc.text) for g in items], workers))
    index.prime(sigs)  # as the stage does: the batch's terms count before any item is placed
    batch: list[Placed] = []
    for generated, sig in zip(items, sigs, strict=True):
        doc = generated.doc
        neighbours: dict[int, float] = {}
        match, _ = place(index, doc, sig, doc.item_id, True, neighbours)
        batch.append(
            Placed(doc, sig, doc.item_id if match is None else match.story, match, neighbours)
        )
    final = regroup(index, batch, fixed=set())
    return {g.doc.item_id: story for g, (story, _) in zip(items, final, strict=True)}


def pairwise(items: list[Generated], story_of: dict[int, int]) -> tuple[float, float]:
    """Return pairwise precision and recall of the story assignment against the events."""

    def pairs(counter: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter((story_of[g.doc.item_id], g.event) for g in items))
    predicted = pairs(Counter(story_of[g.doc.item_id] for g in items))
    actual = pairs(Counter(g.event for g in items))
    return both / max(1, predicted), both / max(1, actual)


def run_db(items: list[Generated]) -> tuple[float, PeakMemory]:
    """Return the seconds run_dedupe takes for the items on a fresh SQLite database, and the
    process tree's CPU and memory during those seconds."""
    from aggregator.config import load_settings
    from aggregator.context import open_context
    from aggregator.db import claims
    from aggregator.db.models import Article, Item, Source
    from aggregator.dedupe.stage import run_dedupe

    folder = Path(tempfile.mkdtemp(prefix="dedupe-bench-"))
    settings = load_settings(
        folder / "none.toml",
        env={},
        required=False,
        overrides={"database": {"url": f"sqlite:///{folder / 'bench.db'}"}},
    )
    ctx = open_context(settings)
    with ctx.session() as session:
        source = Source(name="bench", kind="rss", url="https://bench.example/feed")
        session.add(source)
        session.flush()
        rows = [
            Item(
                id=g.doc.item_id + 1,
                source_id=source.id,
                guid_hash=f"{g.doc.item_id:064d}",
                title=g.doc.title,
                canonical_url=g.doc.canonical_url,
                published_at=g.doc.published_at,
            )
            for g in items
        ]
        session.add_all(rows)
        session.flush()
        session.add_all(
            Article(
                item_id=r.id, text=g.doc.text, word_count=len(g.doc.text.split()), method="bench"
            )
            for r, g in zip(rows, items, strict=True)
        )
        claims.enqueue(session, "dedupe", [r.id for r in rows])
    with PeakMemory() as memory:
        started = time.perf_counter()
        while run_dedupe(ctx, limit=len(items)).processed:
            pass
        elapsed = time.perf_counter() - started
    ctx.engine.dispose()
    return elapsed, memory


def _tree(root: int) -> dict[int, tuple[float, float]]:
    """Return pid -> (resident MB, CPU seconds) for a process and its descendants, from /proc."""
    parents: dict[int, int] = {}
    usage: dict[int, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        usage[int(entry.name)] = (int(fields[21]) * resource.getpagesize() / 2**20, cpu)
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    return {pid: usage[pid] for pid in tree if pid in usage}


class PeakMemory:
    """Samples this process tree every 50 ms (signature workers included): peak resident
    memory, and CPU seconds spent inside the block (a worker's last < 50 ms may be missed)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.before = 0.0  # resident MB when the block started
        self.cpu = 0.0
        self._cpu_at_start: dict[int, float] = {}
        self._cpu_seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        tree = _tree(os.getpid())
        self.peak = max(self.peak, sum(rss for rss, _ in tree.values()))
        self._cpu_seen.update((pid, cpu) for pid, (_, cpu) in tree.items())
        own = os.times()
        self._cpu_seen[os.getpid()] = own.user + own.system  # exact for this process

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._sample()
        self.before = self.peak
        self._cpu_at_start = dict(self._cpu_seen)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        start = self._cpu_at_start
        self.cpu = sum(cpu - start.get(pid, 0.0) for pid, cpu in self._cpu_seen.items())


def main() -> int:
    """Generate, assign, and print time, memory and accuracy; return 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--db", action="store_true", help="also time run_dedupe on SQLite")
    args = parser.parse_args()
    items = generate(args.items, args.days)
    workers = min(2, os.cpu_count() or 1)
    with PeakMemory() as memory:
        started = time.perf_counter()
        story_of = assign(items, workers)
        elapsed = time.perf_counter() - started
    precision, recall = pairwise(items, story_of)
    peak_mb = memory.peak
    ok = elapsed <= 20 and peak_mb <= 1024
    db_part = ""
    if args.db:
        seconds, db_memory = run_db(items)
        db_part = (
            f", run_dedupe on SQLite {seconds:.1f} s (CPU {db_memory.cpu:.1f} s, peak "
            f"{db_memory.peak:.0f} MB of which {db_memory.before:.0f} MB held before the run)"
        )
        ok = ok and seconds <= 20 and db_memory.peak <= 1024
    print(
        f"dedupe_scale: {len(items)} items -> {len(set(story_of.values()))} stories "
        f"({len({g.event for g in items})} events) in {elapsed:.1f} s (CPU {memory.cpu:.1f} s) "
        f"on {workers} cores, peak memory {peak_mb:.0f} MB (process tree){db_part}, "
        f"pairwise precision {precision:.3f} recall {recall:.3f}, "
        f"load average {os.getloadavg()[0]:.1f}, "
        f"targets <=20 s and <=1 GB{' (both paths)' if args.db else ''}: "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
