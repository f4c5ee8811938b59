"""Reading a checkpointed state (version 2) in tests: a table's entry, its open pass, whether every pass is done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def entry(state: Mapping[str, Any] | None, table: str) -> dict[str, Any]:
    """The table's entry of a version-2 state ({} when the state has none)."""
    if not state:
        return {}
    tables = state.get("tables")
    value = tables.get(table) if isinstance(tables, Mapping) else None
    return dict(value) if isinstance(value, Mapping) else {}


def open_pass(state: Mapping[str, Any] | None, table: str) -> dict[str, Any] | None:
    """The table's open pass, or None when its last pass completed (or it has no entry)."""
    value = entry(state, table).get("pass")
    return dict(value) if isinstance(value, Mapping) else None


def next_page(state: Mapping[str, Any] | None, table: str) -> int:
    """The first page of the table's open pass not yet written; 1 when no pass is open."""
    opened = open_pass(state, table)
    return int(opened["next_page"]) if opened else 1


def all_complete(state: Mapping[str, Any] | None) -> bool:
    """Every table in the state has completed its pass (`"pass": null`)."""
    if not state or state.get("version") != 2:
        return False
    tables = state.get("tables")
    return (
        isinstance(tables, Mapping)
        and bool(tables)
        and all(isinstance(value, Mapping) and value.get("pass", "missing") is None for value in tables.values())
    )


def open_tables(state: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The open passes of a state, by table."""
    tables = state.get("tables") if state else None
    if not isinstance(tables, Mapping):
        return {}
    return {name: dict(value["pass"]) for name, value in tables.items() if isinstance(value.get("pass"), Mapping)}
