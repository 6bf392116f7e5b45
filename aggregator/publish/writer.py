"""Staged, incremental, atomic site writes: only changed files are written, then swapped in."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

MANIFEST = ".manifest.json"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class UnsafeOutputDir(Exception):
    """The output dir holds things the site must not overwrite or delete; str() is one line."""


def read_manifest(out: Path) -> dict | None:
    """Return our build manifest in `out`, or None when there is none (or it is not ours)."""
    try:
        data = json.loads((out / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("files"), dict) and "env" in data
    return data if ok else None


def check_output_dir(out: Path, adopt: bool = False, protected: Iterable[Path] = ()) -> None:
    """Raise UnsafeOutputDir when building into `out` could overwrite or delete what is not ours."""
    here = out.resolve()
    for path in protected:
        target = path.resolve()
        if target == here or here in target.parents:
            raise UnsafeOutputDir(
                f"publish: output_dir {out} contains {target}; choose a folder of its own"
            )
    if not here.exists() or adopt:
        return
    if not here.is_dir():
        raise UnsafeOutputDir(f"publish: output_dir {out} exists and is not a folder")
    if read_manifest(here) is None and any(here.iterdir()):
        raise UnsafeOutputDir(
            f"publish: output_dir {out} is not empty and holds no site of ours ({MANIFEST}); "
            "choose an empty folder, or pass --adopt to build into it (its files are kept)"
        )


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
        self._keep_foreign()
        if exchange_paths(self.staging, self.out):
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        old = self.staging.with_name(self.staging.name + "-old")
        os.rename(self.out, old)
        os.rename(self.staging, self.out)
        shutil.rmtree(old, ignore_errors=True)

    def _keep_foreign(self) -> None:
        """Link into staging every live file our previous build did not write (never ours to delete)."""
        ours = self.stale_files | set(self.files) | {MANIFEST}
        for src in self.out.rglob("*"):
            rel = src.relative_to(self.out).as_posix()
            if rel in ours or self.staging in src.parents:
                continue
            dst = self.staging / rel
            if src.is_symlink():  # kept as the link it is, not as a copy of its target
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(src), dst)
            elif src.is_file():
                self._link(src, dst)

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
