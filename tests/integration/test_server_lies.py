"""Regressions from the red team: servers whose pages, totals and values lie, and states they leave behind.

Each test serves the handler it needs on 127.0.0.1, declares the source a user would (`tests/integration/declared.py`),
and asserts what landed, what the state says and what the server saw. Every one failed before the fixes of core8's
"Fix what the red team found" (see the docstring of each for the scenario).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web

from async_core.source import Column, Cursor, Incremental, JsonServer, PageNumber, Parent, TableSpec
from tests.integration.declared import ID, declare, errors, statuses, sync
from tests.integration.servers import serve
from tests.sinks import RecordingSink
from tests.states import entry, open_pass

STAMPED = (ID, Column("ts", "ts", "UTC_DATETIME"))


def queries(requests: list[str]) -> list[str]:
    return [path.split("?", 1)[1] if "?" in path else "" for path in requests]


def numbered(count: int) -> list[dict[str, Any]]:
    return [{"id": i} for i in range(1, count + 1)]


def per_page(data: list[dict[str, Any]], *, default: int = 10, lag: dict[int, int] | None = None) -> Any:
    """`?page=N&per_page=M` over `{"data": [...], "total_pages": P}`; a page in `lag` answers that many rows less
    the first time it is asked for (a lagging replica: all of them for an empty page)."""
    asked: Counter[int] = Counter()

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query.get("page", 1)), int(request.query.get("per_page", default))
        asked[page] += 1
        rows = data[(page - 1) * size : page * size]
        if lag and page in lag and asked[page] == 1:
            rows = rows[: len(rows) - lag[page]]
        return web.json_response({"data": rows, "total_pages": -(-len(data) // size), "total": len(data)})

    return handler


# -- a count of pages is checked like a count of items


def test_an_empty_page_inside_total_pages_is_retried_and_every_row_lands(monkeypatch: Any) -> None:
    """total_pages 4 and page 3 answers [] once: page 3 is asked again and all 100 rows land."""
    pages = PageNumber(total_pages_path="total_pages")
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=pages))
    with serve(per_page(numbered(100), lag={3: 25})) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert sink.ids("t") == list(range(1, 101))
    assert result.status == "succeeded"
    assert Counter(queries(seen.requests)) == {
        "page=1&per_page=25": 1,
        "page=2&per_page=25": 1,
        "page=3&per_page=25": 2,
        "page=4&per_page=25": 1,
    }


def test_a_short_page_inside_total_pages_is_retried_and_every_row_lands(monkeypatch: Any) -> None:
    """total_pages 4 and page 2 answers 5 of its 25 rows once: page 2 is asked again and all 100 rows land."""
    pages = PageNumber(total_pages_path="total_pages")
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=pages))
    with serve(per_page(numbered(100), lag={2: 20})) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert sink.ids("t") == list(range(1, 101))
    assert result.status == "succeeded"
    assert Counter(queries(seen.requests))["page=2&per_page=25"] == 2


def test_an_empty_page_inside_total_pages_does_not_hide_behind_the_watermark(monkeypatch: Any) -> None:
    """Incremental on `ts`, page 3 of 4 empty once: the first sync lands all 100 rows and the watermark is the last
    row's (before the fix, rows 51..75 were skipped and the watermark moved past them for good)."""
    stamped = [{"id": i, "ts": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z"} for i in range(1, 101)]
    pages = PageNumber(total_pages_path="total_pages")
    cursor = Incremental(field="ts", param="since")
    table = TableSpec(name="t", path="/t", columns=STAMPED, records="data", paginator=pages, cursor=cursor)
    declare(monkeypatch, table)
    with serve(per_page(stamped, lag={3: 25})) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert sink.ids("t") == list(range(1, 101))
    assert result.status == "succeeded"
    assert entry(sink.checkpoints()[-1], "t")["watermark"] == "2024-01-01T00:01:40+00:00"


def test_a_capped_page_size_with_total_pages_lands_every_row(monkeypatch: Any) -> None:
    """Max 10 a page while page_size is 25, total_pages 10 counted at the server's size: all 100 rows land, as
    they did before the fix (now every page is "10 of the 25 records", retried and lost: 20 rows, partial)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), min(int(request.query["per_page"]), 10)
        return web.json_response({"data": numbered(100)[(page - 1) * size : page * size], "total_pages": 10})

    pages = PageNumber(total_pages_path="total_pages")
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=pages))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert sink.ids("t") == list(range(1, 101))
    assert result.status == "succeeded"


# -- page_size 0


def test_page_size_zero_pages_a_page_number_table_normally(monkeypatch: Any) -> None:
    """page_size "0" on a page_number table (server default 10 a page, total 250): pages of 100, all 250 rows, not
    the server's first 10 from one request without paging parameters."""
    pages = PageNumber(total_path="total")
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=pages))
    with serve(per_page(numbered(250))) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, page_size="0")
    assert sink.ids("t") == list(range(1, 251))
    assert result.status == "succeeded"
    assert sorted(queries(seen.requests)) == [f"page={n}&per_page=100" for n in (1, 2, 3)]


