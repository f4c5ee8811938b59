"""Pagination that never lies, over real loopback HTTP: servers that cap, lag, loop, lie about totals or fail.

Each test serves the handler it needs on 127.0.0.1 and asserts what landed, what the state says and what the
server saw. Sources other than jsonplaceholder are declared here, as a user would, and handed to `run_sync`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.settings import parse_settings
from async_core.source import Column, Cursor, Incremental, JsonLink, Offset, PageNumber, Parent, Source, TableSpec
from async_core.sync import SyncResult
from tests.integration.servers import paged, rows, serve
from tests.sinks import RecordingSink
from tests.states import all_complete, entry, next_page, open_pass

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}


def sync(
    url: str,
    sink: RecordingSink,
    state: dict[str, Any] | None = None,
    *,
    source: Source | None = None,
    **overrides: str,
) -> SyncResult:
    """One sync of `posts` (or of `source`'s tables) against `url`, with instant retries."""
    configuration = {"base_url": url, "tables": "posts", "page_size": "25", **FAST, **overrides}
    if source is None:
        return run_sync(configuration, state, sink=sink, log=StdLog())
    del configuration["tables"]
    settings, _ = parse_settings(configuration)
    settings = dataclasses.replace(settings, source=source.name, catalogue=source, tables=source.table_names)
    return run_sync(configuration, state, sink=sink, log=StdLog(), settings=settings)


def capped(data: list[dict[str, Any]], *, cap: int, total: bool) -> Any:
    """json-server that serves at most `cap` rows a page whatever `_limit` asks, numbering pages at its size."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["_page"]), min(int(request.query["_limit"]), cap)
        headers = {"X-Total-Count": str(len(data))} if total else {}
        return web.json_response(data[(page - 1) * size : page * size], headers=headers)

    return handler


def pages_asked(requests: list[str]) -> list[str]:
    return [path.split("?", 1)[1] for path in requests]


# -- a capped page size


def test_a_capped_page_size_with_a_total_lands_every_row() -> None:
    """Max 10 a page while page_size is 25, X-Total-Count 95: the walk goes on at 10, ten requests, all 95 rows."""
    with serve(capped(rows("posts", 95), cap=10, total=True)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == list(range(1, 96))
    assert result.status == "succeeded"
    assert sorted(pages_asked(seen.requests)) == sorted(
        ["_page=1&_limit=25"] + [f"_page={n}&_limit=10" for n in range(2, 11)]
    )
    assert all_complete(sink.checkpoints()[-1])


def test_a_capped_page_size_without_a_total_lands_every_row() -> None:
    """Max 10 a page, no total: the short first page is probed at the server's size; all 95 rows, succeeded."""
    with serve(capped(rows("posts", 95), cap=10, total=False)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == list(range(1, 96))
    assert result.status == "succeeded"
    assert pages_asked(seen.requests) == ["_page=1&_limit=25"] + [f"_page={n}&_limit=10" for n in range(2, 11)]
    assert all_complete(sink.checkpoints()[-1])


def test_a_short_first_page_without_a_total_is_probed_at_its_size_before_it_is_believed() -> None:
    """7 rows, no total, no links: page 1 (7 of 25) may be a capped size, so page 2 is asked at 7 rows and,
    empty, once more; three requests, the 7 rows, complete."""
    with serve(paged(rows("posts", 7), total=False, links=False)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == list(range(1, 8))
    assert result.status == "succeeded"
    assert pages_asked(seen.requests) == ["_page=1&_limit=25", "_page=2&_limit=7", "_page=2&_limit=7"]
    assert all_complete(sink.checkpoints()[-1])


def offset_server(data: list[dict[str, Any]], *, cap: int) -> Any:
    """`?offset=K&limit=M` over an envelope, at most `cap` rows, no total."""

    async def handler(request: web.Request) -> web.StreamResponse:
        offset, limit = int(request.query["offset"]), min(int(request.query["limit"]), cap)
        return web.json_response({"data": data[offset : offset + limit]})

    return handler


ITEM_COLUMNS = (Column("id", "id", "INT"), Column("name", "name", "STRING"))


def items_source(paginator: Any, *, path: str = "/items", cursor: Incremental | None = None) -> Source:
    columns = ITEM_COLUMNS + ((Column("updated_at", "updatedAt", "UTC_DATETIME"),) if cursor else ())
    table = TableSpec(name="items", path=path, records="data", columns=columns, paginator=paginator, cursor=cursor)
    return Source(name="test_api", tables=(table,))


def items(count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"n{i}", "updatedAt": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
        for i in range(1, count + 1)
    ]


def test_a_capped_offset_walk_without_a_total_loses_no_row() -> None:
    """offset/limit, max 10 a page, no total, page_size 25: offsets 0, 10, 20... so that rows 11..25 are not
    skipped; all 53 rows land."""
    with serve(offset_server(items(53), cap=10)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, source=items_source(Offset()))
    assert sink.ids("items") == list(range(1, 54))
    assert result.status == "succeeded"
    assert pages_asked(seen.requests) == ["offset=0&limit=25"] + [f"offset={k}&limit=10" for k in range(10, 60, 10)]


# -- empty and short pages inside a total


def test_one_empty_page_inside_the_total_is_retried_and_every_row_lands() -> None:
    """Page 3 of 4 answers [] once (a lagging replica) with X-Total-Count 100: retried, all 100 rows land."""
    served = paged(rows("posts", 100))
    lagged: Counter[str] = Counter()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("_page") == "3" and not lagged["3"]:
            lagged["3"] += 1
            return web.json_response([], headers={"X-Total-Count": "100"})
        return await served(request)

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == list(range(1, 101))
    assert result.status == "succeeded"
    assert Counter(pages_asked(seen.requests))["_page=3&_limit=25"] == 2
    assert all_complete(sink.checkpoints()[-1])


def test_a_total_that_overstates_the_collection_leaves_the_table_incomplete() -> None:
    """X-Total-Count 120 over 100 rows: page 5 stays empty after its retries; the 100 rows land, the sync is
    partial and the pass stays open at page 5 (it was "the end" before pagination stopped believing it)."""
    served = paged(rows("posts", 100))

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await served(request)
        response.headers["X-Total-Count"] = "120"
        return response

    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, max_retries="1")
    assert sink.ids("posts") == list(range(1, 101))
    assert result.status == "partial"
    assert [(row["page"], row["error_type"]) for row in sink.rows("sync_errors")] == [(5, "RetryableError")]
    assert next_page(sink.checkpoints()[-1], "posts") == 5


# -- servers that do not move forward


def test_a_server_that_ignores_the_paging_parameters_is_stopped_after_two_requests() -> None:
    """The same 25 rows for every page, no total: page 2 repeats page 1, the table stops with NoProgress after 2
    requests, and the sync does not call itself succeeded."""
    data = rows("posts", 25)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(data)

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert len(seen.requests) == 2
    assert result.status == "partial"
    [error] = sink.rows("sync_errors")
    assert (error["table_name"], error["page"], error["error_type"]) == ("posts", 2, "NoProgress")
    assert error["message"] == "page 2 holds the same rows as page 1: the server ignores the paging parameters"
    assert result.summary["processing_summary"]["table_summaries"]["posts"]["status"] == "stopped"
    assert open_pass(sink.checkpoints()[-1], "posts") is not None


def test_a_server_that_ignores_the_paging_parameters_with_a_total_is_bounded_by_it() -> None:
    """The same 25 rows for every page with X-Total-Count 100: at most the 4 pages of the total are asked for."""
    data = rows("posts", 25)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(data, headers={"X-Total-Count": "100"})

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert 2 <= len(seen.requests) <= 4
    assert result.status == "partial"
    assert {row["error_type"] for row in sink.rows("sync_errors")} == {"NoProgress"}


def test_pages_keyed_on_a_nested_field_are_not_taken_for_repeats() -> None:
    """A key read from a dotted path (meta.id): 25 distinct rows in pages of 10 all land; no NoProgress."""
    nested = [{"meta": {"id": i}, "name": f"n{i}"} for i in range(1, 26)]
    table = TableSpec(
        name="items",
        path="/items",
        records="data",
        columns=(Column("id", "meta.id", "INT"), Column("name", "name", "STRING")),
        paginator=PageNumber(total_path="total"),
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = int(request.query["page"]), int(request.query["per_page"])
        return web.json_response({"data": nested[(page - 1) * size : page * size], "total": len(nested)})

    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, source=Source(name="nested_api", tables=(table,)), page_size="10")
    assert sink.ids("items") == list(range(1, 26))
    assert sink.rows("sync_errors") == []
    assert result.status == "succeeded"


def test_a_record_whose_key_is_an_object_is_rejected_not_a_crash() -> None:
    """The first record of a page has {"id": {"x": 1}}: it goes to sync_errors (MEDIUM), the other 29 land, and
    the sync does not fail with a CRITICAL error from the repeat check."""
    data: list[Any] = rows("posts", 30)
    data[0] = {**data[0], "id": {"x": 1}}
    with serve(paged(data)) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, page_size="10")
    assert sink.ids("posts") == list(range(2, 31))
    assert [(row["severity"], row["error_type"]) for row in sink.rows("sync_errors")] == [("MEDIUM", "RecordError")]
    assert result.status != "failed"


def test_a_walk_longer_than_max_pages_per_table_stops() -> None:
    """max_pages_per_table 3 over a 10-page collection without a total: 3 requests, then a NoProgress error."""
    with serve(paged(rows("posts", 250), total=False, links=False)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_pages_per_table="3")
    assert len(seen.requests) == 3
    assert result.status == "partial"
    [error] = sink.rows("sync_errors")
    assert (error["page"], error["error_type"], error["message"]) == (
        4,
        "NoProgress",
        "more than max_pages_per_table (3) pages",
    )


def test_a_total_announcing_more_pages_than_max_pages_per_table_stops_after_one_request() -> None:
    """max_pages_per_table 5 and a total of 1,000 rows (40 pages of 25): the first page lands, the other 39 are
    not fanned out, and the table stops with NoProgress naming both numbers."""
    with serve(paged(rows("posts", 1000))) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_pages_per_table="5")
    assert seen.requests == ["/posts?_page=1&_limit=25"]
    assert sink.ids("posts") == list(range(1, 26))
    assert result.status == "partial"
    [error] = sink.rows("sync_errors")
    assert (error["page"], error["error_type"], error["message"]) == (
        2,
        "NoProgress",
        "the total announces 40 pages, more than max_pages_per_table",
    )


