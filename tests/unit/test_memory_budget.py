"""The memory budget, in decoded bytes (sizes injected): pages count from their fetch until a checkpoint writes
them; fetching waits while the budget is spent; the rows held take a checkpoint at half of it, or after a while."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

from async_core.run.bridge import CHECKPOINT_INTERVAL_SECONDS, Bridge
from async_core.run.messages import Finish, Rows
from async_core.run.metrics import Metrics
from async_core.run.state import SyncState
from tests.sinks import RecordingSink


def _bridge(sink: RecordingSink, *, budget: int, clock: list[float] | None = None, capacity: int = 10) -> Bridge:
    state = SyncState.resume(None, tables=[("posts", None, False)], now="T0")
    now = clock if clock is not None else [0.0]
    return Bridge(
        sink,
        state,
        sync_id="S1",
        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        metrics=Metrics(),
        capacity=capacity,
        checkpoint_every_rows=1_000_000,
        memory_budget=budget,
        clock=lambda: now[0],
    )


def _page(number: int, size: int) -> Rows:
    return Rows("posts", number, [{"id": number}], [], size=size)


def _finish() -> Finish:
    return Finish(status="succeeded", message=None, summary=lambda: {})


def _pages_between_checkpoints(sink: RecordingSink) -> list[int]:
    counts, current = [], 0
    for kind, table, _ in sink.calls:
        if kind == "upsert" and table == "posts":
            current += 1
        elif kind == "checkpoint":
            counts.append(current)
            current = 0
    return counts


def test_the_rows_held_take_a_checkpoint_when_they_reach_half_the_budget() -> None:
    """Budget 1000 bytes, pages of 300: a checkpoint after every second page (600 held >= 500), whatever the rows."""
    sink = RecordingSink()
    bridge = _bridge(sink, budget=1000)
    for number in range(1, 7):
        bridge.put(_page(number, 300))
    bridge.put(_finish())
    bridge.consume()
    assert _pages_between_checkpoints(sink) == [2, 2, 2, 0]  # the last: the final checkpoint, after sync_runs


def test_rows_held_for_the_interval_take_a_checkpoint_even_when_small() -> None:
    """Small pages, a huge budget: no checkpoint until CHECKPOINT_INTERVAL_SECONDS have passed since the last."""
    sink = RecordingSink()
    clock = [0.0]
    bridge = _bridge(sink, budget=10**9, clock=clock)
    bridge.put(_page(1, 10))
    bridge.put(_page(2, 10))
    thread = threading.Thread(target=bridge.consume)
    thread.start()
    while len(sink.rows("posts")) < 2:
        threading.Event().wait(0.001)
    clock[0] = CHECKPOINT_INTERVAL_SECONDS
    bridge.put(_page(3, 10))
    bridge.put(_finish())
    thread.join(5)
    assert _pages_between_checkpoints(sink) == [3, 0]


def test_fetching_waits_while_the_budget_is_spent_and_goes_on_after_a_checkpoint() -> None:
    """Budget 100 bytes, pages of 60: the first page is queued; a second would pass the budget (60 queued + 60
    estimated), so its reservation waits, with slots to spare, until the SDK thread wrote and checkpointed the
    first (60 held >= 50). Nothing is counted at the end."""
    sink = RecordingSink()
    bridge = _bridge(sink, budget=100)
    order: list[str] = []
    checkpoint = sink.checkpoint

    def recording_checkpoint(state: dict[str, object]) -> None:
        order.append("checkpoint")
        checkpoint(state)

    sink.checkpoint = recording_checkpoint  # type: ignore[method-assign]

    async def main() -> None:
        bridge.bind(asyncio.get_running_loop())
        first = await bridge.reserve()
        first.send(_page(1, 60))
        assert bridge.bytes_in_use == 60
        second = asyncio.create_task(bridge.reserve())
        await asyncio.sleep(0.05)
        assert not second.done()  # the SDK thread is not running: nothing frees the budget
        assert bridge.waits_for_memory == 1
        consumer = threading.Thread(target=bridge.consume)
        consumer.start()
        slot = await asyncio.wait_for(second, 5)
        order.append("granted")
        slot.release()
        bridge.put(_finish())
        await asyncio.to_thread(consumer.join, 5)

    asyncio.run(main())
    assert order[:2] == ["checkpoint", "granted"]
    assert (bridge.bytes_in_use, bridge.slots_held) == (0, 0)


def test_a_page_larger_than_half_the_budget_still_goes_when_nothing_is_held() -> None:
    """Pages of 80 with a budget of 100: the estimate alone passes the budget, but with no page in flight or queued
    the next one goes (else nothing would ever free the budget): one page at a time, never a deadlock."""
    sink = RecordingSink()
    bridge = _bridge(sink, budget=100)

    async def main() -> None:
        bridge.bind(asyncio.get_running_loop())
        consumer = threading.Thread(target=bridge.consume)
        consumer.start()
        for number in range(1, 6):
            slot = await asyncio.wait_for(bridge.reserve(), 5)
            slot.send(_page(number, 80))
        bridge.put(_finish())
        await asyncio.to_thread(consumer.join, 5)

    asyncio.run(main())
    assert len(sink.rows("posts")) == 5
    assert _pages_between_checkpoints(sink)[:5] == [1, 1, 1, 1, 1]