def test_page_size_zero_pages_a_cursor_table_normally(monkeypatch: Any) -> None:
    """page_size "0" on a cursor table with a size parameter (server default 10): the walk starts at limit=100 and
    follows the cursors to all 250 rows, not the server's first 10."""

    async def handler(request: web.Request) -> web.StreamResponse:
        start, limit = int(request.query.get("cursor", 0)), int(request.query.get("limit", 10))
        following = str(start + limit) if start + limit < 250 else None
        return web.json_response({"data": numbered(250)[start : start + limit], "next_cursor": following})

    declare(
        monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=Cursor(size_param="limit"))
    )
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, page_size="0")
    assert sink.ids("t") == list(range(1, 251))
    assert result.status == "succeeded"
    assert queries(seen.requests)[:2] == ["limit=100", "cursor=100&limit=100"]  # the page size goes with the cursor


def test_page_size_zero_still_fetches_a_json_server_collection_in_one_request(monkeypatch: Any) -> None:
    """page_size "0" on json_server keeps its documented meaning: one request without paging parameters."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(numbered(250))

    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), paginator=JsonServer()))
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, page_size="0")
    assert sink.ids("t") == list(range(1, 251))
    assert result.status == "succeeded"
    assert seen.requests == ["/t"]


# -- keys and cursor values read exactly


def test_a_primary_key_on_a_dotted_path_tells_pages_apart(monkeypatch: Any) -> None:
    """Primary key `id` read from `meta.id`, 4 full pages and no total: page 2 is not taken for a repeat of page 1
    (the no-progress check reads the key where the column does); all 100 rows, succeeded."""
    nested = [{"meta": {"id": i}} for i in range(1, 101)]

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), int(request.query["per_page"])
        return web.json_response({"data": nested[(page - 1) * size : page * size]})

    columns = (Column("id", "meta.id", "INT"),)
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=columns, records="data", paginator=PageNumber()))
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25")
    assert sink.ids("t") == list(range(1, 101))
    assert result.status == "succeeded"
    assert sink.rows("sync_errors") == []


def test_an_integer_cursor_stays_exact_beyond_the_precision_of_a_float(monkeypatch: Any) -> None:
    """since_id over ids 2**60 + k: the watermark is 2**60 + 200 exactly, and the next sync asks since_id with it
    and lands the new ids 201, 230, 250 (a float watermark rounded up to 2**60 + 256 and skipped them)."""
    base = 2**60
    ids = [base + k for k in (100, 150, 200)]

    async def handler(request: web.Request) -> web.StreamResponse:
        since = int(request.query.get("since_id", "0"))
        return web.json_response([{"id": i} for i in ids if i > since])

    cursor = Incremental(field="id", param="since_id", kind="number")
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(Column("id", "id", "LONG"),), cursor=cursor))
    with serve(handler) as (url, seen):
        first = RecordingSink()
        sync(url, first)
        state = first.checkpoints()[-1]
        ids.extend(base + k for k in (201, 230, 250))
        second = RecordingSink()
        result = sync(url, second, state)
    assert entry(state, "t")["watermark"] == base + 200
    assert seen.requests[-1] == f"/t?since_id={base + 200}"
    assert [i - base for i in second.ids("t")] == [201, 230, 250]
    assert result.status == "succeeded"


def test_a_composite_parent_key_does_not_collide_with_another(monkeypatch: Any) -> None:
    """Parents ("a|b", "c") and ("a", "b|c"): each gets its own child walk, and all 4 members land."""
    members = {("a|b", "c"): [{"id": 1}, {"id": 2}], ("a", "b|c"): [{"id": 3}, {"id": 4}]}

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/teams":
            return web.json_response([{"org": org, "team": team} for org, team in members])
        _, org, team, _ = request.path.split("/")
        return web.json_response(members[(org, team)])

    keys = (Column("org", "org", "STRING"), Column("team", "team", "STRING"))
    teams = TableSpec(name="teams", path="/teams", columns=keys, primary_key=("org", "team"))
    inherited = tuple(Column(c.name, c.source, c.type, from_parent=True) for c in keys)
    team_members = TableSpec(
        name="members",
        path="/{org}/{team}/members",
        columns=(*inherited, ID),
        primary_key=("org", "team", "id"),
        parent=Parent("teams"),
    )
    declare(monkeypatch, teams, team_members)
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sorted((row["org"], row["team"], row["id"]) for row in sink.rows("members")) == [
        ("a", "b|c", 3),
        ("a", "b|c", 4),
        ("a|b", "c", 1),
        ("a|b", "c", 2),
    ]
    assert result.status == "succeeded"


def test_a_cursor_value_far_in_the_future_does_not_move_the_watermark(monkeypatch: Any) -> None:
    """A row stamped 9999-12-31 is written, but the watermark stays at the latest plausible value, so the next sync
    still asks since 2024-01-01 and lands the row added after it."""
    data: list[dict[str, Any]] = [{"id": 1, "ts": "2024-01-01T00:00:00Z"}, {"id": 2, "ts": "9999-12-31T00:00:00Z"}]

    async def handler(request: web.Request) -> web.StreamResponse:
        since = request.query.get("since")
        return web.json_response([row for row in data if since is None or str(row["ts"]) >= since])

    declare(monkeypatch, TableSpec(name="t", path="/t", columns=STAMPED, cursor=Incremental(field="ts", param="since")))
    with serve(handler) as (url, seen):
        first = RecordingSink()
        sync(url, first)
        state = first.checkpoints()[-1]
        data.append({"id": 3, "ts": "2024-06-01T00:00:00Z"})
        second = RecordingSink()
        sync(url, second, state)
    assert first.ids("t") == [1, 2]
    assert entry(state, "t")["watermark"] == "2024-01-01T00:00:00+00:00"
    assert seen.requests[-1] == "/t?since=2024-01-01T00:00:00Z"
    assert second.ids("t") == [1, 2, 3]


# -- bounded work


def test_a_total_beyond_max_pages_per_table_stops_the_table_after_one_request(monkeypatch: Any) -> None:
    """A total of 25,000 rows at 25 a page (1,000 pages) with max_pages_per_table 10: NoProgress after the first
    request, instead of a task (and a request) for every announced page."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page = int(request.query["page"])
        return web.json_response({"data": numbered(50)[(page - 1) * 25 : page * 25], "total": 25_000})

    declare(
        monkeypatch,
        TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=PageNumber(total_path="total")),
    )
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25", max_pages_per_table="10", max_retries="0")
    assert len(seen.requests) == 1
    assert sink.ids("t") == list(range(1, 26))
    assert result.status == "partial"
    assert errors(sink) == [("t", 2, "NoProgress")]
    assert sink.rows("sync_errors")[0]["message"] == ("the total announces 1000 pages, more than max_pages_per_table")