def test_a_huge_total_is_not_planned_as_billions_of_requests() -> None:
    """X-Total-Count 10^12 (a valid count, a lie): one request, a clear error, no plan of 4 * 10^10 page tasks."""
    data = rows("posts", 25)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(data, headers={"X-Total-Count": str(10**12)})

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert len(seen.requests) == 1
    assert result.status == "partial"
    assert [row["message"] for row in sink.rows("sync_errors")] == [
        "the total announces 40000000000 pages, more than max_pages_per_table"
    ]


# -- malformed totals, failing pages


def test_a_400_digit_total_is_a_clear_fatal_error_with_a_sync_runs_row() -> None:
    """X-Total-Count of 400 digits: one FatalError in sync_errors naming the header, one sync_runs row, no crash."""
    data = rows("posts", 30)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(data[:25], headers={"X-Total-Count": "9" * 400})

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert len(seen.requests) == 1
    assert result.status == "failed"  # nothing was fetched, by an error another attempt cannot fix
    [error] = sink.rows("sync_errors")
    assert (error["table_name"], error["page"], error["error_type"]) == ("posts", 1, "FatalError")
    assert error["message"] == "the X-Total-Count header is not a count: '" + "9" * 40 + "…'"
    assert [run["status"] for run in sink.rows("sync_runs")] == ["failed"]


