"""Build the demo with its example servers on fixed ports, or compare two such builds.

A layout change must not change what the demo publishes. Two demo runs differ only in the
example servers' ports (story ids hash the URLs) and in today's build and update times, so:

    python scripts/demo_snapshot.py build /tmp/before      # on the old commit
    python scripts/demo_snapshot.py build /tmp/after       # on the new one
    python scripts/demo_snapshot.py compare /tmp/before/site /tmp/after/site

`compare` masks times of the day the builds ran and prints "identical" or each file that
differs (exit 1).
"""

from __future__ import annotations

import http.server
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST_PORT = 38111
_SKIP = {".manifest.json"}  # its environment hash names the build's own settings


def pin_ports() -> None:
    """Make every loopback server the demo starts on port 0 take the next fixed port instead."""
    original = http.server.ThreadingHTTPServer.__init__
    taken = [0]

    def init(self: object, address: tuple[str, int], handler: object, *args: object) -> None:
        if address == ("127.0.0.1", 0):
            address = ("127.0.0.1", FIRST_PORT + taken[0])
            taken[0] += 1
        original(self, address, handler, *args)  # type: ignore[arg-type]

    http.server.ThreadingHTTPServer.__init__ = init  # type: ignore[method-assign]


def today_times() -> re.Pattern[bytes]:
    """Return a pattern for times of today and tomorrow (UTC) in the forms the site prints."""
    days = [datetime.now(UTC).date() + timedelta(days=d) for d in (-1, 0, 1)]
    iso = b"|".join(d.isoformat().encode() for d in days)
    human = b"|".join(f"{d.day} (?:{d:%b}|{d:%B}) {d.year}".encode() for d in days)
    return re.compile(
        rb"(?:" + iso + rb")T[0-9:.]+(?:Z|\+00:00)?|(?:" + human + rb"),? [0-9:]{5}( UTC)?"
    )


def compare(a: Path, b: Path) -> int:
    """Print the files that differ once today's times are masked; return the exit code."""
    mask = today_times()
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name not in _SKIP}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name not in _SKIP}
    problems = [f"only in one build: {p}" for p in sorted(files_a ^ files_b)]
    for rel in sorted(files_a & files_b):
        if mask.sub(b"TIME", (a / rel).read_bytes()) != mask.sub(b"TIME", (b / rel).read_bytes()):
            problems.append(f"differs: {rel}")
    for line in problems:
        print(line)
    print(f"demo_snapshot: {len(files_a)} files, {'identical' if not problems else 'DIFFERENT'}")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    """Run `build DIR` or `compare SITE_A SITE_B`; return the exit code."""
    if len(argv) == 2 and argv[0] == "build":
        pin_ports()
        from aggregator.demo.run import run_demo

        run_demo(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
