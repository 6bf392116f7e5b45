"""Throughput: 1,000 generated ~62 KiB feeds on 127.0.0.1, collected into SQLite, against a plain loop.

Usage: python bench/collect_throughput.py [--feeds 1000] [--items 50] [--per-host 16] [--db PATH]

First a plain loop (one process: fetch each feed with urllib, `feedparser.parse` it, nothing
stored) sets the baseline in the same run. Pass 1 then fetches, parses and stores every feed
(target <= 0.6x the loop's wall time); pass 2 runs again with --force, every feed answering
304 (target <= 0.1x). Peak memory is the PSS of the collector's process tree (target
<= 300 MB), sampled every 50 ms by a separate process. The feed server runs in its own process.
Ends with a one-line summary.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_VOCABULARY = (
    "model inference serving cost token latency cluster benchmark training dataset open weights "
    "release paper agent evaluation context window quantized sparse kernel throughput scheduler "
    "memory accelerator compiler"
)
WORDS = _VOCABULARY.split()


def make_feed(index: int, items: int, size: int = 75 * 1024) -> bytes:
    """Return a deterministic RSS 2.0 feed of about `size` bytes with `items` items."""
    rng = random.Random(index)
    words_per_item = max(10, (size // items - 420) // 8)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    parts = []
    for j in range(items):
        text = " ".join(rng.choice(WORDS) for _ in range(words_per_item))
        parts.append(
            f"<item><title>Feed {index} item {j}: {' '.join(rng.choices(WORDS, k=6))}</title>"
            f"<link>https://site{index}.example/posts/{j}?utm_source=rss</link>"
            f'<guid isPermaLink="false">feed{index}-item{j}</guid>'
            f"<pubDate>{format_datetime(start - timedelta(hours=j), usegmt=True)}</pubDate>"
            f"<author>desk@site{index}.example (Desk)</author><category>ai</category>"
            f'<description><![CDATA[<p>{text} <a href="https://site{index}.example/">more</a>'
            f"</p>]]></description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {index}'
        f"</title><link>https://site{index}.example/</link><description>Generated</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def serve(feeds: int, items: int, ready: Any) -> None:
    """Serve /feeds/<n>.xml with ETag/304 until killed; send the port through `ready`."""
    bodies = [make_feed(i, items) for i in range(feeds)]
    tags = [f'"{hashlib.sha1(b).hexdigest()}"' for b in bodies]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            n = int(self.path.rsplit("/", 1)[-1].split(".")[0])
            fresh = self.headers.get("If-None-Match") == tags[n]
            body = b"" if fresh else bodies[n]
            self.send_response(304 if fresh else 200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", tags[n])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    ready.send((server.server_address[1], sum(map(len, bodies)) / len(bodies)))
    server.serve_forever()


def plain_loop(port: int, feeds: int, out: Any) -> None:
    """Send (wall s, CPU s, entries) of a sequential fetch-and-feedparser loop through `out`."""
    import urllib.request

    import feedparser

    started, cpu, entries = time.perf_counter(), time.process_time(), 0
    for i in range(feeds):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/feeds/{i}.xml") as response:
            entries += len(feedparser.parse(response.read()).entries)
    out.send((time.perf_counter() - started, time.process_time() - cpu, entries))


def _tree(root: int, exclude: set[int]) -> list[int]:
    """Return root and its live descendants (via /proc/*/task/*/children), minus `exclude`."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split() if int(c) not in exclude)
            except OSError:
                pass
    return found


def _pss_kib(pid: int) -> int:
    """Return a process's PSS in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            return next((int(x.split()[1]) for x in handle if x.startswith("Pss:")), 0)
    except OSError:
        return 0


def sample_memory(root: int, exclude: set[int], conn: Any) -> None:
    """Track the peak PSS summed over root's tree; answer each message with it and reset."""
    exclude = exclude | {os.getpid()}
    peak = 0
    while True:
        if conn.poll(0.05):
            if conn.recv() == "stop":
                return
            conn.send(peak / 1024)
            peak = 0
        peak = max(peak, sum(_pss_kib(p) for p in _tree(root, exclude)))