def page_three_of_posts_404s() -> Any:
    posts, users = paged(rows("posts", 100)), paged(rows("users", 10))

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/posts" and request.query.get("_page") == "3":
            return web.json_response({"error": "gone"}, status=404)
        return await (users if request.path == "/users" else posts)(request)

    return handler


def test_a_table_whose_page_always_fails_does_not_hold_back_the_others() -> None:
    """posts page 3 always 404: users completes its pass in both syncs; posts stays open at page 3, and the next
    sync asks for page 3 again, after page 2 to prove the collection did not shift (and for users' page 1: its
    next pass)."""
    with serve(page_three_of_posts_404s()) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, tables="users,posts")
        state = sink.checkpoints()[-1]
        before = len(seen.requests)
        second = sync(url, sink, state, tables="users,posts")
        rerun = seen.requests[before:]
    assert (first.status, second.status) == ("partial", "partial")
    assert open_pass(state, "users") is None
    assert next_page(state, "posts") == 3
    assert sorted(rerun) == ["/posts?_page=2&_limit=25", "/posts?_page=3&_limit=25", "/users?_page=1&_limit=25"]
    final = sink.checkpoints()[-1]
    assert (open_pass(final, "users"), next_page(final, "posts")) == (None, 3)
    assert entry(final, "posts")["lost_streak"] == 2
    tables = second.summary["processing_summary"]["table_summaries"]
    assert (tables["users"]["status"], tables["posts"]["status"]) == ("complete", "incomplete")


