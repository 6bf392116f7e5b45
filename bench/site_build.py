"""Benchmark: publish 10,000 stories with cards (full build), then after 10 new stories (incremental).

Targets (issue 6): full build <= 10 s, incremental <= 1 s, peak memory <= 300 MB.
Each build runs in a fresh child process; its peak memory is sampled from /proc as PSS summed
over the build and the child it forks (shared pages counted once), with each process's peak
RSS beside it. Search indexing (pagefind) is excluded from the timings: it runs after the
swap and is optional.

    python bench/site_build.py [--stories 10000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from aggregator.config import load_settings
from aggregator.context import open_context
from aggregator.db.models import Card, Item, Source, Story, StoryRelation, StoryTopic

TOPICS = [
    {"slug": f"topic-{i}", "name": f"Topic {i}", "description": f"About {i}"} for i in range(8)
]
WORDS = [
    "model",
    "inference",
    "cost",
    "benchmark",
    "dataset",
    "latency",
    "open",
    "weights",
    "agent",
    "eval",
    "token",
    "GPU",
    "training",
    "serving",
    "policy",
    "research",
    "release",
    "pricing",
    "safety",
    "context",
    "window",
]


def settings_for(workdir: Path):
    """Return settings pointing at the bench DB and site."""
    return load_settings(
        workdir / "none.toml",
        env={},
        required=False,
        overrides={
            "site": {"output_dir": str(workdir / "site"), "base_url": "https://news.example.org/"},
            "database": {"url": f"sqlite:///{workdir / 'bench.db'}"},
            "topics": TOPICS,
        },
    )


def sentence(rng: random.Random, n: int) -> str:
    """Return n pseudo-random words as a sentence."""
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def card(rng: random.Random, title: str) -> dict:
    """Return a realistic card (about 2-3 KB of JSON)."""

    def points(k: int) -> list[dict]:
        return [{"text": sentence(rng, 22), "citations": [sentence(rng, 12)]} for _ in range(k)]

    return {
        "title": title,
        "hook": sentence(rng, 18),
        "tldr": {
            "what_changed": sentence(rng, 20),
            "why_it_matters": sentence(rng, 25),
            "what_to_do_next": sentence(rng, 18),
        },
        "key_takeaways": points(4),
        "technical_deep_dive": points(3),
        "future_implications": points(2),
        "topics": [],
        "entities": ["OpenAI", "Llama"],
        "timeliness": rng.choice(["time-bound", "evergreen"]),
    }


def _sources(s) -> list:
    """Return (id, kind) of the bench sources, creating ten (two Reddit) the first time."""
    if not s.execute(select(Source.id)).first():
        rows = [
            {
                "name": f"Source {i}",
                "kind": "reddit" if i < 2 else "rss",
                "url": f"https://s{i}.example.org/feed",
            }
            for i in range(10)
        ]
        s.execute(insert(Source), rows)
    return s.execute(select(Source.id, Source.kind)).all()


def _items(rng: random.Random, n: int, first: int, when: datetime, title: str, sources: list):
    """Return one to three item rows for story n, ids from `first`."""
    out = []
    for k in range(rng.randint(1, 3)):
        src_id, kind = rng.choice(sources)
        engagement = (
            {
                "score": rng.randint(1, 900),
                "comments": rng.randint(0, 200),
                "permalink": f"/r/x/comments/{n}/",
            }
            if kind == "reddit"
            else {}
        )
        out.append(
            {
                "id": first + k,
                "source_id": src_id,
                "guid_hash": f"{n}-{k}",
                "url": f"https://pub{src_id}.example.org/{n}/{k}",
                "title": title,
                "published_at": when,
                "story_id": n,
                "kind": kind,
                "engagement": engagement,
            }
        )
    return out


def add_stories(ctx, count: int, start: int, now: datetime, seed: int) -> None:
    """Insert `count` stories (ids from start+1) with items, topics, relations and cards."""
    rng = random.Random(seed)
    tables: dict = {Story: [], Item: [], StoryTopic: [], StoryRelation: [], Card: []}
    with ctx.session() as s:
        sources = _sources(s)
        for n in range(start + 1, start + count + 1):
            when = now - timedelta(minutes=53 * (start + count - n))
            year, week, _ = when.isocalendar()
            title = f"{sentence(rng, 7)[:-1]} #{n}"
            tables[Item] += _items(rng, n, n * 3, when, title, sources)
            tables[Story].append(
                {
                    "id": n,
                    "uid": f"st{n:08d}",
                    "slug": f"story-{n}",
                    "title": title,
                    "primary_item_id": n * 3,
                    "published_at": when,
                    "week": f"{year}-W{week:02d}",
                }
            )
            tables[StoryTopic] += [
                {"story_id": n, "topic_slug": f"topic-{t}", "score": rng.random()}
                for t in rng.sample(range(8), 2)
            ]
            related = {rng.randint(max(1, n - 500), n - 1) for _ in range(3)} if n > 1 else set()
            tables[StoryRelation] += [
                {"story_id": n, "related_story_id": r, "score": rng.random()}
                for r in sorted(related)
            ]
            body = card(rng, title)
            tables[Card].append(
                {
                    "story_id": n,
                    "card": body,
                    "mode": rng.choice(["llm", "extractive"]),
                    "model": "gpt-4o-mini",
                    "grounded_ratio": rng.choice([1.0, 0.8]),
                    "content_hash": hashlib.sha256(repr(body).encode()).hexdigest(),
                    "updated_at": when + timedelta(minutes=2),
                }
            )
        for table, rows in tables.items():
            s.execute(insert(table), rows)


def _cpu() -> float:
    """Return CPU seconds (user + system) of this process and its reaped children."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_build(workdir: Path) -> None:
    """Run one publish in this process and print its timing as JSON."""
    from aggregator.publish.stage import run_publish

    ctx = open_context(settings_for(workdir), migrate=False)
    started, before = time.perf_counter(), _cpu()
    report = run_publish(ctx, search=False)
    seconds, cpu = time.perf_counter() - started, {"cpu": _cpu() - before}
    print(json.dumps({"seconds": seconds, "errors": report.errors, **cpu, **report.details}))


