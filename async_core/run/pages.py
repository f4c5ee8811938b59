"""What a walk's pages go through: the page flow's fetch and the bridge's slots, or, for the pages of a parent read
to list a child table's parents, a collector that writes nothing.

`Walk` (async_core.run.walk) asks a `Pages` for a slot, a fetch, a delivery or a loss; the engine decides what each
means. A child table's parents are listed by walking the parent's pages through `CollectingPages`: each parent row
becomes the key of one child walk (`unit_key`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from async_core.errors import RecordError, SyncStopped
from async_core.run.bridge import Bridge, Slot
from async_core.run.ledger import ErrorRecord
from async_core.run.messages import LastPage, Replan
from async_core.run.walk import Fetched, Walk
from async_core.settings import Settings
from async_core.source.pagination import PageRequest
from async_core.source.spec import Source, TableSpec


class TableStopped(Exception):
    """Raised inside a table's task group to cancel that table's pages (and only them)."""


class PageHandler(Protocol):
    """What the pages need of the page flow (`async_core.run.page_flow.PageFlow`): fetch a page, deliver it, lose
    it, say that a parent row cannot be read. A protocol, so that the page flow imports this module and not the
    reverse."""

    async def fetch(self, walk: Walk, number: int, request: PageRequest, *, expect: int | None) -> Fetched: ...

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None: ...

    def lose(
        self, name: str, unit: str | None, number: int, slot: Slot | None, exc: Exception, *, where: str | None = None
    ) -> None: ...

    def parent_unreadable(
        self, child: TableSpec, parent: TableSpec, number: int, record: Any, exc: RecordError
    ) -> None: ...


class BridgePages:
    """What a walk's pages go through: the page flow's fetch, the bridge's slots."""

    def __init__(self, engine: PageHandler, bridge: Bridge | None) -> None:
        self._engine = engine
        if bridge is None:
            raise RuntimeError("an engine without a bridge can only fetch (the setup test); it cannot walk")
        self._bridge = bridge

    async def reserve(self) -> Slot:
        return await self._bridge.reserve()

    async def fetch(
        self, walk: Walk, number: int, request: PageRequest, slot: Slot, *, expect: int | None
    ) -> Fetched | None:
        try:
            return await self._engine.fetch(walk, number, request, expect=expect)
        except (SyncStopped, TableStopped):
            raise
        except Exception as exc:  # ours (HIGH/CRITICAL by type), or a bug (CRITICAL with traceback)
            self.lose(walk, number, slot, exc)
            return None

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        self._engine.deliver(walk, number, fetched, slot, resume=resume)

    def lose(self, walk: Walk, number: int, slot: Slot, error: Exception) -> None:
        self._engine.lose(walk.spec.name, walk.unit, number, slot, error, where=where(walk))

    def put(self, message: LastPage | Replan) -> None:
        self._bridge.put(message)


class WindowPages(BridgePages):
    """A time window's pages (`async_core.source.windows`): counted, and the walk's last page held back until the
    window is known not to be capped (`finish`), so that a capped window never completes."""

    def __init__(self, engine: PageHandler, bridge: Bridge | None) -> None:
        super().__init__(engine, bridge)
        self.records = 0
        self._last: list[LastPage] = []

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        self.records += len(fetched.records)
        super().deliver(walk, number, fetched, slot, resume=resume)

    def put(self, message: LastPage | Replan) -> None:
        if isinstance(message, LastPage):
            self._last.append(message)
        else:
            super().put(message)

    def finish(self) -> None:
        for message in self._last:
            self._bridge.put(message)
        self._last.clear()


class NullSlot(Slot):
    """A slot that holds nothing: pages read only to list a child table's parents never reach the bridge."""

    def __init__(self) -> None:
        self._done = True

    def send(self, message: Any) -> None:
        pass

    def release(self) -> None:
        pass


