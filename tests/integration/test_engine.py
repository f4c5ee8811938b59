"""The engine over real loopback HTTP: concurrency, pagination, resume, backpressure, thresholds, no leaks."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.run.walk import key_digest
from tests.devtools import pytest
from tests.integration.servers import paged, rows, serve
from tests.sinks import RecordingSink
from tests.states import all_complete, next_page

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}


def sync(base_url: str, sink: RecordingSink, state: dict[str, Any] | None = None, **overrides: str) -> Any:
    configuration = {"base_url": base_url, "tables": "posts", "page_size": "10", **FAST, **overrides}
    return run_sync(configuration, state, sink=sink, log=StdLog())


def test_all_pages_land_once_with_total_count() -> None:
    """95 rows in pages of 10: ten requests, 95 distinct ids, a complete pass."""
    with serve(paged(rows("posts", 95))) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == list(range(1, 96))
    assert len(seen.requests) == 10
    assert result.status == "succeeded"
    assert all_complete(sink.checkpoints()[-1])


def test_requests_in_flight_never_exceed_max_workers() -> None:
    """With 40 slow pages and max_workers 4, the server sees exactly 4 requests at once at the most."""
    with serve(paged(rows("posts", 400), delay=0.03)) as (url, seen):
        sync(url, RecordingSink(), max_workers="4")
    assert seen.max_in_flight == 4


def test_without_total_the_link_header_is_followed() -> None:
    """No X-Total-Count: rel="next" is followed to the end."""
    with serve(paged(rows("posts", 35), total=False)) as (url, seen):
        sink = RecordingSink()
        sync(url, sink)
    assert sink.ids("posts") == list(range(1, 36))
    assert seen.requests == [f"/posts?_page={n}&_limit=10" for n in (1, 2, 3, 4)]
    assert all_complete(sink.checkpoints()[-1])  # the short last page completed the table


def test_without_total_or_links_pages_are_walked_until_a_short_one() -> None:
    """No pagination headers: page numbers until an empty page, fetched twice before it is believed."""
    with serve(paged(rows("posts", 30), total=False, links=False)) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == list(range(1, 31))
    assert seen.requests[3:] == ["/posts?_page=4&_limit=10"] * 2  # the empty fourth page, confirmed
    assert result.status == "succeeded"
    assert all_complete(sink.checkpoints()[-1])


def test_page_size_zero_fetches_the_collection_in_one_request() -> None:
    """page_size 0: one request, no pagination parameters."""
    with serve(paged(rows("posts", 42))) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, page_size="0")
    assert seen.requests == ["/posts"]
    assert sink.ids("posts") == list(range(1, 43))
    assert all_complete(sink.checkpoints()[-1])


def test_resume_starts_at_the_checkpointed_page() -> None:
    """A state whose open pass says next_page 4 (size 10), page 3 ending with row 30: page 3 is asked again to
    prove it still ends there, then pages 4..10 only."""
    opened = {
        "started_at": "T0",
        "since": None,
        "size": 10,
        "next_page": 4,
        "resume": None,
        "high": None,
        "prev": {"params": [["_page", "3"], ["_limit", "10"]], "url": None},
        "prev_key": key_digest((30,)),
    }
    state = {"version": 2, "tables": {"posts": {"lost_streak": 0, "watermark": None, "pass": opened}}}
    with serve(paged(rows("posts", 100))) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, state)
    pages = sorted(int(path.split("_page=")[1].split("&")[0]) for path in seen.requests)
    assert pages == list(range(3, 11))
    assert sink.ids("posts") == list(range(31, 101))


def test_a_resume_that_cannot_prove_its_page_starts_the_pass_over() -> None:
    """An open pass saved without the key its last page ended with (an older state): page 4 of a collection that
    may have changed is not trusted; the pass is read again from page 1."""
    opened = {"started_at": "T0", "since": None, "size": 10, "next_page": 4, "resume": None, "high": None}
    state = {"version": 2, "tables": {"posts": {"lost_streak": 0, "watermark": None, "pass": opened}}}
    with serve(paged(rows("posts", 100))) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, state)
    pages = sorted(int(path.split("_page=")[1].split("&")[0]) for path in seen.requests)
    assert pages == list(range(1, 11))
    assert sink.ids("posts") == list(range(1, 101))


def test_the_sdk_is_called_from_the_calling_thread_only() -> None:
    """Every upsert and checkpoint comes from the thread that called run_sync, never the loop's thread."""
    with serve(paged(rows("posts", 50))) as (url, _):
        sink = RecordingSink()
        sync(url, sink, max_workers="8")
    assert sink.threads == {threading.get_ident()}


