"""`aggregator export`: choose and write the planner records of the API (plain data)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from aggregator.publish.api import item_record
from aggregator.publish.data import SiteInput
from aggregator.publish.site import prepare
from aggregator.settings import parse_duration


def _cutoff(since: datetime | timedelta | str | int | None) -> datetime | None:
    if since is None:
        return None
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    if not isinstance(since, timedelta):
        try:
            since = timedelta(seconds=parse_duration(since))
        except ValueError as exc:
            raise ValueError(f"export: --since {since!r}: {exc}") from None
    return datetime.now(UTC) - since


def select_records(
    data: SiteInput,
    since: datetime | timedelta | str | int | None = None,
    topic: str | None = None,
) -> list[dict]:
    """Return the API records (newest first) of stories new or changed since `since`, in `topic`.

    `since` is a datetime, a timedelta or a duration such as "7d".
    """
    prepare(data)
    cutoff = _cutoff(since)
    rows = {r.id: r for r in data.stories}
    wanted = [
        r
        for r in data.stories
        if (cutoff is None or r.published_at >= cutoff or r.updated_at >= cutoff)
        and (topic is None or any(slug == topic for slug, _ in r.topics))
    ]
    details = data.load_details([r.id for r in wanted])
    return [item_record(d, rows, data.config) for d in details]


def write_records(records: list[dict[str, Any]], fmt: str, stream: IO[str]) -> None:
    """Write records as one JSON array (json) or one object per line (jsonl)."""
    if fmt == "jsonl":
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt == "json":
        json.dump(records, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    else:
        raise ValueError(f"export: unknown format {fmt!r} (use json or jsonl)")
