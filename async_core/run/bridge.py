"""The sync bridge: the event loop hands pages over, one thread (never the loop's) calls the SDK.

The loop reserves a slot before it fetches a page and hands the page over with the slot; the SDK thread upserts
the rows, moves the table's watermark, checkpoints every `checkpoint_every_rows` rows, and only then frees the
slot. The number of slots bounds the pages held in memory (fetching, queued or being written): a slow SDK slows
the fetching instead of growing memory, and the loop never blocks on the SDK.

Because one thread does both the upserts and the checkpoints, in the order the pages arrive, a checkpoint's
state never covers a row the SDK has not been given.

Slots bound pages, not bytes: the memory budget (`memory_budget_mb`) bounds the bytes. Each page counts by its
decoded size from the moment it is fetched (in flight, at the average page's size until it is known), queued, and
written but held by the SDK, which keeps the rows it was given until the next checkpoint. A page is not fetched
while the budget is spent; a checkpoint is taken when the rows held reach half the budget (and at least every
CHECKPOINT_INTERVAL_SECONDS), which frees them. A response larger than the whole budget is refused by the client.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from async_core.run.dead_letters import dead_letter_row
from async_core.run.ledger import ErrorRecord
from async_core.run.messages import (
    Crashed,
    Finish,
    LastPage,
    Message,
    Noted,
    Outcome,
    PageLost,
    Parents,
    Replan,
    Rows,
    TokenKept,
    Truncate,
)
from async_core.run.metrics import Metrics
from async_core.run.state import SyncState
from async_core.source.sync_tables import SYNC_ERRORS, SYNC_RUNS

# The memory budget's default: 48 MB of decoded JSON, which Python holds as 5 to 10 times that in objects (250 to
# 500 MB), within a deployed connection's 1 GB with room for the interpreter, the SDK and a checkpoint's flush.
DEFAULT_MEMORY_BUDGET = 48 * 1024 * 1024
# A checkpoint at least this often while rows are held (the platform's guidance: about every 10 minutes of work,
# not more than about once a minute), whatever the row count and the memory held.
CHECKPOINT_INTERVAL_SECONDS = 300.0


class Sink(Protocol):
    """What the bridge calls: the SDK's `Operations`, or a counting sink in benchmarks."""

    def upsert(self, table: str, data: dict[str, Any]) -> None: ...

    def checkpoint(self, state: dict[str, Any]) -> None: ...

    def delete(self, table: str, keys: dict[str, Any]) -> None: ...

    def truncate(self, table: str) -> None: ...


class BridgeTokens:
    """The `TokenStore` of a sync (`async_core.source.auth`), on the event loop side: what the state held when the
    sync started, and each new value sent to the SDK thread (`TokenKept`)."""

    def __init__(self, bridge: Bridge, saved: Mapping[str, str]) -> None:
        self._bridge = bridge
        self._values = dict(saved)

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        self._values[key] = value
        self._bridge.put(TokenKept(key, value))


class Slot:
    """A reserved place for one page in the bridge. `send` hands the page and the place to the SDK thread;
    `release` gives the place back unused (idempotent, and a no-op once sent)."""

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge
        self._done = False

    def send(self, message: Rows | PageLost) -> None:
        if self._done:
            raise RuntimeError("a slot carries one page")
        self._done = True
        self._bridge.charge(message.size if isinstance(message, Rows) else 0)
        self._bridge.put(message, frees_slot=True)

    def release(self) -> None:
        if not self._done:
            self._done = True
            self._bridge.release_slot()


