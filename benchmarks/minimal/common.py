"""What the three minimal engines share: the plan of a sync, the rows, and the one thread that calls the sink.

A minimal engine does only what every engine must: GET page 1 of each table, read `X-Total-Count`, GET every
other page with at most `max_workers` requests in flight, map each record to the table's columns (no type check:
no validation), add `processed_at`, and hand the page to the calling thread, which upserts its rows and
checkpoints every `checkpoint_every_rows` rows. No retry, no breaker, no gate, no limiter, no ledger, no
watermark, no dead letters: the first error ends the sync.

The rows are exactly the connector's (same columns, same `processed_at`), so that under the SDK every engine
makes the runner write the same warehouse: a ratio to `bare` then measures the engine, not the schema.

The hand-off is the same for all three (a `queue.SimpleQueue`, one `put` per page, from whichever thread fetched
it), so that within the httpx pair only the concurrency model of the fetching differs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import queue
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from async_core.run.bridge import Sink
from async_core.settings import Settings, parse_settings
from async_core.source.spec import TableSpec
from async_core.sync import SyncResult

HEADERS = {"Accept": "application/json", "User-Agent": "fivetran-asyncio-connector/1.0"}


@dataclasses.dataclass(frozen=True)
class Done:
    """The fetch side finished (every page was put before this)."""


@dataclasses.dataclass(frozen=True)
class Failed:
    """The fetch side failed: the writer raises `error` on the calling thread."""

    error: BaseException


Item = tuple[str, list[dict[str, Any]]] | Done | Failed


def settings_of(configuration: Mapping[str, object]) -> Settings:
    settings, _unknown = parse_settings(configuration)
    if settings.uses_playground:
        raise ValueError("a minimal engine needs base_url to be the URL of a running API")
    if settings.page_size == 0:
        raise ValueError("a minimal engine fans out pages: page_size must be at least 1")
    return settings


def page_url(settings: Settings, path: str, page: int) -> str:
    return f"{settings.base_url}{path}?_page={page}&_limit={settings.page_size}"


def last_page(settings: Settings, headers: Mapping[str, str]) -> int:
    """The number of the last page, from `X-Total-Count` (a minimal engine needs it: it does not walk)."""
    total = headers.get("X-Total-Count") or headers.get("x-total-count")
    if total is None or not total.isdigit():
        raise RuntimeError("a minimal engine needs X-Total-Count")
    return max(1, math.ceil(int(total) / settings.page_size))


def rows_of(spec: TableSpec, records: list[Any], parent: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The connector's rows for `records`, without validating anything."""
    processed_at = dt.datetime.now(dt.UTC)
    pairs = [(column.name, column.source) for column in spec.columns if not column.from_parent]
    rows = []
    for record in records:
        row = {name: record.get(source) for name, source in pairs}
        if parent:
            row.update(parent)
        row["processed_at"] = processed_at
        rows.append(row)
    return rows


def records_of(spec: TableSpec, records: list[Any], parent: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """What a user writes: the API's records as they come (a child's with its parent's key added), for a
    primary-key-only schema (`user_schema`): the SDK infers the columns."""
    if parent:
        return [{**parent, **record} for record in records]
    return records


def user_schema(tables: list[TableSpec]) -> list[dict[str, Any]]:
    """The schema a user declares: each table and its primary key, nothing else."""
    return [{"table": spec.name, "primary_key": list(spec.primary_key)} for spec in tables]


Rows = Callable[[TableSpec, list[Any], Mapping[str, Any] | None], list[dict[str, Any]]]


class Writer:
    """The calling thread's side: takes pages off the queue and makes every sink call."""

    def __init__(self, sink: Sink, *, checkpoint_every_rows: int, rows_of: Rows = rows_of) -> None:
        self.rows_of = rows_of  # how the fetch side makes a page's rows (the connector's, or the records as-is)
        self.queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._sink = sink
        self._every = checkpoint_every_rows
        self.rows: Counter[str] = Counter()
        self.checkpoints = 0

    def consume(self) -> None:
        """Until `Done` (returns) or `Failed` (raises). Checkpoints after the last page, as the connector does."""
        since = 0
        upsert = self._sink.upsert
        while True:
            item = self.queue.get()
            if isinstance(item, Done):
                break
            if isinstance(item, Failed):
                self._checkpoint()
                raise item.error
            table, rows = item
            for row in rows:
                upsert(table, row)
            self.rows[table] += len(rows)
            since += len(rows)
            if since >= self._every:
                since = 0
                self._checkpoint()
        self._checkpoint()

    def _checkpoint(self) -> None:
        self._sink.checkpoint({"minimal": dict(self.rows)})
        self.checkpoints += 1


def run_minimal(
    name: str,
    configuration: Mapping[str, object],
    *,
    sink: Sink,
    fetch_side: Callable[[Settings, Writer, Callable[[], None]], Callable[[], None]],
    rows: Rows = rows_of,
) -> SyncResult:
    """Starts `fetch_side(settings, writer, count_request)` (which returns a `join`), consumes on this thread.

    `count_request` is called once per HTTP request, from any thread (an `int +=` under the GIL would race across
    threads, so the count is a list append: atomic)."""
    settings = settings_of(configuration)
    writer = Writer(sink, checkpoint_every_rows=settings.checkpoint_every_rows, rows_of=rows)
    requests: list[None] = []
    started = time.monotonic()
    join = fetch_side(settings, writer, lambda: requests.append(None))
    try:
        writer.consume()
    finally:
        join()
    elapsed = time.monotonic() - started
    total = sum(writer.rows.values())
    summary = {
        "engine": name,
        "processing_summary": {
            "total_records_processed": total,
            "total_errors": 0,
            "total_retries": 0,
            "worker_count": settings.max_workers,
            "duration_seconds": round(elapsed, 3),
        },
        "resilience": {"requests": len(requests), "retries": 0},
    }
    return SyncResult(
        sync_id=f"{name}-{int(started)}",
        status="succeeded",
        message=None,
        summary=summary,
        checkpoints=writer.checkpoints,
    )


def tables_of(settings: Settings) -> list[TableSpec]:
    return [settings.catalogue.table(name) for name in settings.tables]
