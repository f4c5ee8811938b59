"""The engine: every table of the sync as a task, every page as a task, under one task group.

Per table, one walk (`async_core.run.walk`) from the point its state says; a child table lists its parent's rows
first and walks each parent's pages; a windowed table walks each window. What happens to each page (fetched
through the client, checked, transformed, handed to the bridge with its slot, or lost) is `PageFlow`'s
(`async_core.run.page_flow`).

Errors are recorded in the ledger, whose verdict decides: go on, stop this table (its page tasks are cancelled,
the other tables go on), or stop the sync (`SyncStopped` cancels every task; nothing further is sent). A source's
error rules (`async_core.source.rules`) are asked first, in the client's retry loop for responses and before the
transform for records; what they decide goes to the same ledger.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from async_core.errors import (
    FatalError,
    SyncStopped,
)
from async_core.http.client import ApiClient
from async_core.http.responses import origin
from async_core.run.bridge import Bridge
from async_core.run.ledger import (
    ErrorLedger,
)
from async_core.run.messages import Parents, Truncate
from async_core.run.metrics import Metrics
from async_core.run.page_flow import PageFlow
from async_core.run.pages import (
    BridgePages,
    CollectingPages,
    TableStopped,
    TeePages,
    WindowPages,
    where,
)
from async_core.run.report import progress_line
from async_core.run.unread import UnreadCursors
from async_core.run.walk import Walk, WalkStart
from async_core.settings import Settings
from async_core.source.auth import TokenStore
from async_core.source.deletes import Reconcile
from async_core.source.incremental import Comparable
from async_core.source.redact import sign
from async_core.source.spec import Source, TableSpec
from async_core.source.windows import Window

PROGRESS_INTERVAL_SECONDS = 5.0
CONFIRM_DELAY_SECONDS = 0.5  # before an empty page that would end a walk is fetched again


@dataclasses.dataclass(frozen=True, kw_only=True)
class TableStart:
    """Where each table starts, read from the state before the sync starts (the state itself is the SDK
    thread's): a plain table's walk, or a child table's parents already done and their lower bounds."""

    walk: WalkStart = dataclasses.field(default_factory=WalkStart)
    done: frozenset[str] = frozenset()
    parent_since: Mapping[str, Comparable] = dataclasses.field(default_factory=dict)
    window_mark: str | None = None  # a windowed table's: where its next plan starts


class Engine:
    """Runs the fetch side of one sync on the event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: Source,
        starts: Mapping[str, TableStart],
        base_url: str,
        client: ApiClient,
        bridge: Bridge | None,
        ledger: ErrorLedger,
        metrics: Metrics,
        log: Callable[[str], None],
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        store: TokenStore | None = None,
    ) -> None:
        self._settings = settings
        self._source = source
        self._starts = starts
        self._base_url = base_url
        self._client = client
        self._bridge = bridge
        self._ledger = ledger
        self._metrics = metrics
        self._log = log
        self._warn = warn or log  # what must reach the dashboard (`op.warning`)
        self._unread = UnreadCursors()  # cursors that read no value in a table's records
        # Parent tables whose own pass lists their children's parents (`_share_parent_listings`): the collectors
        # by parent and child, and each such child's listing, set when the parent's pass ends (None: list again).
        self._shared: dict[str, dict[str, CollectingPages]] = {}
        self._listed: dict[str, asyncio.Future[CollectingPages | None]] = {}
        self._clock = clock
        self._sleep = sleep
        # What happens to each page (fetched, checked, made into rows, handed over, or lost and judged).
        self._flow = PageFlow(
            settings,
            source=source,
            base_url=base_url,
            client=client,
            bridge=bridge,
            ledger=ledger,
            metrics=metrics,
            unread=self._unread,
            store=store,
        )

    @property
    def unreachable(self) -> dict[str, Exception]:
        """See `PageFlow.unreachable`: the sync must fail, not pass with 0 records."""
        return self._flow.unreachable

    async def run(self) -> None:
        """Syncs every configured table. Raises `SyncStopped` when a threshold or a CRITICAL error stops it."""
        self._share_parent_listings()
        try:
            async with asyncio.TaskGroup() as sync:
                reporter = sync.create_task(self._report_progress(self._clock()), name="progress")
                try:
                    async with asyncio.TaskGroup() as tables:
                        for name in self._settings.tables:
                            tables.create_task(self._sync_table(self._source.table(name)), name=f"table:{name}")
                finally:
                    reporter.cancel()
        except* SyncStopped as group:
            raise _first_leaf(group) from None

    async def _report_progress(self, started: float) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
            self._log(
                progress_line(
                    metrics=self._metrics,
                    ledger=self._ledger,
                    breaker=self._client.breaker,
                    elapsed=self._clock() - started,
                )
            )

    def _share_parent_listings(self) -> None:
        """A parent table selected with its child tables, whose pass this sync is a full one (page 1, no lower
        bound), gives the children its own pages' keys: listed once, not once more per child. Otherwise (an
        incremental or resumed parent pass holds only some parents) each child lists the parents itself."""
        selected = set(self._settings.tables)
        loop = asyncio.get_running_loop()
        for name in self._settings.tables:
            child = self._source.table(name)
            if child.parent is None or child.parent.table not in selected:
                continue
            start = self._starts.get(child.parent.table, TableStart()).walk
            parent = self._source.table(child.parent.table)
            if start.next_page != 1 or start.since is not None or start.resume is not None or parent.parent:
                continue
            assert self._bridge is not None
            self._shared.setdefault(parent.name, {})[name] = CollectingPages(self._flow, self._bridge, child)
            self._listed[name] = loop.create_future()

    async def _sync_table(self, spec: TableSpec) -> None:
        table = self._metrics.table(spec.name)
        start = self._starts.get(spec.name, TableStart())
        walk: Walk | None = None
        if isinstance(spec.deletes, Reconcile) and self._bridge is not None:  # before any page of the table
            self._bridge.put(Truncate(spec.name, (spec.name, *(bound.table for bound in spec.lists))))
        shared = self._shared.get(spec.name)
        try:
            async with asyncio.TaskGroup() as pages:
                if spec.windows is not None:
                    await self._sync_windows(spec, start, pages)
                elif spec.parent is None:
                    tee = TeePages(self._flow, self._bridge, shared) if shared else None
                    walk = self._walk(spec, start.walk, pages=tee)
                    await walk.run(pages)
                else:
                    await self._sync_children(spec, start, pages)
            if walk is not None:
                await walk.settle()  # every page is in: the pass is complete only if it read clean
            table.status = "incomplete" if self._flow.lost_pages.get(spec.name) else "complete"
            for child, collector in (shared or {}).items():  # a complete pass lists every parent, once
                self._listed[child].set_result(collector if table.status == "complete" else None)
            unread = self._unread.warning(spec)
            if unread is not None:
                self._warn(unread)
        except* TableStopped as group:
            table.status = "stopped"
            self._log(f"table {spec.name} stopped: {_first_leaf(group)}")
        finally:
            for child in shared or {}:  # the parent's pass did not complete: each child lists its parents itself
                if not self._listed[child].done():
                    self._listed[child].set_result(None)
            if table.status == "running":  # SyncStopped here, or cancelled because another table stopped the sync
                table.status = "cancelled"
            table.finished = self._clock()

    def _walk(
        self,
        spec: TableSpec,
        start: WalkStart,
        *,
        unit: str | None = None,
        parent: Mapping[str, Any] | None = None,
        pages: Any = None,
        owner: str | None = None,
    ) -> Walk:
        if start.next_page > 1 and start.resume is None and not spec.paginator.addressable:
            start = dataclasses.replace(start, next_page=1)  # nothing says where page N of this walk was
        if start.resume is not None and start.resume.signed:  # a saved link: its credentials added back
            start = dataclasses.replace(start, resume=sign(start.resume, self._settings.source_values))
        if start.prev is not None and start.prev.signed:  # the page that proves a resume: the same
            start = dataclasses.replace(start, prev=sign(start.prev, self._settings.source_values))
        if start.prev is not None and start.prev.url is not None and origin(start.prev.url) != origin(self._base_url):
            start = dataclasses.replace(start, prev=None)  # cannot be proven here: the pass starts over
        resume_url = start.resume.url if start.resume is not None else None
        if resume_url is not None and (
            origin(resume_url) != origin(self._base_url) or "@" in urlsplit(resume_url).netloc
        ):
            start = WalkStart(since=start.since)  # a saved link the client would refuse (base_url moved): start over
        return Walk(
            spec,
            pages=pages or BridgePages(self._flow, self._bridge),
            start=start,
            page_size=self._settings.table_value(spec, "page_size"),
            max_pages=self._settings.table_value(spec, "max_pages_per_table"),
            confirm_delay=CONFIRM_DELAY_SECONDS,
            unit=unit,
            parent=parent,
            owner=owner,
            sleep=self._sleep,
            log=self._log,
        )

    async def _sync_children(self, spec: TableSpec, start: TableStart, group: asyncio.TaskGroup) -> None:
        """Lists the parent's rows (a full walk, not written), then walks each parent's child pages."""
        assert spec.parent is not None
        parent_spec = self._source.table(spec.parent.table)
        listed = self._listed.get(spec.name)
        collector = await listed if listed is not None else None  # the parent table's own pass, when it is full
        if collector is None:
            collector = CollectingPages(self._flow, self._bridge, spec)
            async with asyncio.TaskGroup() as listing:
                await self._walk(parent_spec, WalkStart(), pages=collector, owner=spec.name).run(listing)
        if collector.lost:
            self._flow.lost_pages[spec.name] = self._flow.lost_pages.get(spec.name, 0) + 1
            return  # without every parent the pass cannot complete; the next sync lists them again
        units = collector.units
        shard = self._settings.shard
        if shard.splits:  # this connection's parents only: the other shards' connections walk theirs
            units = {unit: values for unit, values in units.items() if shard.owns(unit)}
        assert self._bridge is not None
        self._bridge.put(Parents(spec.name, tuple(units)))
        # As many parent walks alive at once as the bridge has slots (each waits for one): walks are created as
        # others end, so that 100,000 parents cost 100,000 walks in turn, not 100,000 tasks waiting at once.
        walkers = asyncio.Semaphore(self._bridge.capacity)
        for unit, values in units.items():
            if unit in start.done:
                continue
            await walkers.acquire()
            since = start.parent_since.get(unit)
            walk = self._walk(spec, WalkStart(since=since), unit=unit, parent=values)
            task = group.create_task(walk.run(group), name=f"{spec.name}[{unit}]")
            task.add_done_callback(lambda _: walkers.release())  # however it ends, even cancelled before it ran

    async def _sync_windows(self, spec: TableSpec, start: TableStart, group: asyncio.TaskGroup) -> None:
        """Plans the table's windows from its mark to now less lag and walks each (those not done in the open
        pass), as many at once as the bridge has slots; a window that returns the API's maximum is split."""
        windows = spec.windows
        assert windows is not None
        assert self._bridge is not None
        mark = dt.datetime.fromisoformat(start.window_mark) if start.window_mark else None
        units = {window.key: window for window in windows.plan(mark, dt.datetime.now(dt.UTC))}
        self._bridge.put(Parents(spec.name, tuple(units)))
        walkers = asyncio.Semaphore(self._bridge.capacity)
        for key, window in list(units.items()):
            if key in start.done:
                continue
            await walkers.acquire()
            task = group.create_task(self._window(spec, window, units), name=f"{spec.name}[{key}]")
            task.add_done_callback(lambda _: walkers.release())

    async def _window(self, spec: TableSpec, window: Window, units: dict[str, Window]) -> None:
        """One window's walk. Its last page is told only once the window is known not to be capped: a capped
        window never completes; its halves replace it in the pass."""
        windows = spec.windows
        assert windows is not None
        assert self._bridge is not None
        pages = WindowPages(self._flow, self._bridge)
        walk = self._walk(spec, WalkStart(), unit=window.key, parent=windows.params(window), pages=pages)
        async with asyncio.TaskGroup() as walking:
            await walk.run(walking)
        if windows.max_rows is None or pages.records < windows.max_rows:
            pages.finish()
            return
        halves = windows.split(window)
        if halves is None:
            error = FatalError(
                f"window {window.key} returned max_rows ({windows.max_rows}) rows even at min_step "
                f"({windows.min_step:g} s): some of its rows cannot be read; the mark stays before it"
            )
            self._flow.lose(spec.name, window.key, 1, None, error, where=where(walk))
            return
        del units[window.key]
        units.update({half.key: half for half in halves})
        self._bridge.put(Parents(spec.name, tuple(units)))
        async with asyncio.TaskGroup() as split:
            for half in halves:
                split.create_task(self._window(spec, half, units), name=f"{spec.name}[{half.key}]")


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first exception of a (possibly nested) group: the one that says why."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