def test_a_slow_sdk_slows_the_fetching() -> None:
    """Backpressure: with a slow sink, the pages fetched ahead of the SDK stay within the bridge's capacity."""
    ahead: list[int] = []
    with serve(paged(rows("posts", 300))) as (url, seen):

        class SlowSink(RecordingSink):
            def upsert(self, table: str, data: dict[str, Any]) -> None:
                super().upsert(table, data)
                ahead.append(len(seen.requests) - len(self.rows("posts")) // 10)

        sync(url, SlowSink(delay=0.001), max_workers="2")
    capacity = 2 * 2 + 8
    assert max(ahead) <= capacity + 1


def open_client_connections(port: int) -> int:
    """Established TCP connections to `port` from another port: the client's side (from /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01":  # 01 = ESTABLISHED
            count += 1
    return count


def test_nothing_outlives_the_sync() -> None:
    """After run_sync returns: the same threads as before, no task (the loop is closed), no client socket open."""
    with serve(paged(rows("posts", 200))) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        threads_before = set(threading.enumerate())
        sink = RecordingSink()
        sync(url, sink, max_workers="16")
        assert len(sink.rows("posts")) == 200
        assert set(threading.enumerate()) == threads_before
        assert open_client_connections(port) == 0


def test_a_table_past_its_threshold_stops_and_the_others_go_on() -> None:
    """posts always 500: after 2 lost pages posts stops; users lands; the sync is partial, not failed."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/posts":
            return web.json_response({}, status=500)
        return await paged(rows("users", 20))(request)

    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(
            url,
            sink,
            tables="users,posts",
            max_retries="0",
            error_threshold_per_thread="1",
            total_error_threshold="100",
        )
    assert result.status == "partial"
    assert len(sink.rows("users")) == 20
    assert sink.rows("posts") == []
    lost = [row for row in sink.rows("sync_errors") if row["table_name"] == "posts"]
    assert lost
    assert all(row["severity"] == "HIGH" for row in lost)
    summary = result.summary["processing_summary"]["table_summaries"]
    assert summary["posts"]["status"] in ("stopped", "incomplete")
    assert summary["users"]["status"] == "complete"


def test_past_the_total_threshold_the_sync_fails_naming_it() -> None:
    """Every page 503, no retries, total threshold 2: the sync fails and says which threshold."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("_page") == "1":
            return await paged(rows("posts", 100))(request)
        return web.json_response({}, status=503)

    with serve(handler) as (url, _seen):
        sink = RecordingSink()
        result = sync(url, sink, max_retries="0", total_error_threshold="2", error_threshold_per_thread="100")
    assert result.status == "failed"
    counted = sum(result.summary["error_summary"]["errors_by_severity"][s] for s in ("MEDIUM", "HIGH", "CRITICAL"))
    assert counted >= 3  # pages in flight when the threshold tripped are counted too, in the message as well
    assert result.message == (
        f"total_error_threshold (2) exceeded: {counted} errors; "
        f"the most common: HTTP 503: {counted} of {counted} errors"
    )
    runs = sink.rows("sync_runs")
    assert [run["status"] for run in runs] == ["failed"]
    assert next_page(sink.checkpoints()[-1], "posts") == 2


def test_authentication_failure_stops_the_sync_at_once() -> None:
    """A 401 is CRITICAL: the sync fails after the first response, without retries."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "no"}, status=401)

    with serve(handler) as (url, seen):
        result = sync(url, RecordingSink(), max_retries="5", api_key="k")  # the jsonplaceholder source's key
    assert result.status == "failed"
    assert result.message is not None
    assert "CRITICAL" in result.message
    assert len(seen.requests) == 1


def test_invalid_records_go_to_sync_errors_and_valid_ones_land() -> None:
    """A record without id and one with a string id: two sync_errors rows with the raw JSON; the rest land."""
    data: list[Any] = rows("posts", 10)
    data[3] = {"userId": 1, "title": "no id", "body": "b"}
    data[5] = {**data[5], "id": "six"}
    with serve(paged(data)) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink)
    assert sink.ids("posts") == [1, 2, 3, 5, 7, 8, 9, 10]
    errors = sink.rows("sync_errors")
    assert sorted(json.dumps(e["raw_record"], sort_keys=True) for e in errors) == sorted(
        json.dumps(r, sort_keys=True) for r in (data[3], data[5])
    )
    assert {e["severity"] for e in errors} == {"MEDIUM"}
    assert result.summary["error_summary"]["errors_by_severity"]["MEDIUM"] == 2


def test_an_sdk_failure_stops_the_fetching_and_is_raised() -> None:
    """When the SDK raises (the sync failed on its side), run_sync re-raises it and leaves no thread behind."""

    class FailingSink(RecordingSink):
        def upsert(self, table: str, data: dict[str, Any]) -> None:
            if len(self.calls) == 25:
                raise RuntimeError("destination unavailable")
            super().upsert(table, data)

    with serve(paged(rows("posts", 500), delay=0.01)) as (url, seen):
        threads_before = set(threading.enumerate())
        sink = FailingSink()
        with pytest.raises(RuntimeError, match="^destination unavailable$"):
            sync(url, sink, max_workers="4")
        assert set(threading.enumerate()) == threads_before
        requests_at_failure = len(seen.requests)
    assert requests_at_failure < 50  # the other 45 pages were never requested


def test_an_unknown_configuration_key_is_warned_about_and_the_sync_goes_on() -> None:
    """A key this connector does not know (a typo, an older deployment) gets one warning naming it."""

    class Lines:
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def info(self, message: str) -> None:
            pass

        def warning(self, message: str) -> None:
            self.warnings.append(message)

        def severe(self, message: str) -> None:
            pass

    log = Lines()
    with serve(paged(rows("posts", 10))) as (url, _):
        configuration = {"base_url": url, "tables": "posts", "max_worker": "8"}
        result = run_sync(configuration, None, sink=RecordingSink(), log=log)
    assert result.status == "succeeded"
    assert log.warnings == ["configuration key 'max_worker' is not known to this connector and is ignored"]
