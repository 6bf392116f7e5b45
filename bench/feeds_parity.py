"""Parity: parse_feed with the lxml fast path (collect/fastrss.py) against feedparser alone.

Usage: python bench/feeds_parity.py PATH [--show 5]

Every file under PATH (gzip files are read as their bytes; parse_feed inflates them) is
parsed twice: once as collect parses it, once with the fast path off. A feed matches when
the title, link, warning, bozo flag and every entry (identity, guid, links, title, author,
summary, content, dates, tags, enclosures, engagement) are equal. Also counts how many feeds
took the fast path and the parse time of both. Ends with a summary line.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from aggregator.collect import fastrss, rss

URL_ROOT = "https://feeds.example/"


def comparable(feed: rss.ParsedFeed) -> dict[str, Any]:
    """Return a feed as plain data; a flagged date (the time of parsing) is left out."""
    data = dataclasses.asdict(feed)
    for entry in data["entries"]:
        if entry["date_flagged"]:
            entry["published_at"] = None
    return data


TAKEN: list[bool] = []


def counted(data: bytes, media_type: str) -> dict[str, Any] | None:
    """Return fastrss.read_plain_rss's result, noting whether the fast path was taken."""
    result = fastrss.read_plain_rss(data, media_type)
    TAKEN.append(result is not None)
    return result


def parse_both(body: bytes, url: str) -> tuple[rss.ParsedFeed, rss.ParsedFeed, float, float]:
    """Return (fast-path result, feedparser-only result, seconds of each)."""
    started = time.perf_counter()
    ours = rss.parse_feed(body, url, {})
    middle = time.perf_counter()
    taken = list(TAKEN)
    try:
        theirs = rss._parse(body, url, {}, fast=False)
    except Exception as exc:  # parse_feed's own catch, reproduced for the reference run
        theirs = rss.ParsedFeed(None, None, [], bozo=True, warning=f"{rss.CRASH_MARK} {exc}")
    TAKEN[:] = taken
    return ours, theirs, middle - started, time.perf_counter() - middle


def first_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Return where two comparable feeds first differ, on one line."""
    for key in ("title", "link", "warning", "bozo", "ttl_seconds"):
        if a[key] != b[key]:
            return f"{key}: {a[key]!r} != {b[key]!r}"
    if len(a["entries"]) != len(b["entries"]):
        return f"entries: {len(a['entries'])} != {len(b['entries'])}"
    for n, (x, y) in enumerate(zip(a["entries"], b["entries"], strict=True)):
        for key in x:
            if x[key] != y[key]:
                return f"entry {n} {key}: {str(x[key])[:120]!r} != {str(y[key])[:120]!r}"
    return "?"


def main() -> int:
    """Compare both paths on every file; return 1 on any difference or crash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--show", type=int, default=5, help="differences to print")
    args = parser.parse_args()
    rss.read_plain_rss = counted  # type: ignore[assignment]
    files = sorted(p for p in args.path.rglob("*") if p.is_file())
    if not files:
        print(f"feeds_parity: no files under {args.path}", file=sys.stderr)
        return 2
    fast = same = crashes = entries = 0
    differences: list[str] = []
    ours_s = theirs_s = 0.0
    for path in files:
        body = path.read_bytes()
        url = URL_ROOT + path.relative_to(args.path).as_posix()
        ours, theirs, a, b = parse_both(body, url)
        ours_s, theirs_s = ours_s + a, theirs_s + b
        crashes += bool(ours.warning and rss.CRASH_MARK in ours.warning)
        fast += any(TAKEN)
        TAKEN.clear()
        entries += len(ours.entries)
        left, right = comparable(ours), comparable(theirs)
        if left == right:
            same += 1
        else:
            differences.append(f"{path}: {first_difference(left, right)}")
    for line in differences[: args.show]:
        print(f"  differs: {line}")
    ok = not differences and not crashes
    print(
        f"feeds_parity: files={len(files)} same={same} different={len(differences)} "
        f"crashes={crashes} entries={entries} fast_path={fast} "
        f"parse_s={ours_s:.1f} feedparser_only_s={theirs_s:.1f} {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
