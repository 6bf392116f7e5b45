"""Staged writes: unchanged files untouched, failures leave the old site, swaps are whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.publish.writer import MANIFEST, SiteWriter, exchange_paths


def _build(out: Path, files: dict[str, str], env: str = "e1") -> SiteWriter:
    writer = SiteWriter(out, env)
    for rel, text in files.items():
        writer.emit(rel, str(hash(text)), lambda t=text: t)
    writer.commit()
    writer.close()
    return writer


def test_writer_first_build_renames_staging_into_place(tmp_path: Path) -> None:
    out = tmp_path / "site"
    writer = _build(out, {"index.html": "home", "a/b/index.html": "é 💡"})
    assert (out / "a/b/index.html").read_text(encoding="utf-8") == "é 💡"
    assert (out / MANIFEST).exists()
    assert not list(tmp_path.glob(".site.staging-*"))
    assert writer.changed == ["index.html", "a/b/index.html"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)


def test_writer_skips_unchanged_inputs_without_rendering(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _build(out, {"index.html": "home", "x.html": "x"})
    inode = (out / "x.html").stat().st_ino
    writer = SiteWriter(out, "e1")
    rendered = []
    writer.emit("x.html", str(hash("x")), lambda: rendered.append(1) or "x")
    writer.emit("index.html", "new-fp", lambda: "home")  # new inputs, same bytes: not written
    writer.commit()
    writer.close()
    assert rendered == [] and writer.changed == []
    assert (out / "x.html").stat().st_ino == inode


def test_writer_patch_mode_replaces_changed_and_removes_stale(tmp_path: Path) -> None:
    out = tmp_path / "site"
    files = {f"p{i}.html": str(i) for i in range(6)} | {"old/gone.html": "bye"}
    _build(out, files)
    keep = (out / "p0.html").stat().st_ino
    files.pop("old/gone.html")
    files["p1.html"] = "changed"
    writer = _build(out, files)
    assert writer.changed == ["p1.html"]
    assert (out / "p1.html").read_text() == "changed"
    assert not (out / "old").exists()
    assert (out / "p0.html").stat().st_ino == keep


def test_writer_tree_mode_swaps_whole_directory(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _build(out, {"a.html": "1", "b.html": "2", "c.html": "3"})
    (out / "search/pagefind").mkdir(parents=True)
    (out / "search/pagefind/pagefind.js").write_text("idx")
    keep = (out / "c.html").stat().st_ino
    writer = SiteWriter(out, "e2")  # new environment: every file re-rendered
    for rel, text in {"a.html": "10", "b.html": "20", "c.html": "3"}.items():
        writer.emit(rel, text, lambda t=text: t)
    assert writer.commit() == "tree"
    writer.close()
    assert (out / "a.html").read_text() == "10"
    assert (out / "c.html").stat().st_ino == keep  # same bytes: linked, not rewritten
    assert (out / "search/pagefind/pagefind.js").read_text() == "idx"
    assert not list(tmp_path.glob(".site.staging-*"))


def test_writer_failed_build_leaves_previous_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _build(out, {"index.html": "old"})
    writer = SiteWriter(out, "e1")
    with pytest.raises(RuntimeError):
        try:
            writer.emit("index.html", "fp2", lambda: "new")
            writer.emit("boom.html", "fp3", lambda: (_ for _ in ()).throw(RuntimeError("x")))
        except BaseException:
            writer.close(failed=True)
            raise
    assert (out / "index.html").read_text() == "old"
    assert not list(tmp_path.glob(".site.staging-*"))


def test_exchange_paths_swaps_directories(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a/f").write_text("a")
    (tmp_path / "b/f").write_text("b")
    if not exchange_paths(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2 RENAME_EXCHANGE not supported here")
    assert (tmp_path / "a/f").read_text() == "b"


# Problem 1 of issue 19: a first build into an existing folder deleted everything in it.
def test_writer_refuses_a_non_empty_folder_without_our_manifest(tmp_path: Path) -> None:
    from aggregator.publish.writer import UnsafeOutputDir, check_output_dir

    out = tmp_path / "www"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UnsafeOutputDir, match=r"not empty and holds no site of ours.*--adopt"):
        check_output_dir(out)
    check_output_dir(out, adopt=True)  # the owner said yes
    check_output_dir(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty")


def test_writer_refuses_a_folder_holding_the_config_or_database(tmp_path: Path) -> None:
    from aggregator.publish.writer import UnsafeOutputDir, check_output_dir

    config = tmp_path / "aggregator.toml"
    for out in (tmp_path, tmp_path / "."):
        with pytest.raises(UnsafeOutputDir, match=r"contains .*aggregator\.toml"):
            check_output_dir(out, adopt=True, protected=[config])
    check_output_dir(tmp_path / "site", protected=[config])


def test_writer_tree_swap_never_removes_files_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("theirs")
    (out / "deep").mkdir()
    (out / "deep/also.txt").write_text("theirs too")
    (out / "link").symlink_to("keep.txt")
    _build(out, {"index.html": "home", "old.html": "ours"})  # adopted: one build in place
    assert (out / "keep.txt").read_text() == "theirs"
    # A build that changes most files swaps the whole tree; ours go, theirs stay.
    writer = _build(out, {"index.html": "new home", "n1.html": "1", "n2.html": "2"}, env="e2")
    assert (out / "n1.html").exists() and not (out / "old.html").exists()
    assert (out / "keep.txt").read_text() == "theirs"
    assert (out / "deep/also.txt").read_text() == "theirs too"
    assert (out / "link").is_symlink()
    assert "keep.txt" not in writer.files  # never claimed as ours
