"""Robustness: run parse_feed over every file under a folder; target 0 exceptions.

Usage: python bench/feeds_robustness.py PATH [--verbose]

`.gz` files are passed as they are (parse_feed inflates gzip bodies itself). Ends with a
one-line summary: files, exceptions (raised, and caught by parse_feed's last-resort
handler), bozo feeds, entries read, seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from aggregator.collect.rss import CRASH_MARK, parse_feed


def main() -> int:
    """Parse every file under PATH and print the counts; return 1 if any call raised."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--verbose", action="store_true", help="print each bozo warning")
    args = parser.parse_args()
    files = sorted(p for p in args.path.rglob("*") if p.is_file())
    if not files:
        print(f"feeds_robustness: no files under {args.path}", file=sys.stderr)
        return 2
    exceptions = caught = bozo = entries = empty = 0
    started = time.perf_counter()
    for path in files:
        body = path.read_bytes()
        url = f"https://feeds.example/{path.relative_to(args.path).as_posix()}"
        try:
            feed = parse_feed(body, url, {})
        except Exception:
            exceptions += 1
            print(f"EXCEPTION {path}\n{traceback.format_exc()}", file=sys.stderr)
            continue
        if feed.warning and CRASH_MARK in feed.warning:
            caught += 1  # parse_feed kept its promise, but only through its last-resort catch
            print(f"CAUGHT {path}: {feed.warning}", file=sys.stderr)
        bozo += feed.bozo
        entries += len(feed.entries)
        empty += not feed.entries
        if args.verbose and feed.warning:
            print(feed.warning)
    seconds = time.perf_counter() - started
    print(
        f"feeds_robustness: files={len(files)} exceptions={exceptions} caught={caught} bozo={bozo} "
        f"no_entries={empty} entries={entries} seconds={seconds:.1f} "
        f"({'PASS' if exceptions + caught == 0 else 'FAIL'}: target 0 exceptions)"
    )
    return 1 if exceptions or caught else 0


if __name__ == "__main__":
    sys.exit(main())
