"""Hostile feeds (issue 19): a dripping server, unlabelled gzip bombs, a 100,000-entry feed.

Runs `aggregator collect` in a child process against a loopback server for each attack and
reports wall time and the peak memory of its process tree (the sum of each process's own
VmHWM, sampled; an upper bound). Usage: python bench/hostile_feeds.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.servers.hostile_server import HostileServer, run_measured

TARGET_MB = 300


def run(urls: list[str], timeout: float = 20.0) -> tuple[float, float, str]:
    """Return (seconds, peak MB, last output line) of one `aggregator collect`."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    blocks = "".join(
        f'[[sources]]\nkind = "rss"\nname = "s{n}"\nurl = "{u}"\nevery = "1h"\n'
        for n, u in enumerate(urls)
    )
    (folder / "aggregator.toml").write_text(
        f'[database]\nurl = "sqlite:///agg.db"\n[fetch]\nallow_private_networks = true\n'
        f"timeout = {timeout}\n{blocks}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    started = time.monotonic()
    with open(folder / "out.txt", "w+") as out:
        _, peak = run_measured([sys.executable, "-m", "aggregator", "collect"], cwd=folder,
                               env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        took = time.monotonic() - started
        out.seek(0)
        summary = next((ln for ln in out.read().splitlines() if ln.startswith("collect:")), "")
    return took, peak, summary


def main() -> None:
    with HostileServer(entries=100_000, bomb_mib=64) as server:
        cases = {
            "8 unlabelled gzip bombs (64 MiB each)": [f"{server.base}/bomb.xml?n={n}" for n in range(8)],
            "1 feed of 100,000 entries": [f"{server.base}/many.xml"],
            "4 dripping feeds, timeout 5 s": [f"{server.base}/drip-body?n={n}" for n in range(4)],
        }  # fmt: skip
        worst = 0.0
        for name, urls in cases.items():
            took, peak, summary = run(urls, timeout=5.0)
            worst = max(worst, peak)
            print(f"{name}: {took:.1f} s, peak {peak:.0f} MB; {summary}")
    verdict = "met" if worst < TARGET_MB else "NOT met"
    print(f"summary: worst peak {worst:.0f} MB (target < {TARGET_MB} MB): {verdict}")


if __name__ == "__main__":
    main()