def test_a_page_lost_in_lost_page_syncs_syncs_in_a_row_fails_the_sync() -> None:
    """lost_page_syncs 2: the first sync that loses posts' page 3 is partial, the second failed, naming posts."""
    with serve(page_three_of_posts_404s()) as (url, _):
        sink = RecordingSink()
        first = sync(url, sink, tables="users,posts", lost_page_syncs="2")
        second = sync(url, sink, sink.checkpoints()[-1], tables="users,posts", lost_page_syncs="2")
    assert (first.status, second.status) == ("partial", "failed")
    assert second.message == (
        "pages of posts were lost in 2 syncs in a row (see sync_errors); the sync fails so that someone looks"
    )
    assert [run["status"] for run in sink.rows("sync_runs")] == ["partial", "failed"]


def test_every_tables_first_page_404_fails_the_sync_with_one_line() -> None:
    """A wrong base_url (every path 404): failed, one line naming the first table and what to check."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "not found"}, status=404)

    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, tables="users,posts")
    assert result.status == "failed"
    assert result.message is not None
    assert result.message.startswith("nothing could be fetched: every table's first request failed (")
    assert result.message.endswith(": HTTP 404); check base_url and the tables' paths")
    assert "\n" not in result.message
    assert [run["status"] for run in sink.rows("sync_runs")] == ["failed"]


# -- paginators over envelope bodies

DATA = items(53)


def envelope_api() -> Any:
    """One endpoint per style, each over the same 53 rows in `{"data": [...], ...}` envelopes."""

    async def handler(request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.path == "/page_number":
            page, size = int(query["page"]), int(query["per_page"])
            body = {"data": DATA[(page - 1) * size : page * size], "total_items": len(DATA)}
        elif request.path == "/offset":
            offset, limit = int(query["offset"]), int(query["limit"])
            body = {"data": DATA[offset : offset + limit], "meta": {"total": len(DATA)}}
        elif request.path == "/json_link":
            page = int(query.get("page", "1"))
            following = f"/json_link?page={page + 1}" if page * 10 < len(DATA) else None
            body = {"data": DATA[(page - 1) * 10 : page * 10], "links": {"next": following}}
        else:  # /cursor: the token is the next row's index
            start = int(query.get("cursor", "0"))
            token = str(start + 10) if start + 10 < len(DATA) else None
            body = {"data": DATA[start : start + 10], "next_cursor": token}
        return web.json_response(body)

    return handler


STYLES = [
    ("page_number", PageNumber(total_path="total_items"), 6),
    ("offset", Offset(total_path="meta.total"), 6),
    ("json_link", JsonLink(next_path="links.next"), 6),
    ("cursor", Cursor(), 6),
]


def test_each_style_walks_an_envelope_body_exactly() -> None:
    """page_number, offset, json_link and cursor over `{"data": [...]}`: 53 rows each, in 6 requests each."""
    for path, paginator, requests in STYLES:
        with serve(envelope_api()) as (url, seen):
            sink = RecordingSink()
            result = sync(url, sink, source=items_source(paginator, path=f"/{path}"), page_size="10")
        assert sink.ids("items") == list(range(1, 54)), path
        assert len(sink.rows("items")) == 53, path
        assert result.status == "succeeded", path
        assert len(seen.requests) == requests, (path, seen.requests)
        assert all_complete(sink.checkpoints()[-1]), path


def test_a_cursor_walk_asks_with_each_token_in_turn() -> None:
    """cursor: no token first, then 10, 20, ... 50; the body's null token ends the walk."""
    with serve(envelope_api()) as (url, seen):
        sync(url, RecordingSink(), source=items_source(Cursor(), path="/cursor"), page_size="10")
    assert seen.requests == ["/cursor"] + [f"/cursor?cursor={k}" for k in range(10, 60, 10)]


# -- child tables