def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """Return (parent pid, own CPU s, reaped children's CPU s) from /proc, None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    # Fields after "(comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15).
    return (
        int(fields[1]),
        (int(fields[11]) + int(fields[12])) / tick,
        (int(fields[13]) + int(fields[14])) / tick,
    )


def descendant_cpu(root: int, exclude: set[int]) -> float | None:
    """Return CPU seconds used by root's live descendants and the children they reaped,
    leaving out the `exclude` subtrees (feed server, memory sampler); None without /proc.

    The parse workers are children of the forkserver, not of this process, so neither
    process_time() nor RUSAGE_CHILDREN sees them; the forkserver's reaped-children time does.
    """
    if not os.path.isdir("/proc/self"):
        return None
    stats = [_proc_stat(pid) for pid in _tree(root, exclude)[1:]]
    return sum(stat[1] + stat[2] for stat in stats if stat is not None)


def _cpu_now(server: int, sampler: int) -> tuple[float, float | None, float]:
    """Return (this process's CPU, its other processes' CPU, feed server CPU) so far."""
    others = descendant_cpu(os.getpid(), {server, sampler})
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = _proc_stat(server)
    if others is not None:
        others += reaped.ru_utime + reaped.ru_stime
    return time.process_time(), others, served[1] if served else 0.0


def run_pass(
    ctx: Any, force: bool, server: int, memory: Any, sampler: int
) -> tuple[float, Any, float]:
    """Run the collect stage once; return (seconds, report, peak MB) and print its CPU."""
    from aggregator.collect.stage import run_collect

    load = os.getloadavg()[0]
    memory.send("reset")
    memory.recv()
    started, cpu = time.perf_counter(), _cpu_now(server, sampler)
    report = run_collect(ctx, force=force)
    elapsed = time.perf_counter() - started
    end = _cpu_now(server, sampler)
    memory.send("peak")
    peak = memory.recv()
    own = end[0] - cpu[0]
    # CPU time does not grow when other work on a shared machine slows the wall clock.
    workers = f"{end[1] - cpu[1]:.1f}" if end[1] is not None and cpu[1] is not None else "n/a"
    total = f"{own + end[1] - cpu[1]:.1f}" if workers != "n/a" else "n/a"
    print(
        f"  CPU: collector process {own:.1f} s + parse workers {workers} s = {total} s "
        f"in {elapsed:.2f} s wall; feed server {end[2] - cpu[2]:.1f} s; load before {load:.2f}; "
        f"peak {peak:.0f} MB PSS (collector tree)"
    )
    return elapsed, report, peak


def parse_args() -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: temporary)")
    parser.add_argument(
        "--per-host", type=int, default=16, help="[fetch] per_host_concurrency (one host here)"
    )
    return parser.parse_args()


def bench_settings(args: argparse.Namespace, port: int) -> Any:
    """Return settings with one source per served feed and a fresh SQLite database."""
    from aggregator.config import load_settings

    workdir = Path(tempfile.mkdtemp(prefix="collect-bench-"))
    sources = [
        {"kind": "rss", "name": f"feed-{i}", "url": f"http://127.0.0.1:{port}/feeds/{i}.xml"}
        for i in range(args.feeds)
    ]
    return load_settings(
        workdir / "none.toml",
        env={},
        required=False,
        overrides={
            "database": {"url": f"sqlite:///{args.db or workdir / 'bench.db'}"},
            "fetch": {"allow_private_networks": True, "per_host_concurrency": args.per_host},
            "site": {"output_dir": str(workdir / "site")},
            "sources": sources,
        },
    )


def baseline(port: int, feeds: int, server: int) -> tuple[float, float, int]:
    """Return (wall s, CPU s, entries) of the plain loop, run in a fresh process; print it."""
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    load, served = os.getloadavg()[0], _cpu_now(server, 0)[2]
    loop = spawn.Process(target=plain_loop, args=(port, feeds, send), daemon=True)
    loop.start()
    wall, cpu, entries = receive.recv()
    loop.join()
    print(
        f"plain loop (urllib + feedparser.parse, sequential, nothing stored): {wall:.2f} s, "
        f"CPU {cpu:.1f} s, feed server {_cpu_now(server, 0)[2] - served:.1f} s, {entries} entries; "
        f"load before {load:.2f}"
    )
    return wall, cpu, entries


def main() -> int:
    """Serve the feeds, run the plain loop, collect twice; return 1 when a target is missed."""
    from aggregator.context import open_context

    args = parse_args()
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    server = spawn.Process(target=serve, args=(args.feeds, args.items, send), daemon=True)
    server.start()
    port, mean_size = receive.recv()
    loop = baseline(port, args.feeds, server.pid)[0]
    ours, theirs = spawn.Pipe()
    sampler = spawn.Process(
        target=sample_memory, args=(os.getpid(), {server.pid}, theirs), daemon=True
    )
    sampler.start()
    ctx = open_context(bench_settings(args, port))
    try:
        first, report1, peak1 = run_pass(ctx, False, server.pid, ours, sampler.pid)
        second, report2, peak2 = run_pass(ctx, True, server.pid, ours, sampler.pid)
    finally:
        ctx.engine.dispose()
        ours.send("stop")
        server.kill()
    items = report1.details["new_items"]
    print(
        f"pass 1: {args.feeds} feeds (~{mean_size / 1024:.0f} KiB, {items} new items) in "
        f"{first:.2f} s = {first / loop:.2f}x the plain loop; ok={report1.succeeded} "
        f"failed={report1.failed}"
    )
    print(
        f"pass 2: {report2.details['not_modified']} not modified in {second:.2f} s = "
        f"{second / loop:.3f}x the plain loop; failed={report2.failed}"
    )
    for error in (report1.errors + report2.errors)[:5]:
        print(f"  error: {error}")
    peak = max(peak1, peak2)
    ok = first <= 0.6 * loop and second <= 0.1 * loop and peak <= 300
    ok = ok and report1.failed == report2.failed == 0
    print(
        f"collect_throughput: loop={loop:.2f}s pass1={first:.2f}s ({first / loop:.2f}x, target "
        f"<=0.6x) pass2={second:.2f}s ({second / loop:.3f}x, target <=0.1x) peak={peak:.0f}MB "
        f"(target <=300) items={items} per_host={args.per_host} "
        f"cpus={multiprocessing.cpu_count()} {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