class Bridge:
    """Between the loop (producer) and the SDK thread (consumer)."""

    def __init__(
        self,
        sink: Sink,
        state: SyncState,
        *,
        sync_id: str,
        started_at: dt.datetime,
        metrics: Metrics,
        capacity: int,
        checkpoint_every_rows: int,
        lost_page_syncs: int = 3,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self.state = state
        self._sync_id = sync_id
        self._started_at = started_at
        self._metrics = metrics
        self._capacity = capacity
        self._checkpoint_every_rows = checkpoint_every_rows
        self._lost_page_syncs = lost_page_syncs
        # Batches of (message, frees a slot): what the loop sent during one of its iterations.
        self._queue: queue.SimpleQueue[list[tuple[Message, bool]]] = queue.SimpleQueue()
        self._outbox: list[tuple[Message, bool]] = []
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Slots are counted, not semaphored: the loop reserves (`_reserved`), the SDK thread counts what it has
        # written (`_consumed`, written only by that thread). The SDK thread wakes the loop only when the loop
        # is waiting for room (`_loop_waiting`), so an unhurried sync costs no wake-up per page.
        self._reserved = 0
        self._consumed = 0
        self._loop_waiting = False
        # Walks waiting for a slot, first come first served: each freed slot is handed to one of them (one
        # wake-up per slot; an event waking every waiter made thousands of parent walks quadratic).
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.consumer_thread: int | None = None  # the one thread that calls the sink (tests check it)
        self._rows_since_checkpoint = 0
        self._error_ids = 0
        self.checkpoints = 0
        # The memory budget, in decoded bytes (see the module docstring): pages in flight (at the
        # running average of a page's size), queued, and written but held by the SDK until the next checkpoint.
        # Counted as slots are: `_charged` and `_sent` by the loop, `_released` and `_held` by the SDK thread.
        self.memory_budget = memory_budget
        self._held_share = memory_budget // 2  # rows held past this take a checkpoint (the SDK frees them)
        self._charged = 0  # decoded bytes of the pages sent
        self._sent = 0  # slots sent (pages and lost pages)
        self._page_bytes = 0.0  # a page's size, on average so far: the estimate for the pages in flight
        self._released = 0  # bytes whose rows a checkpoint wrote
        self._held = 0  # bytes written since the last checkpoint
        self._clock = clock
        self._last_checkpoint = clock()
        self.waits_for_memory = 0  # reservations that waited for the budget (not for a slot)

    # -- loop side
    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once, on the event loop thread, before any page is reserved."""
        self._loop = loop

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def slots_held(self) -> int:
        """Slots reserved and not yet given back or written (loop thread; tests check that none leak)."""
        return self._reserved - self._consumed

    @property
    def bytes_in_use(self) -> int:
        """Decoded bytes counted against the budget now: queued, and held by the SDK until a checkpoint (loop)."""
        return self._charged - self._released

    def _has_room(self) -> bool:
        """A slot is free, and the budget has room for one more page (its size estimated as the average page):
        pages in flight, queued, and held by the SDK until its next checkpoint. With no page held at all the
        answer is yes whatever the estimate: the SDK thread then has nothing that would free the budget."""
        held = self._reserved - self._consumed
        if held >= self._capacity:
            return False
        if held == 0:
            return True
        estimate = self._page_bytes
        in_use = self._charged - self._released + (self._reserved - self._sent + 1) * estimate
        return in_use <= self.memory_budget

    def charge(self, size: int) -> None:
        """A page of `size` decoded bytes is sent (loop thread): it counts until a checkpoint writes it."""
        self._sent += 1
        self._charged += size
        if size:
            self._page_bytes += (size - self._page_bytes) / min(self._sent, 32)  # a moving average, of recent pages

    async def reserve(self) -> Slot:
        """Waits for room for one page (a slot, and memory). The caller must `send` or `release` the slot."""
        if self._loop is None:
            raise RuntimeError("Bridge.bind() must be called on the event loop first")
        if not self._waiters and self._has_room():
            self._reserved += 1
            return Slot(self)
        if not self._waiters and self._reserved - self._consumed < self._capacity:
            self.waits_for_memory += 1  # a slot is free: the budget is what holds this page back
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        self._grant()  # the SDK thread may have made room since the test
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release_slot()  # granted, then cancelled before it ran: the slot goes to the next waiter
            raise
        return Slot(self)  # `_grant` counted it reserved

    def _grant(self) -> None:
        """Hands free slots to the waiters in turn (loop thread); asks the SDK thread for a wake-up if some wait."""
        waiters = self._waiters
        while waiters:
            while waiters and self._has_room():
                waiter = waiters.popleft()
                if not waiter.done():  # done: cancelled while it waited
                    self._reserved += 1
                    waiter.set_result(None)
            if not waiters:
                return
            self._loop_waiting = True
            if not self._has_room():
                return  # else: the SDK thread made room between the test and the flag; hand it over

    def release_slot(self) -> None:
        """Gives back a slot that carried nothing (loop thread)."""
        self._reserved -= 1
        if self._waiters:
            self._grant()

    def put(self, message: Message, *, frees_slot: bool = False) -> None:
        """Queues a message for the SDK thread; never blocks (slots bound the pages in the queue).

        On a running loop, the messages of one loop iteration travel together: one cross-thread wake-up per
        iteration instead of one per page (each wake-up makes the two threads trade the GIL). `Finish` and
        `Crashed` go at once.
        """
        self._outbox.append((message, frees_slot))
        loop = self._loop
        if isinstance(message, Finish | Crashed) or loop is None or loop.is_closed():
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._outbox:
            batch, self._outbox = self._outbox, []
            self._queue.put(batch)

    # -- SDK thread side
    def consume(self) -> Outcome:
        """Runs on the SDK thread until `Finish` (returns the outcome) or `Crashed` (raises the error).

        An exception from the sink propagates: the caller must then cancel the loop.
        """
        self.consumer_thread = threading.get_ident()
        while True:
            freed = 0
            try:
                for message, frees_slot in self._queue.get():
                    if isinstance(message, Finish):
                        return self._finish(message)
                    if isinstance(message, Crashed):
                        self._checkpoint()  # what was handed over is written; the state says exactly that
                        raise message.error
                    self._handle(message)
                    freed += frees_slot
            finally:
                if freed:
                    self._free_slots(freed)

    def _handle(self, message: Rows | PageLost | LastPage | Replan | Parents | Noted | TokenKept | Truncate) -> None:
        if isinstance(message, Noted):
            self._dead_letter(message.error)
            return
        if isinstance(message, Truncate):
            if self.state.tables[message.table].take_fresh():  # only when the pass opens: never on a resumed one
                for name in message.tables:
                    self._sink.truncate(name)
            return
        if isinstance(message, TokenKept):  # the old token is dead: a crash before the next checkpoint would lose it
            self.state.refresh_tokens[message.key] = message.value
            self._checkpoint()
            return
        table = self.state.tables[message.table]
        if isinstance(message, Parents):
            table.set_parents(message.keys)
            return
        walk = table.walk_for(message.unit)
        if isinstance(message, LastPage):
            walk.set_last_page(message.last_page)
        elif isinstance(message, Replan):
            walk.replan(message.next_page, message.size)
        elif isinstance(message, PageLost):
            self._dead_letter(message.error)
            walk.lost.add(message.page)
            table.lost_this_sync += 1
        else:
            upsert = self._sink.upsert
            name = message.table
            for row in message.rows:
                upsert(name, row)
            for kind, target, data in message.ops:
                if kind == "upsert":
                    upsert(target, data)
                else:
                    self._sink.delete(target, data)
            for rejected in message.rejected:
                self._dead_letter(rejected)
            self._metrics.table(name).records_written += len(message.rows)
            walk.mark_written(
                message.page,
                message.high,
                message.resume,
                request=message.request,
                last_key=message.last_key,
                served_at=message.served_at,
            )
            self._rows_since_checkpoint += len(message.rows) + len(message.ops) + len(message.rejected)
            self._held += message.size
        table.after_page(message.unit)
        if self._checkpoint_due():
            self._checkpoint()

    def _checkpoint_due(self) -> bool:
        """Every `checkpoint_every_rows` rows; when the rows the SDK holds reach their share of the memory budget
        (it frees them at a checkpoint); and at least every CHECKPOINT_INTERVAL_SECONDS while rows are held."""
        if self._rows_since_checkpoint >= self._checkpoint_every_rows or self._held >= self._held_share:
            return True
        return self._rows_since_checkpoint > 0 and self._clock() - self._last_checkpoint >= CHECKPOINT_INTERVAL_SECONDS

    def _free_slots(self, count: int) -> None:
        """Makes room for `count` pages; wakes the loop only if it waits for room."""
        self._consumed += count
        self._wake_loop()

    def _wake_loop(self) -> None:
        """SDK thread: room was made (slots or memory); the loop hands it to its waiters, if it has any."""
        if self._loop_waiting and self._loop is not None and not self._loop.is_closed():
            self._loop_waiting = False
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
                self._loop.call_soon_threadsafe(self._grant)

    def _checkpoint(self) -> None:
        self._sink.checkpoint(self.state.checkpoint())
        self._rows_since_checkpoint = 0
        self.checkpoints += 1
        self._last_checkpoint = self._clock()
        if self._held:  # the SDK wrote the rows it held: their bytes leave the budget
            self._released += self._held
            self._held = 0
            self._wake_loop()

    def _count_lost_streaks(self) -> list[str]:
        """Per table synced: a lost page that kept its pass open lengthens its streak; a completed pass ends it.
        Returns the tables whose streak reached `lost_page_syncs`."""
        stuck = []
        for name, table in self.state.tables.items():
            if table.completed_this_sync and not table.open:
                table.lost_streak = 0
            elif table.lost_this_sync:
                table.lost_streak += 1
            if table.lost_streak >= self._lost_page_syncs:
                stuck.append(name)
        return stuck

    def _dead_letter(self, error: ErrorRecord) -> None:
        self._error_ids += 1
        self._sink.upsert(SYNC_ERRORS, dead_letter_row(self._sync_id, self._error_ids, error))

    def _finish(self, message: Finish) -> Outcome:
        finished_at = dt.datetime.now(dt.UTC)
        status, text = message.status, message.message
        stuck = self._count_lost_streaks()
        if stuck and status != "failed":
            status = "failed"
            text = (
                f"pages of {', '.join(stuck)} were lost in {self._lost_page_syncs} syncs in a row (see sync_errors); "
                "the sync fails so that someone looks"
            )
        summary = message.summary()
        self._sink.upsert(
            SYNC_RUNS,
            {
                "sync_id": self._sync_id,
                "started_at": self._started_at,
                "finished_at": finished_at,
                "status": status,
                "summary": summary,
            },
        )
        self._sink.checkpoint(self.state.checkpoint())
        self.checkpoints += 1
        return Outcome(status=status, message=text, summary=summary)