def test_empty_pages_with_a_fresh_cursor_forever_stop_after_max_empty_pages(monkeypatch: Any) -> None:
    """Two rows, then empty pages each with a new cursor: the walk stops with NoProgress after 10 (MAX_EMPTY_PAGES)
    empty pages in a row, 11 requests, not at max_pages_per_table."""

    async def handler(request: web.Request) -> web.StreamResponse:
        position = int(request.query.get("cursor", 0))
        rows = numbered(2) if position == 0 else []
        return web.json_response({"data": rows, "next_cursor": str(position + 1)})

    declare(monkeypatch, TableSpec(name="t", path="/t", columns=(ID,), records="data", paginator=Cursor()))
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_pages_per_table="1000")
    assert len(seen.requests) == 11
    assert sink.ids("t") == [1, 2]
    assert result.status == "partial"
    assert statuses(result) == {"t": "stopped"}
    assert errors(sink) == [("t", 12, "NoProgress")]
    assert sink.rows("sync_errors")[0]["message"] == "pagination loop: page 12 follows 10 empty pages in a row"


# -- timestamps at the edge of the calendar


def edge_of_the_calendar(cursor: Incremental | None) -> list[TableSpec]:
    return [
        TableSpec(name="t", path="/t", columns=STAMPED, cursor=cursor),
        TableSpec(name="u", path="/u", columns=(ID,)),
    ]


