"""What a walk's pages go through: the engine's fetch and the bridge's slots, or, for the pages of a parent read
to list a child table's parents, a collector that writes nothing.

`Walk` (async_core.run.walk) asks a `Pages` for a slot, a fetch, a delivery or a loss; the engine decides what each
means. A child table's parents are listed by walking the parent's pages through `CollectingPages`: each parent row
becomes the key of one child walk (`unit_key`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from async_core.errors import RecordError, SyncStopped
from async_core.run.bridge import Bridge, LastPage, Replan, Slot
from async_core.run.walk import Fetched, Walk
from async_core.source.pagination import PageRequest
from async_core.source.spec import TableSpec


class TableStopped(Exception):
    """Raised inside a table's task group to cancel that table's pages (and only them)."""


class PageHandler(Protocol):
    """What the pages need of the engine (`async_core.run.engine.Engine`): fetch a page, deliver it, lose it."""

    async def fetch(self, walk: Walk, number: int, request: PageRequest, *, expect: int | None) -> Fetched: ...

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None: ...

    def lose(self, name: str, unit: str | None, number: int, slot: Slot | None, exc: Exception) -> None: ...


class BridgePages:
    """What a walk's pages go through: the engine's fetch, the bridge's slots."""

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
        self._engine.lose(walk.spec.name, walk.unit, number, slot, error)

    def put(self, message: LastPage | Replan) -> None:
        self._bridge.put(message)


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
                values = self._child.parent_values(record) if isinstance(record, dict) else None
            except RecordError:
                values = None
            if values is None:
                continue  # a parent row without its key cannot have children we can ask for
            unit = unit_key(values)
            self.units.setdefault(unit, values)

    def lose(self, walk: Walk, number: int, slot: Slot, error: Exception) -> None:
        self.lost = True
        self._engine.lose(self._child.name, None, number, None, error)

    def put(self, message: LastPage | Replan) -> None:
        pass


def unit_key(values: Mapping[str, Any]) -> str:
    """A child walk's key in the state: the parent's value, or a JSON list of them (unambiguous, as "1" vs 1)."""
    parts = list(values.values())
    if len(parts) == 1 and isinstance(parts[0], int) and not isinstance(parts[0], bool):
        return str(parts[0])
    return json.dumps(parts if len(parts) > 1 else parts[0], sort_keys=True, default=str)
