"""Time-window incremental sync against a server that filters by [from, to): the requests it saw, the rows, the mark."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from async_core.source import Column, TableSpec, Windows
from tests.integration.declared import ID, declare, errors, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink

YEAR = 365 * 86400
EVENTS = [{"id": i, "at": f"{2024 + i // 4}-0{1 + i % 4 * 3}-15T00:00:00Z"} for i in range(12)]  # 2024..2026


def server(events: list[dict[str, Any]], *, cap: int | None = None, failing: set[str] | None = None) -> Any:
    """Events with `from` <= at < `to`, sorted, at most `cap`; a window whose `from` is in `failing` gets 500."""

    async def handler(request: web.Request) -> web.StreamResponse:
        start, end = request.query["from"], request.query["to"]
        if failing and start in failing:
            return web.json_response({"error": "down"}, status=500)
        inside = sorted((e for e in events if start <= e["at"] < end), key=lambda e: e["at"])
        return web.json_response(inside[:cap] if cap else inside)

    return handler


def table(**options: Any) -> TableSpec:
    windows = Windows(start_param="from", end_param="to", initial_value="2024-01-01T00:00:00Z", step=YEAR, **options)
    return TableSpec(name="events", path="/events", columns=(ID, Column("at", "at", "STRING")), windows=windows)


def windows_seen(requests: list[str]) -> list[tuple[str, str]]:
    seen = []
    for request in requests:
        query = parse_qs(urlsplit(request).query)
        seen.append((query["from"][0], query["to"][0]))
    return seen


def test_windows_fan_out_from_the_initial_value_to_now_and_the_mark_moves(monkeypatch: Any) -> None:
    """Three yearly windows (the last ends at now): each asked once with its bounds; every event lands; the state's
    mark is the end of the last window; the next sync asks only from there (a window of a second, or none)."""
    declare(monkeypatch, table())
    with serve(server(EVENTS)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, tables="events")
        first = sorted(windows_seen(seen.requests))
        state = sink.checkpoints()[-1]
        seen.requests.clear()
        sync(url, sink, state, tables="events")
    assert result.status == "succeeded"
    assert first[:2] == [
        ("2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z"),
        ("2024-12-31T00:00:00Z", "2025-12-31T00:00:00Z"),
    ]
    assert first[2][0] == "2025-12-31T00:00:00Z"
    assert len(first) == 3
    assert sink.ids("events") == list(range(12))
    mark = dt.datetime.fromisoformat(state["tables"]["events"]["window_mark"])
    assert dt.timedelta(0) <= dt.datetime.now(dt.UTC) - mark < dt.timedelta(minutes=5)
    assert {start for start, _ in windows_seen(seen.requests)} <= {mark.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_a_window_at_the_apis_maximum_is_split_until_none_is(monkeypatch: Any) -> None:
    """The server returns at most 2 events a request: a capped window is split in halves until each holds fewer
    than 2, and every event lands exactly as the server holds it."""
    declare(monkeypatch, table(max_rows=2, min_step=3600))
    with serve(server(EVENTS, cap=2)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, tables="events")
    assert result.status == "succeeded"
    assert sorted(set(sink.ids("events"))) == list(range(12))  # a capped window's rows come again in its halves
    assert len(seen.requests) > 3
    final = sink.checkpoints()[-1]["tables"]["events"]
    assert final["pass"] is None  # the pass completed: the capped windows were replaced by their halves


def test_a_lost_window_holds_the_mark_and_only_it_is_fetched_again(monkeypatch: Any) -> None:
    """The 2025 window fails: the mark stays at its start, the 2026 window is done; the next sync asks for the
    2025 window, and the last window again only if its end (now, to the second) moved."""
    declare(monkeypatch, table())
    failing = {"2024-12-31T00:00:00Z"}
    with serve(server(EVENTS, failing=failing)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, tables="events", max_retries="0")
        state = sink.checkpoints()[-1]
        assert result.status == "partial"
        assert state["tables"]["events"]["window_mark"] == "2024-12-31T00:00:00+00:00"
        assert sorted(sink.ids("events")) == [0, 1, 2, 3, 8, 9, 10, 11]
        assert [e[0] for e in errors(sink)] == ["events"]
        failing.clear()
        seen.requests.clear()
        sync(url, sink, state, tables="events")
    again = sorted(windows_seen(seen.requests))
    assert again[0] == ("2024-12-31T00:00:00Z", "2025-12-31T00:00:00Z")
    assert {start for start, _ in again[1:]} <= {"2025-12-31T00:00:00Z"}  # the last window again, if now moved
    assert sorted(set(sink.ids("events"))) == list(range(12))
    assert sink.checkpoints()[-1]["tables"]["events"]["pass"] is None
