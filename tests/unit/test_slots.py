"""The bridge's slots: every slot reserved is given back, whatever cancels the page that held it, and waiting
for a slot costs a wake-up per slot freed, not one per waiter."""

from __future__ import annotations

import asyncio
import datetime as dt

from async_core.run.bridge import Bridge, Slot
from async_core.run.messages import LastPage, Replan
from async_core.run.metrics import Metrics
from async_core.run.pages import TableStopped
from async_core.run.state import SyncState
from async_core.run.walk import Fetched, Walk, WalkStart
from async_core.source import Column, PageNumber, TableSpec
from async_core.source.pagination import PageFacts, PageRequest
from tests.devtools import pytest
from tests.sinks import RecordingSink

POSTS = TableSpec(
    name="posts", path="/posts", columns=(Column("id", "id", "INT"),), paginator=PageNumber(total_path="total")
)


def _bridge(capacity: int) -> Bridge:
    state = SyncState.resume(None, tables=[("posts", None, False)], now="T0")
    return Bridge(
        RecordingSink(),
        state,
        sync_id="S1",
        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        metrics=Metrics(),
        capacity=capacity,
        checkpoint_every_rows=1000,
    )


class FailingPage:
    """Pages through the bridge's slots: page 1 announces 10 pages, page 2 stops the table, the others hang."""

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def reserve(self) -> Slot:
        return await self._bridge.reserve()

    async def fetch(
        self, walk: Walk, number: int, request: PageRequest, slot: Slot, *, expect: int | None
    ) -> Fetched | None:
        if number == 1:
            return Fetched([{"id": n} for n in range(1, 11)], PageFacts(total_items=100))
        if number == 2:
            raise TableStopped("page 2 stops the table")
        await asyncio.sleep(3600)
        return None

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        pass  # the walk releases the slot

    def lose(self, walk: Walk, number: int, slot: Slot, error: Exception) -> None:
        slot.release()

    def put(self, message: LastPage | Replan) -> None:
        pass


def test_a_page_task_cancelled_before_it_ran_gives_its_slot_back() -> None:
    """Page 2 stops the table; its freed slot lets the fan-out reserve one more and create page 5's task in the
    same loop turn as the failure, so the group cancels page 5 before it runs. Its slot must come back all the
    same: a slot lost here is a page of memory and a worker gone for the rest of the sync."""
    bridge = _bridge(capacity=3)

    async def main() -> None:
        bridge.bind(asyncio.get_running_loop())
        walk = Walk(POSTS, pages=FailingPage(bridge), start=WalkStart(), page_size=10, max_pages=100, confirm_delay=0)
        with pytest.raises(ExceptionGroup):
            async with asyncio.TaskGroup() as group:
                await walk.run(group)
        await asyncio.sleep(0)  # the done callbacks of the cancelled tasks

    asyncio.run(main())
    assert bridge.slots_held == 0


def test_a_freed_slot_wakes_one_waiter_and_a_granted_waiter_cancelled_passes_it_on() -> None:
    """Capacity 1, three waiters: a release hands the slot to the first only (the others sleep on); the first,
    cancelled before it ran, passes it to the second; nothing is held at the end."""
    bridge = _bridge(capacity=1)
    order: list[str] = []

    async def waiter(name: str) -> None:
        slot = await bridge.reserve()
        order.append(name)
        slot.release()

    async def main() -> None:
        bridge.bind(asyncio.get_running_loop())
        held = await bridge.reserve()
        tasks = [asyncio.create_task(waiter(name)) for name in ("a", "b", "c")]
        await asyncio.sleep(0)  # all three wait
        held.release()  # granted to a
        tasks[0].cancel()  # before a ran: its slot goes to b
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    assert order == ["b", "c"]
    assert bridge.slots_held == 0
