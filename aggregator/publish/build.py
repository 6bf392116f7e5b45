"""The state shared by one site build: data, writer, templates and the page/file helpers."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from aggregator.publish.data import SiteInput, StoryDetail, StoryRow
from aggregator.publish.fork import Forked
from aggregator.publish.paths import page_file
from aggregator.publish.render import page_globals
from aggregator.publish.sanitize import clean_text


def fingerprint(*parts: Any) -> str:
    """Return a short stable hash of the given values' repr."""
    return hashlib.sha1(repr(parts).encode("utf-8", "replace")).hexdigest()


def dump_json(doc: Any, pretty: bool = False) -> bytes:
    """Return UTF-8 JSON (non-ASCII kept as is, so emoji round-trip byte for byte)."""
    if pretty:
        return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_RAW = "\x00raw\x00"  # cannot occur in cleaned text, so it marks where pre-serialized JSON goes
_RAW_JSON = json.dumps(_RAW)


def dump_with_raw(doc: dict[str, Any], key: str, raw: str) -> bytes:
    """Return doc as JSON with `key` (appended last) set to already-serialized JSON text `raw`."""
    text = json.dumps({**doc, key: _RAW}, ensure_ascii=False, separators=(",", ":"))
    return text.replace(_RAW_JSON, raw, 1).encode("utf-8")


def json_feed(
    head: dict[str, Any], entries: list[dict[str, Any]], author: str | None = None
) -> bytes:
    """Return a JSON Feed 1.1 document: `head` (title, URLs, ...) and one item per feed entry.

    Entries are the Atom entry dicts (id, title, summary, content_html, published, updated);
    `date_modified` is the entry's last change, so a revised story shows as changed.
    """
    items = []
    for e in entries:
        item = {
            "id": e["id"],
            "url": e["id"],
            "title": clean_text(e["title"], single_line=True),
            "summary": clean_text(e["summary"]),
            "content_html": e["content_html"],
            "date_published": e["published"],
            "date_modified": e["updated"],
        }
        if author:
            item["authors"] = [{"name": author}]
        items.append(item)
    return dump_json(
        {"version": "https://jsonfeed.org/version/1.1", **head, "items": items}, pretty=True
    )


@dataclass
class Build:
    """One build in progress."""

    data: SiteInput
    writer: Any  # SiteWriter; typed loosely so tests can pass a recorder
    env: Environment
    stories: list[StoryRow]
    rows: dict[int, StoryRow] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    weeks: dict[str, list[StoryRow]] = field(default_factory=dict)
    hot_ids: set[int] = field(default_factory=set)
    hot: dict[int, StoryDetail] = field(default_factory=dict)
    records: dict[int, str] = field(default_factory=dict)
    story_fps: dict[int, str] = field(default_factory=dict)
    _by_topic: dict[str, list[StoryRow]] = field(default_factory=dict)
    _chrome: dict[str, dict[str, Markup]] = field(default_factory=dict)
    _teasers: dict[tuple[int, str], Markup] = field(default_factory=dict)
    _helpers: list[Forked] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows = {r.id: r for r in self.stories}
        self.names = {t.slug: t.name for t in self.data.config.topics}
        weeks: dict[str, list[StoryRow]] = defaultdict(list)
        for row in self.stories:
            weeks[row.week].append(row)
        self.weeks = dict(sorted(weeks.items(), reverse=True))

    def start_helper(self, render: Any) -> None:
        """Run render() in a forked child; it must return the (files, changed) it wrote."""
        self._helpers.append(Forked.start(render))

    def finish(self) -> None:
        """Wait for the forked helpers and record the files they staged as this build's own."""
        while self._helpers:
            files, changed = self._helpers[0].join()
            self._helpers.pop(0)
            self.writer.files.update(files)
            self.writer.changed += changed

    def abort(self) -> None:
        """Stop any forked helper of a build that failed."""
        while self._helpers:
            self._helpers.pop().abort()

    @property
    def config(self) -> Any:
        """Return the site config."""
        return self.data.config

    def chrome(self, root: str) -> dict[str, Markup]:
        """Return head links, header and footer for pages at this depth (rendered once each)."""
        if root not in self._chrome:
            mod = self.env.get_template("_chrome.html").make_module({"root": root})
            self._chrome[root] = {
                "head": Markup(mod.head_links()),
                "header": Markup(mod.header()),
                "footer": Markup(mod.footer()),
            }
        return self._chrome[root]

    def teasers(self, rows: list[StoryRow], root: str) -> list[Markup]:
        """Return the list entries of these stories for pages at this depth (cached per story)."""
        out = []
        tpl = self.env.get_template("_teaser.html")
        for row in rows:
            key = (row.id, root)
            html = self._teasers.get(key)
            if html is None:
                html = self._teasers[key] = Markup(
                    tpl.render(s=row, root=root, topic_names=self.names)
                )
            out.append(html)
        return out

    def render(self, template: str, path: str, **context: Any) -> str:
        """Return a rendered template for the page at `path` (relative links, canonical URL)."""
        tpl = self.env.get_template(template)
        values = {**page_globals(self.config, path), "topic_names": self.names, **context}
        values.setdefault("root", "")
        values["chrome"] = self.chrome(values["root"])
        if "stories" in values:
            values["teasers"] = self.teasers(values["stories"] or [], values["root"])
        return tpl.render(values)

    def page(self, path: str, fp: str, template: str, context: Any = None, **kw: Any) -> bool:
        """Emit one HTML page unless its inputs are unchanged; return True if it was staged.

        `context` may be a callable so that costly page data is only computed when needed.
        """
        rel = page_file(path)

        def render() -> str:
            values = context() if callable(context) else (context or {})
            return self.render(template, rel, **values, **kw)

        return self.writer.emit(rel, fp, render)

    def json_file(self, rel: str, fp: str, make: Any, pretty: bool = False) -> bool:
        """Emit one JSON file built by `make()` unless its inputs are unchanged."""
        return self.writer.emit(rel, fp, lambda: dump_json(make(), pretty))

    def story_fp(self, row: StoryRow) -> str:
        """Return the fingerprint of a story's own files (its page and API record)."""
        fp = self.story_fps.get(row.id)
        if fp is None:
            related = [self.rows[r].fp for r in row.related if r in self.rows]
            fp = self.story_fps[row.id] = fingerprint(row.fp, row.probe, related)
        return fp

    def details(self, rows: list[StoryRow]) -> list[StoryDetail]:
        """Return these stories' details, loading those not already held (newest are kept)."""
        missing = [r.id for r in rows if r.id not in self.hot]
        loaded = {d.row.id: d for d in self.data.load_details(missing)} if missing else {}
        for story_id, detail in loaded.items():
            if story_id in self.hot_ids:
                self.hot[story_id] = detail
        out = [self.hot.get(r.id) or loaded.get(r.id) for r in rows]
        return [d for d in out if d is not None]

    def list_fp(self, rows: list[StoryRow], *extra: Any) -> str:
        """Return the fingerprint of a page listing these stories."""
        return fingerprint([r.fp for r in rows], extra)

    def topic_rows(self, slug: str) -> list[StoryRow]:
        """Return a topic's stories, newest first."""
        if not self._by_topic:
            for row in self.stories:
                for topic, _score in row.topics:
                    self._by_topic.setdefault(topic, []).append(row)
        return self._by_topic.get(slug, [])