def _kib(pid: int, field: str) -> int:
    """Return one smaps_rollup field (Rss or Pss) of a process in KiB, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """Return pid and its children (the build forks one to render item pages)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [pid, *map(int, fh.read().split())]
    except FileNotFoundError:
        return [pid]


def _sample_memory(pid: int, peaks: dict, stop: threading.Event) -> None:
    """Record the build's peak memory: PSS summed over its processes, and each one's peak RSS.

    PSS counts a page shared by the parent and its forked child once (split between them),
    so the sum is the memory the build really holds; RSS would count shared pages twice.
    """
    while not stop.wait(0.02):
        pids = _tree(pid)
        peaks["pss"] = max(peaks.get("pss", 0), sum(_kib(p, "Pss") for p in pids))
        for n, p in enumerate(pids):
            key = "rss_parent" if n == 0 else "rss_child"
            peaks[key] = max(peaks.get(key, 0), _kib(p, "Rss"))


def measured_build(workdir: Path) -> dict:
    """Run a build in a child process; return its report plus peak memory in MB."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks: dict[str, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_memory, args=(proc.pid, peaks, stop))
    sampler.start()
    out = proc.stdout.read() if proc.stdout else ""
    stop.set()
    sampler.join()
    if proc.wait() != 0:
        raise SystemExit(f"bench: build failed ({proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peaks.get("pss", 0) / 1024
    result["rss_parent_mb"] = peaks.get("rss_parent", 0) / 1024
    result["rss_child_mb"] = peaks.get("rss_child", 0) / 1024
    return result


def filesystem_floor(site: Path, scratch: Path) -> float:
    """Return seconds to write the built site's files again (same paths and sizes): the FS cost."""
    files = [(p.relative_to(site), p.stat().st_size) for p in site.rglob("*") if p.is_file()]
    started = time.perf_counter()
    made: set[Path] = set()
    for rel, size in files:
        target = scratch / rel
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(b"x" * size)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="site-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        child_build(workdir)
        return
    ctx = open_context(settings_for(workdir))
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    started = time.perf_counter()
    add_stories(ctx, args.stories, 0, now, seed=1)
    print(f"generated {args.stories} stories in {time.perf_counter() - started:.1f}s ({workdir})")
    full = measured_build(workdir)
    print(
        f"full build: {full['seconds']:.2f}s wall, {full['cpu']:.1f}s CPU in all processes, "
        f"{full['files']} files ({full['files'] / full['seconds']:.0f} files/s), "
        f"peak {full['peak_mb']:.0f} MB PSS (RSS: parent {full['rss_parent_mb']:.0f} MB, "
        f"forked child {full['rss_child_mb']:.0f} MB)"
    )
    floor = filesystem_floor(workdir / "site", workdir / "floor")
    print(f"filesystem floor: writing the same {full['files']} files alone took {floor:.2f}s")
    add_stories(ctx, 10, args.stories, now + timedelta(hours=10), seed=2)
    inc = measured_build(workdir)
    print(
        f"incremental build: {inc['seconds']:.2f}s wall, {inc['cpu']:.1f}s CPU, "
        f"{inc['written']} files written ({inc['mode']}), peak {inc['peak_mb']:.0f} MB PSS"
    )
    peak = max(full["peak_mb"], inc["peak_mb"])
    ok = full["seconds"] <= 10 and inc["seconds"] <= 1 and peak <= 300
    print(
        f"site_build: {'PASS' if ok else 'FAIL'} full {full['seconds']:.2f}s (<=10) "
        f"{full['files'] / full['seconds']:.0f} pages/s, incremental {inc['seconds']:.2f}s (<=1), "
        f"peak {peak:.0f} MB (<=300), search indexing excluded, fs floor {floor:.2f}s"
    )


if __name__ == "__main__":
    main()
