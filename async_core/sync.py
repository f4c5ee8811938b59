"""One sync, end to end: settings -> event loop thread (engine, client) -> bridge -> the SDK on the calling thread.

`run_sync` is what `update()` calls. The calling thread becomes the SDK thread: it consumes the bridge and makes
every SDK call. The event loop runs in a thread of its own for the duration of the sync and is joined before
`run_sync` returns or raises, so no task, thread, session or socket outlives the sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from async_core.errors import SyncStopped
from async_core.http.client import ApiClient
from async_core.http.session import make_session
from async_core.run.binding import PLAYGROUND_ORIGIN, binding, origin_of
from async_core.run.bridge import Bridge, BridgeTokens, Sink
from async_core.run.collector import quiet_collector
from async_core.run.engine import Engine, TableStart
from async_core.run.ledger import ErrorLedger, record_for
from async_core.run.messages import Crashed, Finish, Noted, Outcome
from async_core.run.metrics import Metrics
from async_core.run.report import build_summary
from async_core.run.state import SyncState
from async_core.run.walk import WalkStart
from async_core.settings import Settings, moved_key_warnings, parse_settings, unknown_key_warning


class Log(Protocol):
    """The logger the connector passes: Fivetran's `Logging`, or anything with these two methods (`severe`, which
    SDK 3.0 deprecates, is not needed: what must reach the dashboard goes through `op.warning` / `op.error`)."""

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...


class StdLog:
    """A `Log` over the standard `logging` module, for use outside the SDK (benchmarks, scripts)."""

    def __init__(self, name: str = "async_core") -> None:
        self._logger = logging.getLogger(name)

    def info(self, message: str) -> None:
        self._logger.info(message)

    def warning(self, message: str) -> None:
        self._logger.warning(message)


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What `run_sync` returns: the outcome and the numbers tests and benchmarks look at."""

    sync_id: str
    status: str  # succeeded | partial | failed
    message: str | None
    summary: dict[str, Any]
    checkpoints: int
    # what the dashboard should show though the sync did not fail (a cursor that read nothing): `connector.py`
    # hands each to `op.warning`
    warnings: tuple[str, ...] = ()


def run_sync(
    configuration: Mapping[str, object],
    state: Mapping[str, Any] | None,
    *,
    sink: Sink,
    log: Log,
    settings: Settings | None = None,
) -> SyncResult:
    """Runs one sync. Raises `ConfigurationError` (before anything is written) for a bad configuration.

    A sync stopped by a threshold or a CRITICAL error returns with status "failed" after its last checkpoint; the
    caller decides how to fail it on the platform (`connector.py` uses `op.error`).
    """
    if settings is None:
        settings, unknown = parse_settings(configuration)
        for line in moved_key_warnings(configuration):
            log.warning(line)
        for key in unknown:
            log.warning(unknown_key_warning(key))
    started_at = dt.datetime.now(dt.UTC)
    sync_id = f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    metrics = Metrics()
    ledger = ErrorLedger(
        per_table_threshold=settings.error_threshold_per_thread, total_threshold=settings.total_error_threshold
    )
    source = settings.catalogue
    specs = [source.table(name) for name in settings.tables]
    api = PLAYGROUND_ORIGIN if settings.uses_playground else origin_of(settings.api_base_url)
    sync_state = SyncState.resume(
        state,
        tables=[(s.name, s.cursor, s.parent is not None or s.windows is not None) for s in specs],  # units
        now=started_at.isoformat(),
        bindings={s.name: binding(source=settings.source, origin=api, spec=s) for s in specs},
    )
    for spec in specs:  # a windowed table's mark starts at its initial value
        if spec.windows is not None and sync_state.tables[spec.name].window_mark is None:
            sync_state.tables[spec.name].window_mark = spec.windows.initial.isoformat()
    for note in sync_state.notes:
        log.info(note)
    starts = table_starts(sync_state)
    resumed = {name: start.walk.next_page for name, start in starts.items() if start.walk.next_page > 1}
    if resumed:
        log.info(f"resuming open passes at pages {resumed}")
    bridge = Bridge(
        sink,
        sync_state,
        sync_id=sync_id,
        started_at=started_at,
        metrics=metrics,
        capacity=2 * settings.max_workers + 8,
        checkpoint_every_rows=settings.checkpoint_every_rows,
        lost_page_syncs=settings.lost_page_syncs,
        memory_budget=int(settings.memory_budget_mb * 1024 * 1024),
    )
    log.info(
        f"sync {sync_id}: source {settings.source}, tables {', '.join(settings.tables)}; "
        f"{settings.max_workers} workers; base_url {redacted_url(settings.api_base_url)}"
    )
    tokens = BridgeTokens(bridge, sync_state.refresh_tokens)  # read now: afterwards the state is the SDK thread's
    warnings: list[str] = []  # appended on the loop's thread, read after it is joined
    loop_thread = _LoopThread(
        lambda: _fetch_side(
            settings,
            starts=starts,
            bridge=bridge,
            ledger=ledger,
            metrics=metrics,
            log=log,
            tokens=tokens,
            warnings=warnings,
        ),
        on_crash=lambda error: bridge.put(Crashed(error)),
        name=f"sync-{sync_id}",
    )
    with quiet_collector():  # fewer, cheaper garbage collections while the pages flow (`run/collector.py`)
        loop_thread.start()
        try:
            outcome: Outcome = bridge.consume()
        except BaseException:
            loop_thread.cancel()
            raise
        finally:
            loop_thread.join()
    _log_outcome(log, outcome)
    return SyncResult(
        sync_id=sync_id,
        status=outcome.status,
        message=outcome.message,
        summary=outcome.summary,
        checkpoints=bridge.checkpoints,
        warnings=tuple(warnings),
    )


