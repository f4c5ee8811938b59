"""POST search endpoints with the paging values in the JSON body (a page number, an offset, a cursor at a body
path), and an API key in a query parameter that no URL the connector shows or saves ever holds."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.source import ApiKeyAuth, Column, Cursor, Incremental, JsonLink, Offset, PageNumber, TableSpec
from async_core.sync import SyncResult
from tests.devtools import pytest
from tests.integration.declared import FAST, declare
from tests.integration.servers import serve
from tests.sinks import RecordingSink

TICKETS = [{"id": n, "status": "open", "updated": f"2024-05-01T00:00:{n:02d}Z"} for n in range(1, 24)]
COLUMNS = (Column("id", "id", "INT"), Column("status", "status", "STRING"))
FILTER = {"filter": {"status": "open"}, "sort": [{"field": "id"}]}


def sync(url: str, sink: RecordingSink, state: Mapping[str, Any] | None = None, /, **configuration: str) -> SyncResult:
    return run_sync({"base_url": url, **FAST, **configuration}, state, sink=sink, log=StdLog())


def search_server(bodies: list[Any], answer: Any) -> Any:
    """A POST /search handler that records each JSON body and answers `answer(body)`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.method == "POST"
        assert request.content_type == "application/json"
        body = await request.json()
        bodies.append(body)
        return web.json_response(answer(body))

    return serve(handler)


def test_page_number_and_size_at_body_paths(monkeypatch: Any) -> None:
    """`page.number` and `page.size` are set in a copy of the declared body, as JSON numbers; the filter stays."""
    table = TableSpec(
        name="tickets",
        path="/search",
        columns=COLUMNS,
        records="results",
        body=FILTER,
        paginator=PageNumber(page_param="page.number", size_param="page.size", total_path="total", page_size=10),
    )
    name = declare(monkeypatch, table)
    bodies: list[Any] = []

    def answer(body: Any) -> Any:
        number, size = body["page"]["number"], body["page"]["size"]
        return {"results": TICKETS[(number - 1) * size : number * size], "total": len(TICKETS)}

    with search_server(bodies, answer) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, source=name)
    assert result.status == "succeeded", result.message
    assert sink.ids("tickets") == list(range(1, 24))
    assert seen.requests == ["/search"] * 3  # nothing in the query string
    assert sorted(json.dumps(b, sort_keys=True) for b in bodies) == sorted(
        json.dumps({**FILTER, "page": {"number": n, "size": 10}}, sort_keys=True) for n in (1, 2, 3)
    )


def test_offset_and_limit_in_the_body_with_the_cursor_bound(monkeypatch: Any) -> None:
    """An offset search, incremental: the lower bound goes to `filter.updated_after` in the body too."""
    table = TableSpec(
        name="tickets",
        path="/search",
        columns=COLUMNS,
        records="results",
        body=FILTER,
        paginator=Offset(offset_param="offset", limit_param="limit", total_path="total", page_size=10),
        cursor=Incremental(field="updated", param="filter.updated_after"),
    )
    name = declare(monkeypatch, table)
    bodies: list[Any] = []

    def answer(body: Any) -> Any:
        since = body["filter"].get("updated_after", "")
        rows = [t for t in TICKETS if t["updated"] > since]
        return {"results": rows[body["offset"] : body["offset"] + body["limit"]], "total": len(rows)}

    with search_server(bodies, answer) as (url, _):
        first = RecordingSink()
        assert sync(url, first, source=name).status == "succeeded"
        second = RecordingSink()
        result = sync(url, second, first.checkpoints()[-1], source=name)
    assert result.status == "succeeded", result.message
    assert first.ids("tickets") == list(range(1, 24))
    assert second.ids("tickets") == []
    assert bodies[-1] == {
        "filter": {"status": "open", "updated_after": "2024-05-01T00:00:23Z"},
        "sort": [{"field": "id"}],
        "offset": 0,
        "limit": 10,
    }


def test_a_cursor_from_the_body_goes_back_at_a_body_path(monkeypatch: Any) -> None:
    """`meta.next` goes into `paging.after`, the size into `paging.limit`; a null cursor ends the walk."""
    table = TableSpec(
        name="tickets",
        path="/search",
        columns=COLUMNS,
        records="results",
        body={"query": "status:open"},
        paginator=Cursor(cursor_path="meta.next", cursor_param="paging.after", size_param="paging.limit", page_size=10),
    )
    name = declare(monkeypatch, table)
    bodies: list[Any] = []

    def answer(body: Any) -> Any:
        start = int(body["paging"].get("after", "0"))
        rows = TICKETS[start : start + body["paging"]["limit"]]
        following = str(start + len(rows)) if start + len(rows) < len(TICKETS) else None
        return {"results": rows, "meta": {"next": following}}

    with search_server(bodies, answer) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, source=name)
    assert result.status == "succeeded", result.message
    assert sink.ids("tickets") == list(range(1, 24))
    assert bodies == [
        {"query": "status:open", "paging": {"limit": 10}},
        {"query": "status:open", "paging": {"after": "10", "limit": 10}},
        {"query": "status:open", "paging": {"after": "20", "limit": 10}},
    ]


def test_a_table_with_a_body_and_method_get_is_refused() -> None:
    """A body goes with POST: the declaration says so, naming the table."""
    with pytest.raises(ValueError, match="table 'tickets': a body goes with method POST"):
        TableSpec(name="tickets", path="/search", columns=COLUMNS, body=FILTER, method="GET")


KEY = "k3y-in-the-query-0123456789"


def test_an_api_key_in_the_query_never_shows_in_a_log_an_error_or_the_state(monkeypatch: Any, caplog: Any) -> None:
    """The server wants `?api_key=` and echoes it into its next links; a page fails once and another is lost:
    every request carries the key once, and no log line, sync_errors row or saved state holds it."""
    caplog.set_level(logging.DEBUG)
    table = TableSpec(
        name="tickets",
        path="/tickets",
        columns=COLUMNS,
        records="data",
        paginator=JsonLink(next_path="next", size_param="limit", page_size=5),
    )
    name = declare(monkeypatch, table, auth=ApiKeyAuth(key="api_key", param="api_key"))
    keys_seen: list[list[str]] = []
    failed: set[int] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        keys_seen.append(request.query.getall("api_key", []))
        if request.query.get("api_key") != KEY:
            return web.json_response({"error": "bad key"}, status=401)
        offset = int(request.query.get("offset", "0"))
        if offset == 5 and 5 not in failed:
            failed.add(5)
            return web.json_response({"error": "busy"}, status=503)
        if offset == 20:
            return web.json_response({"error": f"no such page {request.path_qs}"}, status=404)
        rows = TICKETS[offset : offset + 5]
        following = f"/tickets?offset={offset + 5}&limit=5&api_key={KEY}"  # the key echoed into the link
        return web.json_response({"data": rows, "next": following})

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, source=name, api_key=KEY)
    assert result.status == "partial"
    assert sink.ids("tickets") == list(range(1, 21))
    assert keys_seen == [[KEY]] * len(keys_seen)
    assert len(seen.requests) == 6  # pages at offsets 0, 5 (twice), 10, 15, 20
    shown = json.dumps([c[2] for c in sink.calls], default=str)
    shown += "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("async_core"))
    assert KEY not in shown
    assert "offset=20" in json.dumps(sink.checkpoints()[-1])  # the saved link is kept, without the key
