"""Reliability of issue 20's windows and deletes: a lost window across syncs, a delete during a pass, and a sync
killed (SIGKILL) in the middle of a reconciled pass, each read back as the destination holds it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp import web

from async_core.source import Column, PageNumber, Reconcile, TableSpec, Windows
from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project, run_debug, started_debug, state_of, wait_for
from tests.integration.declared import ID, declare, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink
from tests.states import all_complete

pytestmark = pytest.mark.reliability

DAY = 86400


def test_a_window_lost_in_two_syncs_holds_the_mark_until_it_is_read(monkeypatch: Any) -> None:
    """30-day windows from 2024, an event in each of the first ten; the third window answers 503 for two syncs: the
    mark stays at its start both times, the later windows are not fetched again, and the third sync reads the lost
    window and lands every event the server holds."""
    first = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    starts = [first + dt.timedelta(days=30 * n) for n in range(10)]
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    events: list[dict[str, Any]] = [
        {"id": n, "at": (start + dt.timedelta(hours=12)).strftime(stamp)} for n, start in enumerate(starts)
    ]
    down = {starts[2].strftime(stamp)}

    async def handler(request: web.Request) -> web.StreamResponse:
        start, end = request.query["from"], request.query["to"]
        if start in down:
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response([e for e in events if start <= e["at"] < end])

    windows = Windows(start_param="from", end_param="to", initial_value="2024-01-01T00:00:00Z", step=30 * DAY)
    columns = (ID, Column("at", "at", "STRING"))
    declare(monkeypatch, TableSpec(name="events", path="/events", columns=columns, windows=windows))
    sink = RecordingSink()
    state: dict[str, Any] | None = None
    with serve(handler) as (url, seen):
        for _ in range(2):
            sync(url, sink, state, tables="events", max_retries="1")
            state = sink.checkpoints()[-1]
            assert state["tables"]["events"]["window_mark"] == starts[2].isoformat()
        fifth = f"from={starts[4].strftime(stamp)}"
        assert sum(fifth in request for request in seen.requests) == 1  # a done window is not read again
        down.clear()
        result = sync(url, sink, state, tables="events")
    assert result.status == "succeeded"
    assert sorted(set(sink.ids("events"))) == list(range(10))
    assert sink.checkpoints()[-1]["tables"]["events"]["window_mark"] > "2026"


def test_a_delete_during_a_reconciled_pass_never_leaves_a_held_row_deleted(monkeypatch: Any) -> None:
    """Row 2 is deleted on the server after page 1 of the second pass is served (row 3 shifts onto page 1): every
    pass that completes leaves every row the server holds live (row 3 included); row 2, read before it was deleted,
    is deleted by the next full pass, which does not see it."""
    data = [{"id": i} for i in range(1, 7)]
    served_page_one = asyncio.Event()
    delete_after_page_one = [False]

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), int(request.query["per_page"])
        body = {"data": data[(page - 1) * size : page * size], "total": len(data)}
        if page == 1 and delete_after_page_one[0]:
            delete_after_page_one[0] = False
            data.pop(1)  # row 2, between the pages of this pass
            served_page_one.set()
        return web.json_response(body)

    paginator = PageNumber(page_param="page", size_param="per_page", total_path="total", page_size=2)
    declare(
        monkeypatch,
        TableSpec(name="t", path="/t", records="data", columns=(ID,), paginator=paginator, deletes=Reconcile()),
    )
    sink = RecordingSink()
    with serve(handler) as (url, _):
        sync(url, sink, tables="t", max_workers="1")
        state = sink.checkpoints()[-1]
        delete_after_page_one[0] = True
        for _ in range(3):  # the pass that saw the delete happen (torn, or complete), and what follows it
            sync(url, sink, state, tables="t", max_workers="1")
            state = sink.checkpoints()[-1]
            if all_complete(state):  # a completed pass: every row the server holds is live
                assert {row["id"] for row in data} <= set(sink.live("t"))
        assert all_complete(state)
        assert served_page_one.is_set()
        sync(url, sink, state, tables="t", max_workers="1")  # the next full pass does not see row 2: deleted
    assert sorted(sink.live("t")) == [1, 3, 4, 5, 6]


RECONCILED_SOURCE = """
from async_core.source import Column, PageNumber, Reconcile, Source, TableSpec

SOURCE = Source(
    name="crm",
    tables=(
        TableSpec(
            name="contacts",
            path="/contacts",
            records="data",
            columns=(Column("id", "id", "INT"),),
            paginator=PageNumber(page_param="page", size_param="per_page", total_path="total", page_size=50),
            deletes=Reconcile(),
        ),
    ),
)
"""


def test_a_sync_killed_in_a_reconciled_pass_shows_unreached_rows_deleted_then_every_held_row(tmp_path: Path) -> None:
    """2,000 contacts, slow pages; the second sync (which truncates) is SIGKILLed after a checkpoint of its open pass:
    the warehouse then shows the rows not reached yet as deleted; the third sync resumes the pass (no second
    truncate) and every contact the server holds is live, the one it dropped deleted."""
    contacts = [{"id": i} for i in range(1, 2001)]

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), int(request.query["per_page"])
        await asyncio.sleep(0.05 if slow[0] else 0)
        return web.json_response({"data": contacts[(page - 1) * size : page * size], "total": len(contacts)})

    slow = [False]
    with serve(handler) as (url, _):
        project = make_project(
            tmp_path / "project",
            {
                "source": "crm",
                "base_url": url,
                "tables": "contacts",
                "max_workers": "2",
                "checkpoint_every_rows": "100",
            },
        )
        (project / "sources" / "crm.py").write_text(RECONCILED_SOURCE, encoding="utf-8")
        assert run_debug(project).returncode == 0
        first = state_of(project)
        contacts.pop(0)  # contact 1 is gone from the server
        slow[0] = True
        with started_debug(project) as process:
            assert wait_for(
                lambda: (
                    (state_of(project) or first) != first
                    and (state_of(project) or {}).get("tables", {}).get("contacts", {}).get("pass")
                ),
                timeout=60,
            )
            process.kill()
        warehouse = Warehouse(project)
        live = warehouse.query("select count(*) from tester.contacts where not _fivetran_deleted")[0][0]
        assert 0 < live < 1999  # the pass had reached some rows; the others show deleted meanwhile
        slow[0] = False
        assert run_debug(project).returncode == 0
    rows = Warehouse(project).query("select id, _fivetran_deleted from tester.contacts order by id")
    assert rows == [(1, True)] + [(i, False) for i in range(2, 2001)]