async def one_bad_timestamp(request: web.Request) -> web.StreamResponse:
    """50 rows; row 8 is stamped 9999-12-31T23:59:59-01:00, which is past year 9999 in UTC."""
    data = [{"id": i, "ts": "2024-01-01T00:00:00Z"} for i in range(1, 51)]
    data[7]["ts"] = "9999-12-31T23:59:59-01:00"
    return web.json_response(data)


def test_a_timestamp_out_of_range_in_utc_is_one_rejected_record(monkeypatch: Any) -> None:
    """A column value past year 9999 once in UTC: that record is a MEDIUM RecordError, the other 49 land, and the
    other table too (it crashed the sync before)."""
    declare(monkeypatch, *edge_of_the_calendar(None))
    with serve(one_bad_timestamp) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("t") == [i for i in range(1, 51) if i != 8]
    assert sink.ids("u") == list(range(1, 51))
    assert result.status == "succeeded"
    [error] = sink.rows("sync_errors")
    assert (error["table_name"], error["error_type"], error["severity"]) == ("t", "RecordError", "MEDIUM")
    assert error["message"] == "field 'ts' is not an ISO 8601 timestamp in range: '9999-12-31T23:59:59-01:00'"


def test_a_cursor_value_out_of_range_in_utc_is_one_rejected_record(monkeypatch: Any) -> None:
    """The same value in the incremental cursor's field: one MEDIUM RecordError, 49 rows, succeeded."""
    declare(monkeypatch, *edge_of_the_calendar(Incremental(field="ts", param="since")))
    with serve(one_bad_timestamp) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("t") == [i for i in range(1, 51) if i != 8]
    assert result.status == "succeeded"
    assert [(row["table_name"], row["error_type"], row["severity"]) for row in sink.rows("sync_errors")] == [
        ("t", "RecordError", "MEDIUM")
    ]
    assert entry(sink.checkpoints()[-1], "t")["watermark"] == "2024-01-01T00:00:00+00:00"


def zero_time(monkeypatch: Any) -> Any:
    """A table with a 60 s lookback over rows stamped with Go's zero time (0001-01-01T00:00:00Z)."""
    cursor = Incremental(field="ts", param="since", lookback=60)
    declare(monkeypatch, TableSpec(name="t", path="/t", columns=STAMPED, cursor=cursor))

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response([{"id": i, "ts": "0001-01-01T00:00:00Z"} for i in range(1, 6)])

    return handler


def test_a_watermark_whose_lookback_reaches_before_year_one_starts_from_the_beginning(monkeypatch: Any) -> None:
    """Watermark 0001-01-01T00:00:00+00:00 less a 60 s lookback: the next sync asks since year 1 and succeeds (the
    lookback overflowed and killed every later sync before it started)."""
    with serve(zero_time(monkeypatch)) as (url, seen):
        first = RecordingSink()
        sync(url, first)
        state = first.checkpoints()[-1]
        second = RecordingSink()
        result = sync(url, second, state)
    assert entry(state, "t")["watermark"] == "0001-01-01T00:00:00+00:00"
    assert result.status == "succeeded"
    assert second.ids("t") == [1, 2, 3, 4, 5]
    assert len(seen.requests) == 2


def test_a_since_before_year_1000_is_sent_as_iso_8601(monkeypatch: Any) -> None:
    """The bound of a watermark in year 1 is sent as 0001-01-01T00:00:00Z, which an ISO 8601 parser reads (the
    default format's %Y writes "1-01-01T00:00:00Z", which it refuses)."""
    with serve(zero_time(monkeypatch)) as (url, seen):
        first = RecordingSink()
        sync(url, first)
        sync(url, RecordingSink(), first.checkpoints()[-1])
    assert seen.requests[-1] == "/t?since=0001-01-01T00:00:00Z"