COMPANIES = TableSpec(name="companies", path="/companies", records="data", columns=(Column("id", "id", "STRING"),))
DEPARTMENTS = TableSpec(
    name="departments",
    path="/companies/{company_id}/departments",
    records="data",
    columns=(
        Column("company_id", "id", "STRING", from_parent=True),
        Column("department_id", "id", "STRING"),
    ),
    primary_key=("company_id", "department_id"),
    parent=Parent("companies"),
)


def test_a_child_pass_resumes_with_only_the_parents_not_done() -> None:
    """c2's departments 404 in the first sync: c1 and c3 are done, the pass stays open; the second sync walks
    c2 only (after listing the companies again, once: the companies table's own pass lists them) and closes the
    pass."""
    broken = {"c2"}

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response({"data": [{"id": "c1"}, {"id": "c2"}, {"id": "c3"}]})
        company = request.path.split("/")[2]
        if company in broken:
            return web.json_response({"error": "gone"}, status=404)
        return web.json_response({"data": [{"id": f"{company}-d1"}, {"id": f"{company}-d2"}]})

    source = Source(name="org_api", tables=(COMPANIES, DEPARTMENTS))
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, source=source)
        state = sink.checkpoints()[-1]
        broken.clear()
        before = len(seen.requests)
        second = sync(url, sink, state, source=source)
        rerun = seen.requests[before:]
    assert (first.status, second.status) == ("partial", "succeeded")
    opened = open_pass(state, "departments")
    assert opened is not None
    assert opened["done"] == ['"c1"', '"c3"']  # parent keys as JSON: unambiguous
    assert sorted(rerun) == ["/companies", "/companies/c2/departments"]
    keys = sorted((row["company_id"], row["department_id"]) for row in sink.rows("departments"))
    assert keys == [(c, f"{c}-d{n}") for c in ("c1", "c2", "c3") for n in (1, 2)]
    assert entry(sink.checkpoints()[-1], "departments")["pass"] is None


def test_a_child_table_sends_each_parent_its_own_watermark() -> None:
    """Departments with a cursor: the second sync asks c1 for since=<c1's newest> and c2 for <c2's newest>."""
    stamps = {"c1": "2026-01-01T01:00:00Z", "c2": "2026-01-01T02:00:00Z"}
    child = dataclasses.replace(
        DEPARTMENTS,
        columns=(*DEPARTMENTS.columns, Column("updated_at", "updatedAt", "UTC_DATETIME")),
        cursor=Incremental(field="updatedAt", param="since"),
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/companies":
            return web.json_response({"data": [{"id": "c1"}, {"id": "c2"}]})
        company = request.path.split("/")[2]
        return web.json_response({"data": [{"id": f"{company}-d1", "updatedAt": stamps[company]}]})

    source = Source(name="org_api", tables=(COMPANIES, child))
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, source=source)
        state = sink.checkpoints()[-1]
        before = len(seen.requests)
        sync(url, sink, state, source=source)
        rerun = sorted(path for path in seen.requests[before:] if "departments" in path)
    assert entry(state, "departments")["parents"] == {
        '"c1"': "2026-01-01T01:00:00+00:00",
        '"c2"': "2026-01-01T02:00:00+00:00",
    }
    assert rerun == [
        "/companies/c1/departments?since=2026-01-01T01:00:00Z",
        "/companies/c2/departments?since=2026-01-01T02:00:00Z",
    ]


# -- incremental


def incremental_api(data: list[dict[str, Any]]) -> Any:
    """`?updated_since=...` (inclusive) and page_number with a total in the body."""

    async def handler(request: web.Request) -> web.StreamResponse:
        since = request.query.get("updated_since")
        matching = [row for row in data if since is None or row["updatedAt"] >= since]
        page, size = int(request.query["page"]), int(request.query["per_page"])
        return web.json_response({"data": matching[(page - 1) * size : page * size], "total_items": len(matching)})

    return handler


