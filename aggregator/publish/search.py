"""Full-text search: pagefind indexes the built site into search/pagefind/ (optional)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from aggregator.log import event
from aggregator.publish.writer import exchange_paths

log = logging.getLogger("aggregator.publish")
INDEX_DIR = "search/pagefind"


def pagefind_executable() -> str | None:
    """Return the pagefind binary (PyPI pagefind_bin, else PATH), or None if unavailable."""
    try:
        from pagefind_bin import get_executable

        return str(get_executable().absolute())
    except (ImportError, FileNotFoundError):
        return shutil.which("pagefind")


def index_site(site: Path, timeout: float = 600) -> str | None:
    """Index `site` into search/pagefind (swapped in whole); return a warning, or None if done."""
    exe = pagefind_executable()
    if exe is None:
        return "publish: pagefind is not installed; the site works without search"
    fresh = site / "search" / ".pagefind-new"
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        proc = subprocess.run(
            [exe, "--site", str(site), "--output-path", str(fresh), "--silent"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        return f"publish: pagefind failed ({exc}); the site works without search"
    if proc.returncode != 0 or not (fresh / "pagefind.js").exists():
        shutil.rmtree(fresh, ignore_errors=True)
        reason = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"publish: pagefind failed ({reason[0]}); the site works without search"
    _swap_in(fresh, site / INDEX_DIR)
    event(log, "search indexed", site=str(site))
    return None


def _swap_in(fresh: Path, target: Path) -> None:
    if target.exists() and exchange_paths(fresh, target):
        shutil.rmtree(fresh, ignore_errors=True)
        return
    old = target.with_name(".pagefind-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
