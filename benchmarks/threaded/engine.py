"""The threaded engine: one `ThreadPoolExecutor(max_workers)` for every request of the sync.

The threaded example submits one task per table; for a fair comparison with async_core this engine fans out the
same way async_core does: each table's first page is a task, its `X-Total-Count` tells the number of pages, and
every remaining page is then submitted to the same pool (all tables share the `max_workers` threads). Without a
total the first-page task walks the pages itself, following `Link: rel="next"` or until a short page.

As in the original, the worker thread that fetched a page transforms its records and calls the sink's `upsert`
for each row (under the SDK, `op.upsert` is thread-safe through the SDK's lock), and checks before each record
whether the error thresholds still allow it to go on. Errors are classified and judged by async_core's
`ErrorLedger` behind one lock (the original's `ErrorHandler.error_lock`): a table past its threshold stops, a sync
past the total threshold or with a CRITICAL error stops (the original's `shutdown_event`).

The original checkpoints once, at the end; this one also checkpoints every `checkpoint_every_rows` rows, as
async_core does, so that under the SDK both engines make the runner write the same batches to the warehouse
(the worker that crosses the line checkpoints, outside the engine's lock; see `_note_written`).

Tuned as the async side was (issue 13): the calling thread waits once for all tasks (`_Tasks`), not per page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from async_core.errors import ConnectorError, RecordError, WaitTooLongError
from async_core.run.bridge import Sink
from async_core.run.dead_letters import dead_letter_row
from async_core.run.ledger import ErrorLedger, ErrorRecord, Verdict, record_for, recovered_after_retry
from async_core.settings import Settings, parse_settings
from async_core.source.spec import TableSpec
from async_core.source.sync_tables import SYNC_ERRORS, SYNC_RUNS
from async_core.sync import Log, SyncResult
from benchmarks.threaded.client import Page, ThreadedApiClient
from benchmarks.threaded.counters import PerThread, SharedCounters


@dataclasses.dataclass
class _Table:
    """One table's progress; its counters change under the engine's progress lock."""

    spec: TableSpec
    stopped: bool = False  # past its error threshold, or a wait too long: its remaining pages are skipped
    pages: int = 0
    pages_lost: int = 0
    records_written: int = 0
    errors: int = 0
    started: float = dataclasses.field(default_factory=time.monotonic)
    finished: float | None = None


def run_threaded(
    configuration: Mapping[str, object],
    state: Mapping[str, Any] | None,
    *,
    sink: Sink,
    log: Log,
    settings: Settings | None = None,
) -> SyncResult:
    """Runs one sync with threads; the same contract as `async_core.run_sync` except that `base_url` must be an
    API URL (the baseline does not start the embedded playground) and `state` is not resumed (the original
    example does not resume either)."""
    if settings is None:
        settings, _unknown = parse_settings(configuration)
    if settings.uses_playground:
        raise ValueError("the threaded baseline needs base_url to be the URL of a running API")
    engine = ThreadedEngine(settings, sink=sink, log=log)
    return engine.run()


class ThreadedEngine:
    """One sync on a thread pool."""

    def __init__(self, settings: Settings, *, sink: Sink, log: Log, clock: Callable[[], float] = time.monotonic):
        self._settings = settings
        self._sink = sink
        self._log = log
        self._clock = clock
        self._counters = SharedCounters()
        self._threads = PerThread()
        self._client = ThreadedApiClient(settings, base_url=settings.base_url, counters=self._counters)
        self._ledger = ErrorLedger(
            per_table_threshold=settings.error_threshold_per_thread, total_threshold=settings.total_error_threshold
        )
        self._ledger_lock = threading.Lock()
        self._shutdown = threading.Event()
        self._progress_lock = threading.Lock()
        self._tables = {name: _Table(settings.catalogue.table(name)) for name in settings.tables}
        self._rows_since_checkpoint = 0
        self._error_ids = 0
        self._checkpoints = 0
        self._started_at = dt.datetime.now(dt.UTC)
        self._sync_id = f"{self._started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"

    def run(self) -> SyncResult:
        settings = self._settings
        started = self._clock()
        self._log.info(
            f"threaded sync {self._sync_id}: tables {', '.join(settings.tables)}; {settings.max_workers} worker threads"
        )
        try:
            with ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="FivetranWorker") as pool:
                tasks = _Tasks(pool, on_error=self._task_failed)
                for table in self._tables.values():
                    tasks.submit(self._first_page_and_fan_out, tasks, table)
                tasks.wait()
        finally:
            self._client.close()
        elapsed = self._clock() - started
        for table in self._tables.values():
            table.finished = table.finished or self._clock()
        status, message = self._status()
        summary = self._summary(elapsed)
        self._finish(status, summary)
        line = f"threaded sync {status}: {summary['processing_summary']['total_records_processed']} records"
        (self._log.info if status == "succeeded" else self._log.warning)(line + (f". {message}" if message else ""))
        return SyncResult(
            sync_id=self._sync_id, status=status, message=message, summary=summary, checkpoints=self._checkpoints
        )

    # -- worker threads
    def _first_page_and_fan_out(self, tasks: _Tasks, table: _Table) -> None:
        """Page 1, then every other page of the table submitted to the same pool (from this worker)."""
        last = self._first_page(table)
        if last is not None and not self._should_stop(table):
            for number in range(2, last + 1):
                tasks.submit(self._page, table, number)

    def _first_page(self, table: _Table) -> int | None:
        """Fetches page 1 and returns the number of the last page when the total is known; without a total,
        walks the rest of the table here and returns None."""
        settings, spec = self._settings, table.spec
        if settings.page_size == 0:
            self._process(table, 1, url_for(settings, settings.base_url, spec.path, None))
            return None
        page = self._process(table, 1)
        if page is None:
            return None
        if page.total is not None:
            last = math.ceil(page.total / settings.page_size)
            return last if last > 1 else None
        number = 1
        while page is not None:
            if page.next_url:
                next_url = page.next_url
            elif len(page.rows) >= settings.page_size and not page.has_links:
                next_url = url_for(settings, settings.base_url, spec.path, number + 1)
            else:
                return None
            number += 1
            page = self._process(table, number, next_url)
        return None

    def _page(self, table: _Table, number: int) -> None:
        self._process(table, number)

    def _process(self, table: _Table, number: int, url: str | None = None) -> Page | None:
        """Fetches one page, transforms its records and upserts them from this thread. None when it is lost."""
        if self._should_stop(table):
            return None
        settings, spec = self._settings, table.spec
        mine = self._threads.mine()
        try:
            page = self._client.fetch(url or url_for(settings, settings.base_url, spec.path, number))
        except ConnectorError as exc:
            mine.errors_encountered += 1
            with self._progress_lock:
                table.pages_lost += 1
                table.errors += 1
            self._judge(table, record_for(exc, table=spec.name, page=number), dead_letter=True)
            if isinstance(exc, WaitTooLongError):
                table.stopped = True
            return None
        mine.pages += 1
        if page.recovered_from:
            self._judge(
                table,
                recovered_after_retry(
                    table=spec.name, page=number, attempts=page.attempts, last_error=page.recovered_from
                ),
            )
        processed_at = dt.datetime.now(dt.UTC)
        written = 0
        for record in page.rows:
            if self._should_stop(table):  # the original's should_continue_processing(), before each record
                break
            try:
                row = spec.transform(record, processed_at)
            except Exception as exc:  # RecordError is MEDIUM; anything else is a bug in a transform: CRITICAL
                mine.errors_encountered += 1
                record_id = record.get(spec.primary_key[0]) if isinstance(record, dict) else None  # "id" here
                error = record_for(
                    exc,
                    table=spec.name,
                    page=number,
                    record_id=None if record_id is None else str(record_id),
                    raw_record=record,
                )
                with self._progress_lock:
                    table.errors += 1
                self._judge(table, error, dead_letter=True)
                if not isinstance(exc, RecordError):
                    break
                continue
            self._sink.upsert(spec.name, row)
            written += 1
        mine.records_processed += written
        self._note_written(table, written)
        return page

    def _should_stop(self, table: _Table) -> bool:
        return table.stopped or self._shutdown.is_set()

    def _judge(self, table: _Table, error: ErrorRecord, *, dead_letter: bool = False) -> None:
        with self._ledger_lock:
            verdict = self._ledger.record(error)
            if dead_letter:
                self._error_ids += 1
                error_id = self._error_ids
        if dead_letter:
            self._sink.upsert(SYNC_ERRORS, dead_letter_row(self._sync_id, error_id, error))
        if verdict is Verdict.STOP_SYNC:
            self._shutdown.set()
        elif verdict is Verdict.STOP_TABLE and not table.stopped:
            table.stopped = True
            self._log.info(f"table {table.spec.name} stopped: more than {self._ledger.per_table_threshold} errors")

    def _note_written(self, table: _Table, rows: int) -> None:
        """Counts the page's rows; every `checkpoint_every_rows` rows, the worker that crossed the line checkpoints.

        The state is taken under the progress lock and handed to the SDK after it is released: a worker never
        holds the engine's lock through the SDK's commit. It covers only pages whose rows were upserted before it
        was taken, so it never claims a row the SDK has not been given (other workers' upserts in between are
        emitted before the checkpoint, and only make the state conservative)."""
        with self._progress_lock:
            table.pages += 1
            table.records_written += rows
            self._rows_since_checkpoint += rows
            if self._rows_since_checkpoint < self._settings.checkpoint_every_rows:
                return
            self._rows_since_checkpoint = 0
            self._checkpoints += 1
            # The state says what was handed to the SDK before this call; the baseline does not resume from it.
            state = self._progress_state()
        self._sink.checkpoint(state)

    def _task_failed(self, exc: Exception, args: tuple[Any, ...]) -> None:
        """An exception that escaped a task is a bug: CRITICAL, the sync stops."""
        table = next(arg for arg in args if isinstance(arg, _Table))
        self._log.warning(f"task failed for table {table.spec.name}: {exc!r}")
        self._judge(table, record_for(exc, table=table.spec.name), dead_letter=True)

    # -- the end, on the calling thread
    def _status(self) -> tuple[str, str | None]:
        if self._shutdown.is_set():
            return "failed", self._ledger.stop_reason or "sync stopped"
        if any(table.stopped or table.pages_lost for table in self._tables.values()):
            return "partial", "some pages could not be fetched; they are in sync_errors"
        return "succeeded", None

    def _progress_state(self) -> dict[str, Any]:
        return {
            "threaded_baseline": {
                name: {"pages_written": table.pages, "records_written": table.records_written}
                for name, table in sorted(self._tables.items())
            }
        }

    def _summary(self, elapsed: float) -> dict[str, Any]:
        counters, breaker = self._counters, self._client.breaker
        total = sum(table.records_written for table in self._tables.values())
        return {
            "processing_summary": {
                "total_records_processed": total,
                "total_errors": self._ledger.total,
                "total_retries": counters["retries"],
                "worker_count": self._settings.max_workers,
                "thread_count": len(self._threads.by_thread),
                "duration_seconds": round(elapsed, 3),
                "table_summaries": {
                    name: {
                        "records_processed": table.records_written,
                        "pages": table.pages,
                        "pages_lost": table.pages_lost,
                        "errors_encountered": table.errors,
                        "status": "stopped" if table.stopped else "incomplete" if table.pages_lost else "complete",
                    }
                    for name, table in sorted(self._tables.items())
                },
                "thread_summaries": {
                    name: metrics.summary() for name, metrics in sorted(self._threads.by_thread.items())
                },
            },
            "error_summary": self._ledger.summary(),
            "resilience": {
                "requests": counters["requests"],
                "retries": counters["retries"],
                "retries_succeeded": counters["retries_succeeded"],
                "retry_budget_refusals": counters["budget_refusals"],
                "retries_deferred": counters["retries_deferred"],
                "breaker_opens": breaker.opens if breaker else 0,
                "breaker_probes": breaker.probes if breaker else 0,
                "breaker_rejections": counters["breaker_rejections"],
                "rate_gate_waits": counters["gate_waits"],
                "rate_gate_wait_seconds": round(counters.gate_wait_seconds, 3),
                "http_statuses": {str(code): n for code, n in sorted(counters.statuses.items())},
            },
        }

    def _finish(self, status: str, summary: dict[str, Any]) -> None:
        """The `sync_runs` row and the final checkpoint, as the original's end of `update()`."""
        finished_at = dt.datetime.now(dt.UTC)
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
        self._checkpoints += 1
        self._sink.checkpoint(
            {
                "last_sync_time": finished_at.isoformat(),
                "total_records_processed": summary["processing_summary"]["total_records_processed"],
                "total_errors": summary["error_summary"]["total_errors"],
                "sync_status": status,
            }
        )


class _Tasks:
    """The sync's tasks on the pool, counted: `wait` returns when the last one has finished.

    The calling thread sleeps once for the whole sync instead of waking per finished page (`as_completed` over
    every future woke it ~1,800 times a sync and made it trade the GIL with the workers each time). A task may
    submit more tasks (a first page submits its table's other pages) before it finishes, so the count cannot
    reach zero early.
    """

    def __init__(self, pool: ThreadPoolExecutor, *, on_error: Callable[[Exception, tuple[Any, ...]], None]) -> None:
        self._pool = pool
        self._on_error = on_error
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._pool.submit(self._run, function, args)

    def _run(self, function: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            function(*args)
        except Exception as exc:
            self._on_error(exc, args)
        finally:
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()

    def wait(self) -> None:
        self._idle.wait()


def url_for(settings: Settings, base_url: str, path: str, page: int | None) -> str:
    """The URL of one page in json-server's convention (`?_page=N&_limit=M`); the whole collection when
    `page_size` is 0."""
    if page is None or settings.page_size == 0:
        return f"{base_url}{path}"
    return f"{base_url}{path}?_page={page}&_limit={settings.page_size}"
