"""A hostile or broken server: huge bodies, trickling bytes, bad records, foreign redirects, HTML, lying headers.

Each case runs `run_sync` in process against an inline server on 127.0.0.1 and is held to a time bound computed
from its configuration (`tests/reliability/support.py`), with no thread or client socket left behind.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project
from tests.integration.servers import paged, rows, serve
from tests.reliability.support import (
    START_SECONDS,
    checked_sync,
    port_of,
    raw_serve,
    settings_of,
    time_bound,
    timed_debug,
)

pytestmark = pytest.mark.reliability

MIB = 1024 * 1024
BODY_BYTES = 50 * MIB
CHUNK = b" " * (64 * 1024)  # JSON whitespace: the body stays valid JSON however much of it is sent


def configuration(url: str, **overrides: str) -> dict[str, str]:
    return {
        "base_url": url,
        "tables": "posts",
        "page_size": "10",
        "base_delay": "0.01",
        "max_delay": "0.05",
        "retry_jitter": "none",
        "api_timeout_seconds": "2",
        "error_threshold_per_thread": "100",
        "total_error_threshold": "100",
        **overrides,
    }


def bound_for(config: dict[str, str], requests: int) -> float:
    return time_bound(settings_of(config), requests=requests)


def huge_body(*, content_length: bool) -> tuple[Any, dict[str, int]]:
    """A handler streaming a 50 MB JSON body in 64 KiB chunks (chunked, or with a Content-Length), and the bytes
    it managed to hand to its transport."""
    sent = {"bytes": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json"}
        if content_length:
            headers["Content-Length"] = str(BODY_BYTES)
        response = web.StreamResponse(headers=headers)
        if not content_length:
            response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            await response.write(b"[")
            while sent["bytes"] < BODY_BYTES - 2:
                await response.write(CHUNK)
                sent["bytes"] += len(CHUNK)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: the point of the test
        return response

    return handler, sent


@pytest.mark.parametrize("content_length", [False, True], ids=["chunked", "content-length"])
def test_a_body_over_max_response_mb_is_refused_and_memory_stays_flat(content_length: bool) -> None:
    """A 50 MB body with max_response_mb 1: one request, one HIGH error naming the limit, a few MB at the most."""
    handler, sent = huge_body(content_length=content_length)
    tracemalloc.start()
    try:
        with serve(handler) as (url, seen):
            config = configuration(url, max_response_mb="1", max_retries="3")
            run = checked_sync(config, bound=bound_for(config, 1), ports=[port_of(url)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(seen.requests) == 1
    [error] = run.sink.rows("sync_errors")
    assert (error["page"], error["severity"], error["error_type"]) == (1, "HIGH", "FatalError")
    assert error["message"] == "response larger than max_response_mb (1 MB)"
    assert run.result.status == "failed"  # nothing else was fetched: an error another attempt cannot fix
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MB"
    assert sent["bytes"] < BODY_BYTES // 2


BOMB_DECODED = 64 * MIB


def gzip_bomb() -> Any:
    """A handler answering every page with a ~64 KiB gzip body that inflates to 64 MiB of JSON whitespace."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip, built without 64 MiB in memory
    parts = [compressor.compress(b"[")]
    parts += [compressor.compress(CHUNK) for _ in range((BOMB_DECODED - 2) // len(CHUNK))]
    parts += [compressor.compress(b"]"), compressor.flush()]
    body = b"".join(parts)

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=body, headers=headers)

    return handler


def test_a_gzip_bomb_is_refused_by_its_decoded_size_and_memory_stays_flat() -> None:
    """64 KiB of gzip inflating to 64 MiB, max_response_mb 1: one HIGH error naming the limit, under 10 MiB traced."""
    handler = gzip_bomb()
    tracemalloc.start()
    try:
        with serve(handler) as (url, seen):
            config = configuration(url, max_response_mb="1", max_retries="3")
            run = checked_sync(config, bound=bound_for(config, 1), ports=[port_of(url)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(seen.requests) == 1
    [error] = run.sink.rows("sync_errors")
    assert (error["page"], error["severity"], error["error_type"]) == (1, "HIGH", "FatalError")
    assert error["message"] == "response larger than max_response_mb (1 MB)"
    assert peak < 10 * MIB, f"peak {peak / MIB:.1f} MB"


async def trickle_body(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte of the body every 50 ms, for up to a minute."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "2000"})
    await response.prepare(request)
    try:
        await response.write(b"[")
        for _ in range(1200):
            await asyncio.sleep(0.05)
            await response.write(b" ")
    except (ConnectionError, RuntimeError):
        pass
    return response


def test_a_body_that_trickles_is_cut_by_the_total_timeout() -> None:
    """One byte every 50 ms never beats api_timeout_seconds 0.5: two attempts, then the page is lost, in ~1 s."""
    with serve(trickle_body) as (url, seen):
        config = configuration(url, api_timeout_seconds="0.5", max_retries="1")
        bound = 2 * 0.5 + 1 * 0.05 + 1.0  # (R + 1) · T + R · max_delay + a second for the rest
        run = checked_sync(config, bound=bound, ports=[port_of(url)])
    assert len(seen.requests) == 2
    [error] = run.sink.rows("sync_errors")
    assert (error["page"], error["severity"], error["error_type"]) == (1, "HIGH", "RetryableError")
    assert error["attempts"] == 2
    assert error["message"] == "no complete response within 0.5 s"


def test_a_status_line_that_trickles_is_cut_by_the_total_timeout() -> None:
    """The response head itself arrives a byte every 50 ms: the same bound holds, connect to last byte."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 1200:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    with raw_serve(handler) as (url, seen):
        config = configuration(url, api_timeout_seconds="0.5", max_retries="1")
        run = checked_sync(config, bound=2 * 0.5 + 0.05 + 1.0, ports=[port_of(url)])
    assert len(seen.connections) == 2
    [error] = run.sink.rows("sync_errors")
    assert (error["severity"], error["attempts"], error["message"]) == ("HIGH", 2, "no complete response within 0.5 s")


BAD_RECORDS: list[Any] = [
    {"userId": 1, "title": "no id", "body": "b"},
    {"id": "12", "userId": 1, "title": "string id", "body": "b"},
    {"id": True, "userId": 1, "title": "boolean id", "body": "b"},
    {"id": 14.0, "userId": 1, "title": "float id", "body": "b"},
    {"id": 15, "userId": None, "title": "null userId", "body": "b"},
    {"id": 16, "userId": 1, "title": 16.5, "body": "b"},  # STRING takes integers as text, not floats
    {"id": 17, "userId": 1, "title": "object body", "body": {"text": "b"}},
    42,
    ["a", "list"],
    "a string",
]


def test_records_without_an_id_or_with_wrong_types_go_to_sync_errors_raw() -> None:
    """Ten bad records: each is a MEDIUM sync_errors row with its raw JSON and id; the ten valid ones land."""
    data = [*rows("posts", 10), *BAD_RECORDS]
    with serve(paged(data)) as (url, _):
        config = configuration(url)
        run = checked_sync(config, bound=bound_for(config, 2), ports=[port_of(url)])
    assert run.sink.ids("posts") == list(range(1, 11))
    errors = sorted(run.sink.rows("sync_errors"), key=lambda row: row["error_id"])
    expected_raw = [record if isinstance(record, dict | list) else {"value": record} for record in BAD_RECORDS]
    assert [error["raw_record"] for error in errors] == expected_raw
    assert [error["record_id"] for error in errors] == [None, "12", "True", "14.0", "15", "16", "17", None, None, None]
    kinds = {(error["severity"], error["error_type"], error["page"]) for error in errors}
    assert kinds == {("MEDIUM", "RecordError", 2)}
    assert errors[0]["message"] == "field 'id' is missing or null"
    assert errors[1]["message"] == "field 'id' should be INT, got str"
    assert errors[7]["message"] == "expected a JSON object, got int"
    assert run.result.status == "succeeded"
    assert run.result.summary["error_summary"]["errors_by_severity"]["MEDIUM"] == 10


def test_invalid_records_beyond_the_table_threshold_stop_only_that_table() -> None:
    """With error_threshold_per_thread 3, the fourth bad record stops posts; users (another table) lands whole."""
    data = [*rows("posts", 10), *BAD_RECORDS]

    async def handler(request: web.Request) -> web.StreamResponse:
        collection = data if request.path == "/posts" else rows("users", 10)
        return await paged(collection)(request)

    with serve(handler) as (url, _):
        config = configuration(url, tables="users,posts", error_threshold_per_thread="3")
        run = checked_sync(config, bound=bound_for(config, 3), ports=[port_of(url)])
    assert run.sink.ids("users") == list(range(1, 11))
    assert run.sink.ids("posts") == list(range(1, 11))
    assert len(run.sink.rows("sync_errors")) == 10  # the whole page was judged: every bad record is recorded
    tables = run.result.summary["processing_summary"]["table_summaries"]
    assert (tables["users"]["status"], tables["posts"]["status"]) == ("complete", "stopped")
    assert run.result.status == "partial"


async def deeply_nested(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")


def test_deeply_nested_json_is_an_error_of_the_page_not_a_crash() -> None:
    """A 100,000-deep JSON array (RecursionError in json.loads) loses its page (HIGH); the sync does not crash."""
    with serve(deeply_nested) as (url, _):
        config = configuration(url, max_retries="1")
        run = checked_sync(config, bound=bound_for(config, 1), ports=[port_of(url)])
    [error] = run.sink.rows("sync_errors")
    assert (error["page"], error["severity"]) == (1, "HIGH")
    assert run.result.status == "failed"  # nothing else was fetched: an error another attempt cannot fix


DESTINATION_LIMITS = {
    # An INT column holds 32 bits in the destination: the SDK refuses 3,000,000,000 and fails the whole sync.
    "int-out-of-range": b'{"id": 3000000000, "userId": 1, "title": "t", "body": "b"}',
    # A lone surrogate is valid JSON (an escape) but not UTF-8: the SDK cannot encode the row.
    "lone-surrogate": b'{"id": 3, "userId": 1, "title": "bad \\ud800 text", "body": "b"}',
}


@pytest.mark.parametrize("case", list(DESTINATION_LIMITS))
def test_a_record_the_destination_cannot_hold_goes_to_sync_errors(tmp_path: Path, case: str) -> None:
    """Through fivetran debug, a record the SDK would refuse goes to sync_errors; the sync succeeds, no traceback."""
    good = [json.dumps(row).encode() for row in rows("posts", 10) if row["id"] != 3]
    body = b"[" + b",".join([*good, DESTINATION_LIMITS[case]]) + b"]"

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json", headers={"X-Total-Count": "10"})

    with serve(handler) as (url, _):
        config = configuration(url, page_size="10")
        project = make_project(tmp_path / "project", config)
        result = timed_debug(project, bound=bound_for(config, 1) + START_SECONDS)
    assert "Traceback" not in result.stdout
    assert result.returncode == 0, result.stdout[-3000:]
    warehouse = Warehouse(project)
    assert warehouse.ids("posts") == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert warehouse.query("select severity, error_type from tester.sync_errors") == [("MEDIUM", "RecordError")]


@pytest.mark.parametrize("target", ["localhost-other-port", "same-host-other-port", "https-same-host"])
def test_a_redirect_to_another_origin_is_not_followed(target: str) -> None:
    """A 302 to another origin is refused (HIGH, not retried); the other server never sees a request or the key."""
    other_saw: list[dict[str, str]] = []

    async def other(request: web.Request) -> web.StreamResponse:
        other_saw.append(dict(request.headers))
        return await paged(rows("posts", 30))(request)

    first_saw: list[str | None] = []
    with serve(other) as (other_url, _):
        other_port = port_of(other_url)

        async def redirecting(request: web.Request) -> web.StreamResponse:
            first_saw.append(request.headers.get("Authorization"))
            origin = {
                "localhost-other-port": f"http://localhost:{other_port}",
                "same-host-other-port": f"http://127.0.0.1:{other_port}",
                "https-same-host": f"https://127.0.0.1:{request.url.port}",
            }[target]
            raise web.HTTPFound(f"{origin}{request.path_qs}")

        with serve(redirecting) as (url, seen):
            config = configuration(url, api_key="redirect-test-key", max_retries="3")
            run = checked_sync(config, bound=bound_for(config, 1), ports=[port_of(url), other_port])
    assert other_saw == []
    assert first_saw == ["Bearer redirect-test-key"]
    assert len(seen.requests) == 1
    [error] = run.sink.rows("sync_errors")
    assert (error["page"], error["severity"], error["error_type"]) == (1, "HIGH", "ForeignOriginError")
    assert error["message"].startswith("refused a URL on another origin")


def test_a_redirect_within_the_origin_is_followed_with_the_key() -> None:
    """The positive control: /posts redirects to /v2/posts on the same origin; the key goes along; rows land."""
    saw: list[tuple[str, str | None]] = []
    served = paged(rows("posts", 30))

    async def handler(request: web.Request) -> web.StreamResponse:
        saw.append((request.path, request.headers.get("Authorization")))
        if request.path == "/posts":
            raise web.HTTPFound(f"/v2/posts?{request.query_string}")
        return await served(request)

    with serve(handler) as (url, _):
        config = configuration(url, api_key="same-origin-key")
        run = checked_sync(config, bound=bound_for(config, 3), ports=[port_of(url)])
    assert run.sink.ids("posts") == list(range(1, 31))
    assert sorted(saw) == sorted([("/posts", "Bearer same-origin-key"), ("/v2/posts", "Bearer same-origin-key")] * 3)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/html", b"<html>Maintenance</html>", "expected a JSON response, got content type 'text/html"),
        ("application/json", b'{"data": []}', "expected a JSON array of records as the body, got dict"),
    ],
    ids=["html", "json-object"],
)
def test_a_200_that_is_not_a_json_array_is_a_high_error(content_type: str, body: bytes, message: str) -> None:
    """text/html 200 (a maintenance page) or a JSON object: not retried, HIGH, the page in sync_errors."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type=content_type)

    with serve(handler) as (url, seen):
        config = configuration(url, max_retries="3")
        run = checked_sync(config, bound=bound_for(config, 1), ports=[port_of(url)])
    assert len(seen.requests) == 1
    [error] = run.sink.rows("sync_errors")
    assert (error["page"], error["severity"], error["error_type"]) == (1, "HIGH", "FatalError")
    assert error["message"].startswith(message)
    assert run.result.summary["error_summary"]["errors_by_severity"]["HIGH"] == 1


def test_a_total_count_that_lies_does_not_keep_the_sync_running() -> None:
    """X-Total-Count claims 10^9 rows (10^8 pages, more than max_pages_per_table): the first page lands and the
    table stops at once with NoProgress, not after 10^8 requests (nor a plan of 10^8 page tasks)."""
    data = rows("posts", 30)

    async def handler(request: web.Request) -> web.StreamResponse:
        page, limit = int(request.query["_page"]), int(request.query["_limit"])
        return web.json_response(data[(page - 1) * limit : page * limit], headers={"X-Total-Count": "1000000000"})

    with serve(handler) as (url, seen):
        run = checked_sync(configuration(url), bound=5.0, ports=[port_of(url)])
    assert run.sink.ids("posts") == list(range(1, 11))
    assert len(seen.requests) == 1
    [error] = run.sink.rows("sync_errors")
    assert (error["error_type"], error["message"]) == (
        "NoProgress",
        "the total announces 100000000 pages, more than max_pages_per_table",
    )
    assert run.result.status == "partial"


def test_a_next_link_that_points_back_does_not_loop_forever() -> None:
    """Without X-Total-Count, a page whose rel="next" names itself: the connector notices the cycle and stops."""
    data = rows("posts", 10)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(data, headers={"Link": f'<{request.url}>; rel="next"'})

    with serve(handler) as (url, seen):
        run = checked_sync(configuration(url), bound=5.0, ports=[port_of(url)])
    assert run.sink.ids("posts") == list(range(1, 11))
    assert len(seen.requests) <= 2