class CollectingPages(BridgePages):
    """Pages of a parent table read for a child table: their rows give the child's walks; nothing is written.
    A lost parent page is recorded against the child table (its pass cannot complete without it)."""

    def __init__(self, engine: PageHandler, bridge: Bridge | None, child: TableSpec) -> None:
        super().__init__(engine, bridge)
        self._child = child
        self.units: dict[str, dict[str, Any]] = {}
        self.lost = False

    async def reserve(self) -> Slot:
        return NullSlot()

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        for record in fetched.records:
            try:
                if not isinstance(record, Mapping):
                    raise RecordError(f"expected a JSON object, got {type(record).__name__}")
                values = self._child.parent_values(record)
            except RecordError as exc:  # its children cannot be asked for: said, never skipped silently
                self._engine.parent_unreadable(self._child, walk.spec, number, record, exc)
                continue
            unit = unit_key(values)
            self.units.setdefault(unit, values)

    def lose(self, walk: Walk, number: int, slot: Slot, error: Exception) -> None:
        self.lost = True
        listing = f"listing parent table {walk.spec.name!r}, path {walk.spec.path}"
        self._engine.lose(self._child.name, None, number, None, error, where=listing)

    def put(self, message: LastPage | Replan) -> None:
        pass


class TeePages(BridgePages):
    """A parent table's own pages, read for its selected child tables too: each child's parents are collected from
    the pages the parent's pass writes, so that a parent selected with its children is listed once per sync."""

    def __init__(self, engine: PageHandler, bridge: Bridge | None, collectors: Mapping[str, CollectingPages]) -> None:
        super().__init__(engine, bridge)
        self.collectors = collectors  # by child table name

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        for collector in self.collectors.values():
            collector.deliver(walk, number, fetched, slot, resume=resume)  # keys only; nothing written
        super().deliver(walk, number, fetched, slot, resume=resume)


def unit_key(values: Mapping[str, Any]) -> str:
    """A child walk's key in the state: the parent's value, or a JSON list of them (unambiguous, as "1" vs 1)."""
    parts = list(values.values())
    if len(parts) == 1 and isinstance(parts[0], int) and not isinstance(parts[0], bool):
        return str(parts[0])
    return json.dumps(parts if len(parts) > 1 else parts[0], sort_keys=True, default=str)


def where(walk: Walk) -> str | None:
    """Which parent a child table's walk is for, and the path it reads (no query: nothing secret), for its errors:
    "parent customer_id=3, path /customers/3/orders". None for a table's own walk."""
    if not walk.parent:
        return None
    keys = ", ".join(f"{name}={value!r}" for name, value in walk.parent.items())
    try:
        path = walk.spec.path.format_map({name: quote(str(value), safe="") for name, value in walk.parent.items()})
    except (KeyError, ValueError, IndexError):
        path = walk.spec.path
    return f"parent {keys}, path {path}"


def placed(error: ErrorRecord, context: str | None) -> ErrorRecord:
    """`error` with where it happened added to its message."""
    return error if context is None else dataclasses.replace(error, message=f"{error.message} ({context})")


def shard_filters(settings: Settings, source: Source) -> dict[str, Callable[[Any], bool]]:
    """With `shard`: for each selected parent of a selected child table, whether one of its records is this
    shard's (by the child walk's key, as the child's parents are chosen; a record without that key can have no
    children: the first shard lands it). Empty without a shard."""
    shard = settings.shard
    if not shard.splits:
        return {}
    filters: dict[str, Callable[[Any], bool]] = {}
    for name in settings.tables:
        child = source.table(name)
        if child.parent is None or child.parent.table not in settings.tables or child.parent.table in filters:
            continue

        def owned(record: Any, child: TableSpec = child) -> bool:
            try:
                values = child.parent_values(record) if isinstance(record, dict) else None
            except RecordError:
                values = None
            return shard.owns(unit_key(values)) if values is not None else shard.index == 1

        filters[child.parent.table] = owned
    return filters
