"""Instructions per run of group_documents, counted by valgrind (repeatable where timings swing).

Usage: python bench/grouping_instructions.py PATH [--signatures]

PATH is a JSONL file as for bench/grouping_quality.py. The script runs itself twice under
`valgrind --tool=callgrind`, once grouping the documents once and once grouping them three
times, and prints the difference halved: the instructions of one warm run (memo tables filled,
as in a long-lived process), without the start-up and imports that both share. With
--signatures only the signatures are made. Instruction counts do not depend on what else the
machine runs, so two versions of the code can be compared on a busy machine, where docs/s
(bench/grouping_quality.py) moves by a quarter from run to run. Needs valgrind.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path


def _work(path: Path, runs: int, signatures_only: bool) -> None:
    """Group (or only sign) the documents of a JSONL file `runs` times."""
    from aggregator.dedupe import group_documents
    from aggregator.dedupe.signature import signature

    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for _ in range(runs):
        if signatures_only:
            [signature(str(d.get("title") or ""), str(d.get("text") or "")) for d in docs]
        else:
            group_documents(docs)


def _count(path: Path, runs: int, signatures_only: bool) -> int:
    """Return the instructions valgrind counts for a child process doing `runs` runs."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += [__file__, str(path), "--child-runs", str(runs)]
    command += ["--signatures"] if signatures_only else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no count: {done.stderr[-300:]}")
    return int(found.group(1))


def main() -> int:
    """Print the instructions of one warm run; return 2 when valgrind or the file is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--signatures", action="store_true", help="only make the signatures")
    parser.add_argument("--child-runs", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_runs:
        _work(args.path, args.child_runs, args.signatures)
        return 0
    if not args.path.is_file():
        print(f"grouping_instructions: no such file {args.path}", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None:
        print("grouping_instructions: valgrind is not installed", file=sys.stderr)
        return 2
    docs = sum(1 for line in args.path.read_text(encoding="utf-8").splitlines() if line)
    per_run = (_count(args.path, 3, args.signatures) - _count(args.path, 1, args.signatures)) // 2
    what = "signatures" if args.signatures else "group_documents"
    print(
        f"grouping_instructions: {per_run:,} instructions per warm run of {what} on {docs} docs "
        f"({per_run / docs / 1e6:.2f} M per doc)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
