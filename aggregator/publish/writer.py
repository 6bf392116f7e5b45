"""Staged, incremental, atomic site writes: only changed files are written, then swapped in."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

MANIFEST = ".manifest.json"
KEEP_DIRS = ("search/pagefind",)  # made by the search indexer, not by the writer
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); return False if unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


class SiteWriter:
    """Collects a build's files in a staging dir beside the site, then commits them at once."""

    def __init__(self, out: Path, env_fp: str):
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self._lock: IO[str] = open(out.parent / f".{out.name}.lock", "w")  # noqa: SIM115
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        for leftover in out.parent.glob(f".{out.name}.staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # from a build that was killed
        self._old_manifest = b""
        self.staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
        # mkdtemp makes it private (0700); a published site must be readable by the web server.
        umask = os.umask(0)
        os.umask(umask)
        self.staging.chmod(0o777 & ~umask)
        old = self._read_manifest()
        self.env_fp = env_fp
        self.old_files: dict[str, str] = old.get("files", {}) if old.get("env") == env_fp else {}
        self.stale_files: set[str] = set(old.get("files", {}))
        self.files: dict[str, str] = {}
        self.changed: list[str] = []
        self._dirs: set[Path] = set()

    def _read_manifest(self) -> dict:
        try:
            self._old_manifest = (self.out / MANIFEST).read_bytes()
            data = json.loads(self._old_manifest)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def unchanged(self, rel: str, fp: str) -> bool:
        """Return True (and record the file) when the last build wrote it from the same inputs."""
        if self.old_files.get(rel) == fp:
            self.files[rel] = fp
            return True
        return False

    def emit(self, rel: str, fp: str, render: Callable[[], str | bytes]) -> bool:
        """Record a file; render and stage it unless unchanged. Return True if it was staged."""
        if self.unchanged(rel, fp):
            return False
        data = render()
        self.files[rel] = fp
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if rel in self.stale_files:  # only files the last build wrote can already hold these bytes
            with contextlib.suppress(OSError):
                if (self.out / rel).read_bytes() == raw:
                    return False
        self._write(self.staging / rel, raw)
        self.changed.append(rel)
        return True

    def _write(self, path: Path, raw: bytes) -> None:
        parent = path.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        with open(path, "wb") as fh:
            fh.write(raw)

    def commit(self) -> str:
        """Swap the build in; return the mode used: new, tree (whole dir swap) or patch."""
        self._write(self.staging / MANIFEST, self._manifest())
        if not self.out.exists():
            os.rename(self.staging, self.out)
            return "new"
        if len(self.changed) * 2 > len(self.files):
            self._commit_tree()
            return "tree"
        self._commit_patch()
        return "patch"

    def _manifest(self) -> bytes:
        # Sorted: the order files were staged in depends on how the build split its work.
        manifest = {"version": 1, "env": self.env_fp, "files": dict(sorted(self.files.items()))}
        return json.dumps(manifest, separators=(",", ":")).encode()

    def _commit_tree(self) -> None:
        done = set(self.changed)
        for rel in list(self.files):
            if rel not in done:
                try:
                    self._link(self.out / rel, self.staging / rel)
                except FileNotFoundError:
                    # Someone deleted it from the live site: forget it so the next build rewrites it.
                    del self.files[rel]
        self._write(self.staging / MANIFEST, self._manifest())
        for keep in KEEP_DIRS:
            for src in (self.out / keep).rglob("*"):
                if src.is_file():
                    self._link(src, self.staging / src.relative_to(self.out))
        if exchange_paths(self.staging, self.out):
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        old = self.staging.with_name(self.staging.name + "-old")
        os.rename(self.out, old)
        os.rename(self.staging, self.out)
        shutil.rmtree(old, ignore_errors=True)

    def _link(self, src: Path, dst: Path) -> None:
        if dst.parent not in self._dirs:
            dst.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(dst.parent)
        os.link(src, dst)

    def _commit_patch(self) -> None:
        for rel in self.changed:
            target = self.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / rel, target)
        for rel in sorted(self.stale_files - set(self.files)):
            with contextlib.suppress(OSError):
                (self.out / rel).unlink()
            self._prune(self.out / rel)
        if (self.staging / MANIFEST).read_bytes() != self._old_manifest:
            os.replace(self.staging / MANIFEST, self.out / MANIFEST)
        shutil.rmtree(self.staging, ignore_errors=True)

    def _prune(self, path: Path) -> None:
        parent = path.parent
        while parent != self.out and self.out in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent

    def close(self, failed: bool = False) -> None:
        """Drop the staging dir if the build failed; always release the lock."""
        if failed:
            shutil.rmtree(self.staging, ignore_errors=True)
        self._lock.close()
