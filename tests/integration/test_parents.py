"""A child table under many parents, over real loopback HTTP: the work grows linearly with the parents.

Counted, not timed: the event loop callbacks the connector's loop thread runs (task steps, wake-ups), at N and 2N
parents. When a freed slot wakes every waiting parent walk, that count grows as N², and the ratio nears 4.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.settings import parse_settings
from async_core.source import Column, Parent, Source, TableSpec
from async_core.sync import SyncResult
from tests.integration.servers import serve
from tests.sinks import RecordingSink

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}
COMPANIES = TableSpec(name="companies", path="/companies", records="data", columns=(Column("id", "id", "STRING"),))
DEPARTMENTS = TableSpec(
    name="departments",
    path="/companies/{company_id}/departments",
    records="data",
    columns=(Column("company_id", "id", "STRING", from_parent=True), Column("department_id", "id", "STRING")),
    primary_key=("company_id", "department_id"),
    parent=Parent("companies"),
)
SOURCE = Source(name="org_api", tables=(COMPANIES, DEPARTMENTS))


def org_api(parents: int) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response({"data": [{"id": f"c{n}"} for n in range(parents)]})
        company = request.path.split("/")[2]
        return web.json_response({"data": [{"id": f"{company}-d1"}]})

    return handler


def sync(url: str, sink: RecordingSink, **overrides: str) -> SyncResult:
    configuration = {"base_url": url, "page_size": "25", **FAST, **overrides}
    settings, _ = parse_settings(configuration)
    settings = dataclasses.replace(settings, source=SOURCE.name, catalogue=SOURCE, tables=("departments",))
    return run_sync(configuration, None, sink=sink, log=StdLog(), settings=settings)


@contextmanager
def counting_loop_callbacks() -> Iterator[Counter[str]]:
    """Counts the callbacks run by the connector's loop thread (named sync-…), and the most tasks alive on it."""
    counts: Counter[str] = Counter()
    original = asyncio.events.Handle._run

    def run(handle: asyncio.events.Handle) -> None:
        if threading.current_thread().name.startswith("sync-"):
            counts["callbacks"] += 1
            if counts["callbacks"] % 64 == 0:
                counts["tasks"] = max(counts["tasks"], len(asyncio.all_tasks()))
        original(handle)

    asyncio.events.Handle._run = run  # type: ignore[method-assign,assignment]
    try:
        yield counts
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]


def measure(parents: int) -> Counter[str]:
    with serve(org_api(parents)) as (url, _), counting_loop_callbacks() as counts:
        sink = RecordingSink()
        result = sync(url, sink, max_workers="4")
    assert result.status == "succeeded"
    assert len(sink.rows("departments")) == parents
    return counts


def test_the_loop_work_grows_linearly_with_the_parents() -> None:
    """300 then 600 parents, one child row each, 4 workers: twice the parents cost at most 2.5 times the loop
    callbacks, and the parent walks alive at once stay bounded (not one task per parent)."""
    small, large = measure(300), measure(600)
    assert large["callbacks"] / small["callbacks"] < 2.5, (small, large)
    assert large["tasks"] < 100, large
