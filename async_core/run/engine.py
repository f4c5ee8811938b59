"""The engine: every table of the sync as a task, every page as a task, under one task group.

Per table: fetch the first page not yet written; if the response tells the total (`X-Total-Count`), reserve a
bridge slot for each remaining page and fan them out at once (the client's semaphore keeps `max_workers` requests
in flight); without a total, follow the `Link` header's rel="next"; without either, walk pages until a short one.

Errors are recorded in the ledger, whose verdict decides: go on, stop this table (its page tasks are cancelled,
the other tables go on), or stop the sync (`SyncStopped` cancels every task; nothing further is sent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import math
import time
from collections.abc import Callable
from typing import Any

from async_core.errors import FatalError, RecordError, SyncStopped, WaitTooLongError
from async_core.http.client import ApiClient, Request, Response
from async_core.http.responses import total_count
from async_core.run.bridge import Bridge, LastPage, PageLost, Rows, Slot
from async_core.run.ledger import ErrorLedger, ErrorRecord, Verdict, record_for, recovered_after_retry
from async_core.run.metrics import Metrics
from async_core.run.report import progress_line
from async_core.settings import Settings
from async_core.source.spec import TABLES, TableSpec

PROGRESS_INTERVAL_SECONDS = 5.0


class _TableStopped(Exception):
    """Raised inside a table's task group to cancel that table's pages (and only them)."""


class Engine:
    """Runs the fetch side of one sync on the event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str,
        client: ApiClient,
        bridge: Bridge,
        ledger: ErrorLedger,
        metrics: Metrics,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._base_url = base_url
        self._client = client
        self._bridge = bridge
        self._ledger = ledger
        self._metrics = metrics
        self._log = log
        self._clock = clock
        self._lost_pages: dict[str, int] = {}  # pages given up on, per table
        self._last_page_seen: dict[str, int] = {}  # per table: the page before the first empty page seen

    async def run(self) -> None:
        """Syncs every configured table. Raises `SyncStopped` when a threshold or a CRITICAL error stops it."""
        try:
            async with asyncio.TaskGroup() as sync:
                reporter = sync.create_task(self._report_progress(self._clock()), name="progress")
                try:
                    async with asyncio.TaskGroup() as tables:
                        for name in self._settings.tables:
                            tables.create_task(self._sync_table(TABLES[name]), name=f"table:{name}")
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

    async def _sync_table(self, spec: TableSpec) -> None:
        table = self._metrics.table(spec.name)
        progress = self._bridge.state.tables[spec.name]
        if progress.complete:
            table.status = "complete"  # written by an earlier sync of this cycle
            table.finished = self._clock()
            return
        try:
            async with asyncio.TaskGroup() as pages:
                await self._plan_and_fetch(spec, progress.next_page, pages)
            table.status = "incomplete" if self._lost_pages.get(spec.name) else "complete"
        except* _TableStopped as group:
            table.status = "stopped"
            self._log(f"table {spec.name} stopped: {_first_leaf(group)}")
        finally:
            if table.status == "running":  # SyncStopped here, or cancelled because another table stopped the sync
                table.status = "cancelled"
            table.finished = self._clock()

    async def _plan_and_fetch(self, spec: TableSpec, first: int, pages: asyncio.TaskGroup) -> None:
        """Fetches the first page, then the rest: fanned out when the total is known, walked otherwise."""
        size = self._settings.page_size
        if size == 0:
            if await self._fetch_page(spec, 1, url_for(self._settings, self._base_url, spec.path, None)):
                self._bridge.put(LastPage(spec.name, 1))
            return
        page = await self._fetch_page(spec, first)
        if page is None:
            return  # without its first page the size of the collection is unknown; the next sync retries
        if page.total is not None:
            last = math.ceil(page.total / size)
            self._bridge.put(LastPage(spec.name, last))
            for number in range(first + 1, last + 1):
                if number > self._last_page_seen.get(spec.name, last):
                    break  # an empty page came back: the total overstated the collection
                slot = await self._bridge.reserve()
                task = pages.create_task(self._fetch_into(spec, number, slot), name=f"{spec.name}:{number}")
                task.add_done_callback(functools.partial(_release_unused, slot))
            return
        await self._walk(spec, first, page)

    async def _walk(self, spec: TableSpec, number: int, page: Page | None) -> None:
        """Without a total: follow rel="next", or (without Link either) page numbers until a short page."""
        fetched = {url_for(self._settings, self._base_url, spec.path, number)}
        while page is not None and page.rows:
            if page.next_url:
                next_url = page.next_url
            elif len(page.rows) >= self._settings.page_size and not page.has_links:
                next_url = url_for(self._settings, self._base_url, spec.path, number + 1)  # no hint: keep walking
            else:
                break  # a short page, or Link without rel="next": the last page
            number += 1
            if next_url in fetched:  # a server whose rel="next" points back would keep us here forever
                await self._lose(spec, number, FatalError(f'pagination loop: rel="next" points back to {next_url}'))
                return
            fetched.add(next_url)
            page = await self._fetch_page(spec, number, next_url)
        if page is not None:
            self._bridge.put(LastPage(spec.name, number if page.rows else number - 1))

    async def _lose(self, spec: TableSpec, number: int, error: Exception) -> None:
        slot = await self._bridge.reserve()
        self._page_lost(spec, number, slot, error)

    async def _fetch_page(self, spec: TableSpec, number: int, url: str | None = None) -> Page | None:
        slot = await self._bridge.reserve()
        try:
            return await self._fetch_into(spec, number, slot, url)
        finally:
            slot.release()

    async def _fetch_into(self, spec: TableSpec, number: int, slot: Slot, url: str | None = None) -> Page | None:
        """Fetches one page and hands it to the bridge with its slot. Returns None when the page is lost."""
        table = self._metrics.table(spec.name)
        try:
            target = url or url_for(self._settings, self._base_url, spec.path, number)
            credentials = {"Authorization": f"Bearer {self._settings.api_key}"} if self._settings.api_key else {}
            page = _as_page(await self._client.fetch(Request(target, credentials=credentials)))
        except Exception as exc:  # ours (HIGH/CRITICAL by type), or a bug (CRITICAL with traceback)
            self._page_lost(spec, number, slot, exc)
            return None
        if not page.rows and number > 1:  # past the end: the last page is the one before (at the latest)
            last = min(self._last_page_seen.get(spec.name, number - 1), number - 1)
            self._last_page_seen[spec.name] = last
            self._bridge.put(LastPage(spec.name, last))
        table.pages += 1
        table.records_fetched += len(page.rows)
        if page.recovered_from:
            self._judge(
                recovered_after_retry(
                    table=spec.name, page=number, attempts=page.attempts, last_error=page.recovered_from
                )
            )
        rows, rejected = self._transform(spec, number, page.rows)
        slot.send(Rows(spec.name, number, rows, rejected))
        for error in rejected:
            table.errors += 1
            self._judge(error)
        return page

    def _page_lost(self, spec: TableSpec, number: int, slot: Slot, exc: Exception) -> None:
        """Records a page that could not be fetched (its table's watermark stays before it) and judges the error."""
        error = record_for(exc, table=spec.name, page=number)
        slot.send(PageLost(spec.name, number, error))
        self._lost_pages[spec.name] = self._lost_pages.get(spec.name, 0) + 1
        self._metrics.table(spec.name).errors += 1
        self._judge(error)
        if isinstance(exc, WaitTooLongError):
            raise _TableStopped(str(exc)) from exc

    def _transform(
        self, spec: TableSpec, number: int, records: list[Any]
    ) -> tuple[list[dict[str, Any]], list[ErrorRecord]]:
        processed_at = dt.datetime.now(dt.UTC)
        rows: list[dict[str, Any]] = []
        rejected: list[ErrorRecord] = []
        for record in records:
            try:
                rows.append(spec.transform(record, processed_at))
            except RecordError as exc:
                rejected.append(self._rejected(exc, spec, number, record))
            except Exception as exc:  # a bug in a transform: CRITICAL, with its traceback
                rejected.append(self._rejected(exc, spec, number, record))
        return rows, rejected

    @staticmethod
    def _rejected(exc: Exception, spec: TableSpec, number: int, record: Any) -> ErrorRecord:
        record_id = record.get(spec.primary_key) if isinstance(record, dict) else None
        return record_for(
            exc,
            table=spec.name,
            page=number,
            record_id=None if record_id is None else str(record_id),
            raw_record=record,
        )

    def _judge(self, error: ErrorRecord) -> None:
        verdict = self._ledger.record(error)
        if verdict is Verdict.STOP_SYNC:
            raise SyncStopped(self._ledger.stop_reason or "sync stopped")
        if verdict is Verdict.STOP_TABLE:
            raise _TableStopped(f"table {error.table}: more than {self._ledger.per_table_threshold} errors")


@dataclasses.dataclass(frozen=True)
class Page:
    """A json-server page: its rows, and what the response says about the rest of the collection."""

    rows: list[Any]
    total: int | None
    next_url: str | None
    has_links: bool
    attempts: int
    recovered_from: str | None


def _as_page(response: Response) -> Page:
    if not isinstance(response.body, list):
        raise FatalError(f"expected a JSON array, got {type(response.body).__name__}")
    return Page(
        rows=response.body,
        total=total_count(response.headers),
        next_url=response.links.get("next"),
        has_links=bool(response.links),
        attempts=response.attempts,
        recovered_from=response.recovered_from,
    )


def url_for(settings: Settings, base_url: str, path: str, page: int | None) -> str:
    if page is None or settings.page_size == 0:
        return f"{base_url}{path}"
    return f"{base_url}{path}?_page={page}&_limit={settings.page_size}"


def _release_unused(slot: Slot, _task: asyncio.Task[Any]) -> None:
    """Gives back the slot of a page task that ended without sending (cancelled before it ran, or failed)."""
    slot.release()


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first exception of a (possibly nested) group: the one that says why."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