def table_starts(state: SyncState) -> dict[str, TableStart]:
    """Where each table starts, read before the loop starts (afterwards only the SDK thread reads the state)."""
    starts: dict[str, TableStart] = {}
    for name, table in state.tables.items():
        if table.child:
            marks = {unit: table.unit_since(unit) for unit in table.parent_marks}
            starts[name] = TableStart(
                done=frozenset(table.done),
                parent_since={unit: since for unit, since in marks.items() if since is not None},
                window_mark=table.window_mark,
            )
        elif table.cursor is not None and table.cursor.sorted:
            # A keyset pass resumes from its bound (the written prefix's high mark), never from a page number.
            walk = table.walk_for(None)
            since = table.cursor.lower(walk.high) if walk.high is not None else table.since
            starts[name] = TableStart(walk=WalkStart(next_page=walk.next_page, size=walk.size, since=since))
        else:
            walk = table.walk_for(None)
            starts[name] = TableStart(
                walk=WalkStart(
                    next_page=walk.next_page,
                    size=walk.size,
                    resume=walk.resume,
                    since=table.since,
                    prev=walk.prev,
                    prev_key=walk.prev_key,
                    began=walk.began,
                )
            )
    return starts


async def _fetch_side(
    settings: Settings,
    *,
    starts: Mapping[str, TableStart],
    bridge: Bridge,
    ledger: ErrorLedger,
    metrics: Metrics,
    log: Log,
    tokens: BridgeTokens | None = None,
    warnings: list[str] | None = None,
) -> None:
    """The event loop side of a sync; always ends by sending `Finish` or `Crashed` to the bridge.

    Anything unexpected (a bug outside a page's fetch) ends the sync like a CRITICAL error: recorded with its
    traceback, what was handed over is checkpointed, and the sync fails with one line.
    """
    bridge.bind(asyncio.get_running_loop())
    started = time.monotonic()
    breaker = None
    status, message = "succeeded", None
    try:
        policy = settings.http_policy()
        async with api_base_url(settings) as base_url, make_session(policy) as session:
            client = ApiClient(
                policy,
                session,
                base_url=base_url,
                metrics=metrics,
                allowed_hosts=settings.catalogue.allowed_hosts,
            )
            breaker = client.breaker
            engine = Engine(
                settings,
                source=settings.catalogue,
                starts=starts,
                base_url=base_url,
                client=client,
                bridge=bridge,
                ledger=ledger,
                metrics=metrics,
                log=log.info,
                store=tokens,
                warn=_warner(log, warnings if warnings is not None else []),
            )
            try:
                await engine.run()
            except SyncStopped as exc:  # the ledger's reason now: every error recorded before the stop counted
                status, message = "failed", ledger.stop_reason or str(exc)
            unreachable = engine.unreachable
            if status == "succeeded" and unreachable:
                name, error = next(iter(unreachable.items()))
                status = "failed"
                message = (
                    f"nothing could be fetched: every table's first request failed ({name}: {error}); "
                    "check base_url and the tables' paths"
                )
    except Exception as exc:  # a bug, or a failure outside any page: CRITICAL, with its traceback
        cause = _first_leaf(exc)
        crash = record_for(cause, table="(sync)")
        ledger.record(crash)
        bridge.put(Noted(crash))
        status, message = "failed", f"unexpected error: {type(cause).__name__}: {cause}"
    if status == "succeeded" and any(t.status != "complete" for t in metrics.tables.values()):
        status = "partial"
        message = _partial_message(metrics, ledger)

    def summary() -> dict[str, Any]:
        return build_summary(
            metrics=metrics,
            ledger=ledger,
            breaker=breaker,
            max_workers=settings.max_workers,
            elapsed=time.monotonic() - started,
        )

    bridge.put(Finish(status=status, message=message, summary=summary))


