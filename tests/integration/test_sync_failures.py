"""How a sync ends when something goes wrong outside a page: the same clean way as a CRITICAL error."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from async_core import StateError, StdLog, run_sync
from async_core.run.walk import Walk
from tests.devtools import pytest
from tests.integration.servers import paged, rows, serve
from tests.sinks import RecordingSink


def test_a_bug_outside_the_page_fetch_fails_the_sync_with_a_traceback_row(monkeypatch: Any) -> None:
    """An exception raised by the walk itself: sync_runs says failed, sync_errors keeps the traceback, the message
    is one line naming the error, and a checkpoint is written (what was handed over stays handed over)."""

    async def broken(self: Walk, group: Any) -> None:
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(Walk, "run", broken)
    with serve(paged(rows("posts", 30))) as (url, _seen):
        sink = RecordingSink()
        result = run_sync({"base_url": url, "tables": "posts"}, None, sink=sink, log=StdLog())
    assert result.status == "failed"
    assert result.message == "unexpected error: ZeroDivisionError: injected"
    [run] = sink.rows("sync_runs")
    assert run["status"] == "failed"
    [error] = sink.rows("sync_errors")
    assert (error["severity"], error["error_type"]) == ("CRITICAL", "ZeroDivisionError")
    assert "Traceback" in error["message"]
    assert sink.checkpoints()


def test_a_state_of_an_unknown_version_is_refused_before_anything_is_sent() -> None:
    """version 99: a StateError naming the version; the server sees no request and nothing is written."""
    with serve(paged(rows("posts", 30))) as (url, seen):
        sink = RecordingSink()
        with pytest.raises(StateError, match="version 99"):
            run_sync({"base_url": url, "tables": "posts"}, {"version": 99, "tables": {}}, sink=sink, log=StdLog())
    assert seen.requests == []
    assert sink.calls == []


def test_every_table_answering_404_fails_the_sync_in_one_line() -> None:
    """A wrong base_url: every first request is a 404, nothing lands, and the sync fails (not partial)."""

    async def not_found(request: web.Request) -> web.Response:
        return web.json_response({"error": "no such path"}, status=404)

    with serve(not_found) as (url, _seen):
        sink = RecordingSink()
        result = run_sync({"base_url": url, "tables": "posts,users"}, None, sink=sink, log=StdLog())
    assert result.status == "failed"
    assert result.message is not None
    assert result.message.startswith("nothing could be fetched: every table's first request failed (")
    assert "HTTP 404" in result.message
    assert [run["status"] for run in sink.rows("sync_runs")] == ["failed"]