def test_a_second_sync_sends_the_watermark_and_fetches_only_newer_rows() -> None:
    """30 rows, then 5 newer: the second sync asks updated_since=<the first sync's largest updatedAt> and gets the
    boundary row again (inclusive API) and the 5 new ones; the watermark moves to the newest."""
    data = items(30)
    source = items_source(
        PageNumber(total_path="total_items"), cursor=Incremental(field="updatedAt", param="updated_since")
    )
    with serve(incremental_api(data)) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, source=source, page_size="10")
        state = sink.checkpoints()[-1]
        data.extend(items(35)[30:])
        before, written = len(seen.requests), len(sink.rows("items"))
        second = sync(url, sink, state, source=source, page_size="10")
        rerun = seen.requests[before:]
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert entry(state, "items")["watermark"] == "2026-01-01T00:00:30+00:00"
    assert rerun == ["/items?updated_since=2026-01-01T00:00:30Z&page=1&per_page=10"]
    assert [row["id"] for row in sink.rows("items")[written:]] == [30, 31, 32, 33, 34, 35]
    final = entry(sink.checkpoints()[-1], "items")
    assert final.pop("binding")["source"] == "test_api"
    assert final == {"lost_streak": 0, "watermark": "2026-01-01T00:00:35+00:00", "pass": None}


def test_the_watermark_does_not_pass_a_lost_page_and_the_resumed_pass_keeps_its_bound() -> None:
    """Page 2 of 3 fails in the first sync: the pass stays open with high = page 1's newest and no watermark;
    the second sync asks for page 1 (to prove it still ends with row 10) and pages 2 and 3, with the same
    (absent) bound, and then the watermark is the newest of all 30 rows."""
    data = items(30)
    failing = {"2"}
    served = incremental_api(data)

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("page") in failing:
            return web.json_response({"error": "gone"}, status=404)
        return await served(request)

    source = items_source(
        PageNumber(total_path="total_items"), cursor=Incremental(field="updatedAt", param="updated_since")
    )
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, source=source, page_size="10")
        state = sink.checkpoints()[-1]
        failing.clear()
        before = len(seen.requests)
        second = sync(url, sink, state, source=source, page_size="10")
        rerun = sorted(seen.requests[before:])
    assert (first.status, second.status) == ("partial", "succeeded")
    assert entry(state, "items")["watermark"] is None
    opened = open_pass(state, "items")
    assert opened is not None
    assert (opened["next_page"], opened["since"], opened["high"]) == (2, None, "2026-01-01T00:00:10+00:00")
    assert rerun == ["/items?page=1&per_page=10", "/items?page=2&per_page=10", "/items?page=3&per_page=10"]
    final = entry(sink.checkpoints()[-1], "items")
    assert final.pop("binding")["source"] == "test_api"
    assert final == {"lost_streak": 0, "watermark": "2026-01-01T00:00:30+00:00", "pass": None}


def keyset_api(data: list[dict[str, Any]], fail_token: set[str]) -> Any:
    """A keyset API: `updated_since` is accepted on the first request only (400 with a cursor), 10 a page."""

    async def handler(request: web.Request) -> web.StreamResponse:
        query = request.query
        if "cursor" in query and "updated_since" in query:
            return web.json_response({"error": "updated_since with a cursor"}, status=400)
        if query.get("cursor") in fail_token:
            return web.json_response({"error": "gone"}, status=404)
        since = query.get("updated_since")
        matching = [row for row in data if since is None or row["updatedAt"] >= since]
        start = int(query.get("cursor", "0"))
        token = str(start + 10) if start + 10 < len(matching) else None
        return web.json_response({"data": matching[start : start + 10], "next_cursor": token})

    return handler


def test_a_cursor_walk_resumes_at_its_saved_token_without_the_bound() -> None:
    """first_request_only: the bound goes on the first request only; the walk lost at token 20 resumes there
    after asking for its last written page (token 10) again, to prove it still ends with row 20; the pass
    completes with all 35 rows."""
    data = items(35)
    failing = {"20"}
    cursor = Incremental(field="updatedAt", param="updated_since", first_request_only=True)
    source = items_source(Cursor(), cursor=cursor)
    with serve(keyset_api(data, failing)) as (url, seen):
        sink = RecordingSink()
        first = sync(url, sink, source=source)
        state = sink.checkpoints()[-1]
        failing.clear()
        before = len(seen.requests)
        second = sync(url, sink, state, source=source)
        rerun = seen.requests[before:]
    assert (first.status, second.status) == ("partial", "succeeded")
    opened = open_pass(state, "items")
    assert opened is not None
    assert (opened["next_page"], opened["resume"]) == (3, {"params": [["cursor", "20"]], "url": None})
    assert rerun == ["/items?cursor=10", "/items?cursor=20", "/items?cursor=30"]
    assert sink.ids("items") == list(range(1, 36))
    assert entry(sink.checkpoints()[-1], "items")["watermark"] == "2026-01-01T00:00:35+00:00"