def _warner(log: Log, warnings: list[str]) -> Callable[[str], None]:
    """A warning logged now and kept for the result (the SDK thread hands it to `op.warning`)."""

    def warn(line: str) -> None:
        log.warning(line)
        warnings.append(line)

    return warn


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception inside (possibly nested) exception groups: the one that says what happened."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _partial_message(metrics: Metrics, ledger: ErrorLedger) -> str:
    """What made the sync partial, in words: pages lost, or a table stopped by its records' errors."""
    parts = []
    for name, table in sorted(metrics.tables.items()):
        if table.status == "complete":
            continue
        pages, records = ledger.pages_lost[name], ledger.records_rejected[name]
        what = []
        if pages:
            what.append(f"{pages} page(s) could not be fetched")
        if records:
            what.append(f"{records} record(s) rejected")
        if ledger.torn[name]:
            what.append("its data changed while it was read (the pass is read again)")
        reason = " and ".join(what) or "not finished"
        parts.append(f"{name} {table.status} ({reason})")
    return (
        "incomplete tables: " + "; ".join(parts) + ". The errors are in sync_errors; the next sync fetches what is "
        "missing again"
    )


def redacted_url(url: str) -> str:
    """`url` without user info (a password there is refused by the settings; this is the second line)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def api_base_url(settings: Settings) -> AsyncIterator[str]:
    """The base URL of the API: the embedded playground, started for this sync, or the configured one."""
    if not settings.uses_playground:
        yield settings.api_base_url
        return
    from async_core.playground import Playground, profile  # only a playground sync needs the server code

    fault_profile = dataclasses.replace(
        profile(settings.playground_faults),
        latency_ms=settings.playground_latency_ms,
        seed=settings.playground_seed,
        capacity=settings.playground_capacity,
    )
    async with Playground(profile=fault_profile, scale=settings.playground_scale) as playground:
        yield playground.base_url


def _log_outcome(log: Log, outcome: Outcome) -> None:
    processing = outcome.summary.get("processing_summary", {})
    line = (
        f"sync {outcome.status}: {processing.get('total_records_processed')} records, "
        f"{processing.get('total_errors')} errors, {processing.get('total_retries')} retries"
    )
    if outcome.status == "succeeded":
        log.info(line)
    else:
        log.warning(f"{line}. {outcome.message}")


class _LoopThread:
    """Runs one coroutine in a new event loop on its own thread; can be cancelled from another thread.

    If the coroutine raises (or is cancelled), `on_crash` gets the exception on the loop's thread.
    """

    def __init__(self, main: Callable[[], Any], *, on_crash: Callable[[BaseException], None], name: str) -> None:
        self._main = main
        self._on_crash = on_crash
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        try:
            asyncio.run(self._async_run())
        except BaseException as exc:  # handed to the SDK thread, which re-raises it there
            self._on_crash(exc)
        finally:
            self._ready.set()

    async def _async_run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        await self._main()

    def cancel(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)

    def join(self) -> None:
        self._thread.join()
