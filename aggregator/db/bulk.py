"""Bulk writes without per-value type processing: for tens of thousands of rows at a time.

A typed table runs each column's bind processor for every value of every row (a JSON dump,
a timezone conversion and a date format per row); for a bulk insert that is most of the
CPU. Writing through `untyped(table)` hands values to the driver as given, so the caller
converts them once, or where they are made, with `converter`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Dialect, Table, column, table
from sqlalchemy.sql.expression import TableClause


def untyped(model_table: Table) -> TableClause:
    """Return a construct of the same table and column names with no column types."""
    return table(model_table.name, *(column(c.name) for c in model_table.columns))


def converter(model_column: Column[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """Return the function that turns a Python value into what a typed insert of this
    column would give the driver (the value itself when the type has no bind processor)."""
    # dialect_impl: the dialect's own variant (SQLite's DATETIME formats the string itself;
    # the generic type's processor would leave that to the driver, which formats it otherwise).
    process = model_column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    """Return the value unchanged."""
    return value
