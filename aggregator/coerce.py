"""Loosely typed values (JSON fields, raw rows) made into the types the code expects."""

from __future__ import annotations

from typing import Any


def as_int(value: Any, default: int = 0) -> int:
    """Return value as an int, else the default (None, "", and junk become the default)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return default
