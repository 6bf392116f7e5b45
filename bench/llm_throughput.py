"""Summarize throughput against a local OpenAI-compatible server with a fixed latency.

Goal (issue 5): 500 stories, server answering in 300 ms, concurrency 8:
wall time <= 1.15 x (500 x 0.3 / 8) s, measured from the first request to the last answer as
the server saw them, with ONE summarize call (the `summarize` command's drain) taking all
500 stories; and our own overhead per story <= 20 ms, measured as
the CPU time this process (engine, SDK, SQLite writes) spends per story. The server runs in
its own process; the wall time each slot loses beyond the server's delay is printed beside
it, with a bare-HTTP-client baseline showing what the machine itself costs.

    python bench/llm_throughput.py [--stories 500] [--delay 0.3] [--concurrency 8]
                                   [--prompt summarize_item/v2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aggregator.clock import utcnow  # noqa: E402
from aggregator.config import load_settings  # noqa: E402
from aggregator.context import open_context  # noqa: E402
from aggregator.db.models import Article, Item, Job, Source, Story  # noqa: E402
from aggregator.summarize.stage import run_summarize  # noqa: E402

_VOCABULARY = (
    "model latency tokens cluster scheduler benchmark dataset release pricing inference "
    "training evaluation vendor startup laboratory researchers engineers customers "
    "throughput memory accelerator compiler kernel quantization agents retrieval"
)
WORDS = _VOCABULARY.split()


def article(rng: random.Random, n: int) -> str:
    """Return a made-up article of about 400 words in 6 paragraphs (original filler text)."""
    paragraphs = []
    for p in range(6):
        sentences = [
            f"Story {n} paragraph {p} sentence {s} says the "
            + " ".join(rng.choice(WORDS) for _ in range(10))
            + " changed this week."
            for s in range(4)
        ]
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def seed(ctx, count: int) -> None:
    """Insert `count` stories with articles and pending summarize jobs."""
    rng = random.Random(5)
    now = utcnow()
    with ctx.session() as session:
        source = Source(name="Bench feed", kind="rss", url="http://127.0.0.1/feed.xml")
        session.add(source)
        session.flush()
        for n in range(count):
            item = Item(
                source_id=source.id,
                guid_hash=f"bench-{n}",
                title=f"Bench story {n}",
                published_at=now,
            )
            session.add(item)
            session.flush()
            session.add(Article(item_id=item.id, text=article(rng, n), method="bench"))
            story = Story(
                uid=f"b{n}",
                slug=f"b{n}",
                primary_item_id=item.id,
                title=item.title,
                published_at=now,
                week="2026-W47",
            )
            session.add(story)
            session.flush()
            session.add(Job(stage="summarize", subject_id=story.id, status="pending"))


async def _bare_client(url: str, count: int, concurrency: int) -> float:
    """Return the wall time of `count` plain requests (no engine) against the same server."""
    import httpx

    body = {"model": "bench", "messages": [{"role": "user", "content": "ARTICLE b\n"
            + "A plain sentence for the baseline request. " * 60 + "\nEND b"}]}  # fmt: skip
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one() -> None:
            async with slots:
                (await client.post(f"{url}/chat/completions", json=body)).json()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return time.perf_counter() - started


def _server_span(url: str) -> float:
    """Return the seconds from the server's first chat request to its last answer."""
    import httpx

    stats = httpx.get(url.removesuffix("/v1") + "/_stats").json()
    return stats["last_answer_at"] - stats["first_request_at"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prompt", default="summarize_item/v2", help="the item prompt used")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.openai_server", "--delay", str(args.delay)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(Path(tmp) / "none.toml", env={}, required=False, overrides={
                "database": {"url": f"sqlite:///{tmp}/bench.db"},
                "llm": {"base_url": url, "api_key": "sk-bench-not-a-real-key", "model": "bench",
                        "max_concurrency": args.concurrency,
                        "daily_budget_usd": 1000.0, "item_prompt": args.prompt,
                        "pricing": {"bench": {"input": 0.15, "output": 0.60}}},
            })  # fmt: skip
            ctx = open_context(settings)
            seed(ctx, args.stories)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            report = run_summarize(ctx, drain=True)  # what `aggregator summarize` runs
            call = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            wall = _server_span(url)
            # What this machine and server cost without our engine (busy machines inflate it);
            # run after ours so the server's span above is ours alone.
            sample = min(args.stories, 20 * args.concurrency)
            bare = asyncio.run(_bare_client(url, sample, args.concurrency))
            ctx.engine.dispose()
    finally:
        server.terminate()
        server.wait()
    ideal = args.stories * args.delay / args.concurrency
    ratio = wall / ideal
    # Wall time each of the `concurrency` slots spent on anything but the server's delay:
    # on a busy machine this includes the OS and the server process, hence the baseline.
    overhead_ms = (wall - ideal) * args.concurrency / args.stories * 1000
    cpu_ms = cpu / args.stories * 1000
    bare_ms = (bare - sample * args.delay / args.concurrency) * args.concurrency / sample * 1000
    print(f"cards written: {report.succeeded}/{args.stories}, failed {report.failed}")
    print(f"server's span, first request to last answer: {wall:.2f} s (ideal {ideal:.2f} s, "
          f"ratio {ratio:.3f}, goal <= 1.15); the whole summarize call {call:.2f} s")  # fmt: skip
    print(f"our overhead per story: {cpu_ms:.1f} ms of CPU in this process (goal <= 20 ms)")
    print(
        f"for context, per slot and story: {overhead_ms:.1f} ms of wall time beyond the server's "
        f"{args.delay * 1000:.0f} ms; a bare HTTP client ({sample} requests, no engine) loses "
        f"{bare_ms:.1f} ms here, so the engine adds {overhead_ms - bare_ms:.1f} ms"
    )
    ok = report.succeeded == args.stories and ratio <= 1.15 and cpu_ms <= 20
    print(
        f"llm_throughput ({args.prompt}): {args.stories} stories in {wall:.2f} s = "
        f"{ratio:.3f} x ideal, "
        f"overhead {cpu_ms:.1f} ms/story -> {'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