def test_a_watermark_out_of_range_in_utc_starts_a_full_pass(monkeypatch: Any) -> None:
    """A state holding 0001-01-01T00:30:00+01:00 (before year 1 in UTC) is not resumed from: a full pass, no since."""
    state = {"version": 2, "tables": {"t": {"watermark": "0001-01-01T00:30:00+01:00", "pass": None}}}
    with serve(zero_time(monkeypatch)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, state)
    assert result.status == "succeeded"
    assert sink.ids("t") == [1, 2, 3, 4, 5]
    assert seen.requests == ["/t"]


# -- tables stand alone


def test_a_child_table_selected_without_its_parent_succeeds_alone(monkeypatch: Any) -> None:
    """tables = departments only: the parent's rows are listed to reach the children, but the sync ends succeeded
    and its summary holds departments alone (a phantom `companies` "running" made it partial)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response([{"cid": 1}, {"cid": 2}])
        company = int(request.path.split("/")[2])
        return web.json_response([{"id": 10 * company + k} for k in (1, 2)])

    companies = TableSpec(
        name="companies", path="/companies", columns=(Column("cid", "cid", "INT"),), primary_key=("cid",)
    )
    departments = TableSpec(
        name="departments",
        path="/companies/{cid}/departments",
        columns=(Column("cid", "cid", "INT", from_parent=True), ID),
        primary_key=("cid", "id"),
        parent=Parent("companies"),
    )
    declare(monkeypatch, companies, departments)
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, tables="departments")
    assert result.status == "succeeded"
    assert statuses(result) == {"departments": "complete"}
    assert sink.ids("departments") == [11, 12, 21, 22]
    assert sink.rows("companies") == []


def two_tables(monkeypatch: Any) -> None:
    pages = PageNumber(total_path="total")
    declare(
        monkeypatch,
        TableSpec(name="a", path="/a", columns=(ID,), records="data", paginator=pages),
        TableSpec(name="b", path="/b", columns=(ID,), records="data", paginator=pages),
    )


def test_a_table_stopped_by_no_progress_leaves_the_healthy_table_whole(monkeypatch: Any) -> None:
    """Table a ignores the paging parameters (the same 25 rows, total 1000) while b serves 2,000 rows: a stops with
    NoProgress, b lands every row, the sync is partial, not failed."""
    data = numbered(2000)

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.005)
        page, size = int(request.query["page"]), int(request.query["per_page"])
        if request.path == "/a":
            return web.json_response({"data": data[:25], "total": 1000})
        return web.json_response({"data": data[(page - 1) * size : page * size], "total": len(data)})

    two_tables(monkeypatch)
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="25", max_workers="4")
    assert sink.ids("b") == list(range(1, 2001))
    assert result.status == "partial"
    assert statuses(result) == {"a": "stopped", "b": "complete"}
    assert {(table, kind) for table, _, kind in errors(sink)} == {("a", "NoProgress")}
    assert open_pass(sink.checkpoints()[-1], "b") is None


def test_a_table_stopped_by_its_record_threshold_leaves_the_healthy_table_whole(monkeypatch: Any) -> None:
    """Every record of a's pages 2.. is rejected until error_threshold_per_thread (5) stops a; b lands its 2,000
    rows and the sync is partial, with no CRITICAL row."""
    data = numbered(2000)

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.005)
        page, size = int(request.query["page"]), int(request.query["per_page"])
        rows: list[dict[str, Any]] = data[(page - 1) * size : page * size]
        if request.path == "/a" and page > 1:
            rows = [{"id": f"x{row['id']}"} for row in rows]
        return web.json_response({"data": rows, "total": len(data)})

    two_tables(monkeypatch)
    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(
            url, sink, page_size="10", max_workers="4", error_threshold_per_thread="5", total_error_threshold="100000"
        )
    assert sink.ids("b") == list(range(1, 2001))
    assert result.status == "partial"
    assert statuses(result) == {"a": "stopped", "b": "complete"}
    assert {row["severity"] for row in sink.rows("sync_errors")} <= {"MEDIUM", "HIGH"}
    assert {table for table, _, _ in errors(sink)} == {"a"}
