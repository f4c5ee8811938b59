"""The memory budget over real loopback HTTP: with big pages and a slow SDK, fetching waits for the budget (not
only for slots), and a single response larger than the whole budget is refused with a line naming it."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.http.limit import LimitMode
from async_core.settings import parse_settings
from async_core.sync import SyncResult
from tests.integration.servers import serve
from tests.sinks import RecordingSink

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}
ROWS_PER_PAGE = 10
PAGES = 24
FILLER = "x" * 110_000  # each row about 110 KB: a page is about 1.1 MB decoded (more than 1 MiB)


def big_pages() -> tuple[Any, dict[str, int]]:
    """json-server over PAGES pages of about 1.1 MB; counts the pages asked for."""
    asked = {"pages": 0}
    lock = threading.Lock()

    async def handler(request: web.Request) -> web.StreamResponse:
        page, limit = int(request.query["_page"]), int(request.query["_limit"])
        with lock:
            asked["pages"] += 1
        first = (page - 1) * limit + 1
        rows = [{"id": n, "userId": 1, "title": FILLER, "body": ""} for n in range(first, first + limit)]
        headers = {"X-Total-Count": str(PAGES * ROWS_PER_PAGE)}
        return web.Response(text=json.dumps(rows), content_type="application/json", headers=headers)

    return handler, asked


class AheadSink(RecordingSink):
    """A slow SDK (30 ms a page) that notes, at each page, how many pages the server was asked for beyond the ones
    written so far: what the connector holds in memory (in flight, queued, or held until a checkpoint)."""

    def __init__(self, asked: dict[str, int]) -> None:
        super().__init__()
        self._asked = asked
        self.ahead = 0

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        if table == "posts" and data["id"] % ROWS_PER_PAGE == 1:
            written = data["id"] // ROWS_PER_PAGE
            self.ahead = max(self.ahead, self._asked["pages"] - written)
            time.sleep(0.03)
        super().upsert(table, data)


def sync(url: str, sink: RecordingSink, budget_mb: float) -> SyncResult:
    configuration = {"base_url": url, "tables": "posts", "page_size": str(ROWS_PER_PAGE), "max_workers": "16", **FAST}
    settings, _ = parse_settings(configuration)
    settings = dataclasses.replace(settings, memory_budget_mb=budget_mb, concurrency=LimitMode.FIXED)
    return run_sync(configuration, None, sink=sink, log=StdLog(), settings=settings)


def run(budget_mb: float) -> AheadSink:
    handler, asked = big_pages()
    with serve(handler) as (url, _):
        sink = AheadSink(asked)
        result = sync(url, sink, budget_mb)
    assert result.status == "succeeded"
    assert sink.ids("posts") == list(range(1, PAGES * ROWS_PER_PAGE + 1))
    return sink


def test_with_big_pages_fetching_waits_for_the_memory_budget() -> None:
    """Pages of 1.1 MB, 16 workers (40 slots): with a budget of 4 MB the server is never asked for more than a few
    pages beyond those written; with 1 GB it runs far ahead (the slots alone bound it). Every row lands either way,
    and the rows held take a checkpoint at half the budget (about every second page)."""
    bounded, unbounded = run(4), run(1024)
    assert bounded.ahead <= 6, bounded.ahead
    assert unbounded.ahead >= 10, unbounded.ahead
    assert len(bounded.checkpoints()) >= PAGES // 3


def test_a_response_larger_than_the_budget_is_refused_naming_it() -> None:
    """A budget of 1 MB and pages of 1.1 MB: each page is refused while it is read, and its
    sync_errors row names the memory budget (not max_response_mb, which is larger)."""
    handler, _ = big_pages()
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, 1)
    assert result.status != "succeeded"
    messages = {row["message"] for row in sink.rows("sync_errors")}
    assert any("response larger than the memory budget (memory_budget_mb, 1 MB)" in m for m in messages), messages
