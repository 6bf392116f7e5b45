"""`aggregator export`: choose and write the planner records of the API (plain data)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from aggregator.publish.api import item_record
from aggregator.publish.data import SiteInput
from aggregator.publish.site import prepare
from aggregator.settings import parse_duration

Moment = datetime | timedelta | str | int | None


def cutoff(value: Moment, option: str = "--since", now: datetime | None = None) -> datetime | None:
    """Return the UTC time a cursor value means: a time (ISO 8601) or a duration back from now.

    Raises ValueError naming the option when the value is neither.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value[:4].isdigit() and "-" in value:
        try:
            return cutoff(datetime.fromisoformat(value.replace("Z", "+00:00")), option)
        except ValueError:
            pass
    if not isinstance(value, timedelta):
        try:
            value = timedelta(seconds=parse_duration(value))
        except ValueError as exc:
            raise ValueError(
                f"export: {option} {value!r}: {exc} (or give a time such as 2026-12-01T00:00Z)"
            ) from None
    return (now or datetime.now(UTC)) - value


def select_records(
    data: SiteInput,
    since: Moment = None,
    topic: str | None = None,
    *,
    updated_since: Moment = None,
) -> list[dict]:
    """Return the API records (newest first) of stories published since `since`, in `topic`,
    whose card changed since `updated_since`.

    Each cursor is a datetime, a timedelta, an ISO 8601 time or a duration such as "7d".
    """
    prepare(data)
    published, changed = cutoff(since), cutoff(updated_since, "--updated-since")
    rows = {r.id: r for r in data.stories}
    wanted = [
        r
        for r in data.stories
        if (published is None or r.published_at >= published)
        and (changed is None or r.updated_at >= changed)
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
