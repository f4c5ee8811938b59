"""The resilience layer over real loopback HTTP, asserted on what the server saw."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import math
import time
from collections import Counter
from typing import Any

from aiohttp import web

from async_core import StdLog, run_sync
from async_core.settings import Settings
from tests.devtools import pytest
from tests.integration.servers import Handler, paged, rows, serve
from tests.sinks import RecordingSink

QUICK = {"base_delay": "0.01", "max_delay": "0.05", "retry_jitter": "none"}


def sync(base_url: str, sink: RecordingSink | None = None, **overrides: str) -> Any:
    configuration = {"base_url": base_url, "tables": "posts", "page_size": "10", **QUICK, **overrides}
    return run_sync(configuration, None, sink=sink or RecordingSink(), log=StdLog())


def once_per_page(fault: Any, data: list[dict[str, Any]]) -> Any:
    """The first request of each page after the first gets `fault`; the next one the data."""
    served = paged(data)
    tried: Counter[str] = Counter()

    async def handler(request: web.Request) -> web.StreamResponse:
        tried[request.path_qs] += 1
        if request.query.get("_page") != "1" and tried[request.path_qs] == 1:
            response: web.StreamResponse = await fault(request)
            return response
        return await served(request)

    return handler


def retry_after_gap(seen_times: list[float], fault_time: float) -> float:
    """Seconds between the 429 and the next request that reached the server (ignoring any already in flight)."""
    later = [t for t in seen_times if t > fault_time + 0.05]
    return min(later) - fault_time


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_pauses_every_request_to_the_host(form: str) -> None:
    """After a 429 with Retry-After (2 s, or a date 2 s ahead), no request reaches the server until it passes."""
    data = rows("posts", 200)
    served = paged(data)
    fault: dict[str, float] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("_page") == "3" and "time" not in fault:
            fault["time"] = time.monotonic()
            if form == "seconds":
                header, fault["wait"] = "2", 2.0
            else:
                at = time.time() + 2.0
                header = email.utils.formatdate(at, usegmt=True)
                fault["wait"] = math.floor(at) - time.time()  # HTTP-dates have whole seconds
            return web.json_response({}, status=429, headers={"Retry-After": header})
        await asyncio.sleep(0.01)
        return await served(request)

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_workers="4")
    assert sink.ids("posts") == list(range(1, 201))
    assert retry_after_gap(seen.times, fault["time"]) >= fault["wait"] - 0.02
    assert result.summary["resilience"]["rate_gate_waits"] >= 1


def test_a_wait_longer_than_max_wait_seconds_stops_the_table_at_once() -> None:
    """Retry-After 3600 with max_wait_seconds 5: the table stops with a clear error instead of hanging."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({}, status=429, headers={"Retry-After": "3600"})

    started = time.monotonic()
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_wait_seconds="5")
    assert time.monotonic() - started < 5
    assert len(seen.requests) == 1
    assert result.status == "partial"
    [error] = sink.rows("sync_errors")
    assert error["error_type"] == "WaitTooLongError"
    assert "3600" in error["message"]
    assert "max_wait_seconds" in error["message"]


async def _reset(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.abort()
    await asyncio.sleep(1)
    return web.Response()


async def _truncated(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "1000"})
    await response.prepare(request)
    await response.write(b'[{"id": 1')
    assert request.transport is not None
    request.transport.close()
    return response


async def _invalid_json(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"[{not json", content_type="application/json")


async def _stall(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(30)
    return web.json_response([])


def _status(status: int) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": status}, status=status)

    return handler


FAULTS: dict[str, Handler] = {
    "reset": _reset,
    "truncated": _truncated,
    "invalid_json": _invalid_json,
    "stall": _stall,
    **{str(status): _status(status) for status in (408, 500, 502, 503, 504)},
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_each_retryable_fault_is_retried_and_every_row_lands(kind: str) -> None:
    """Each page after the first fails once with `kind`, then succeeds: all 60 rows land, LOW errors only."""

    started = time.monotonic()
    with serve(once_per_page(FAULTS[kind], rows("posts", 60))) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_workers="3", api_timeout_seconds="0.5", enable_circuit_breaker="false")
    assert sink.ids("posts") == list(range(1, 61))
    assert len(seen.requests) == 1 + 2 * 5  # page 1, then every other page twice
    severity = result.summary["error_summary"]["errors_by_severity"]
    # aiohttp itself re-sends a request once when a reused keep-alive connection turns out reset; then our
    # retry loop never sees the error. Every other fault is retried (and counted) by the connector.
    retried = 5 if kind != "reset" else result.summary["resilience"]["retries"]
    assert (severity["LOW"], severity["MEDIUM"], severity["HIGH"]) == (retried, 0, 0)
    assert result.summary["resilience"]["retries_succeeded"] == retried
    assert time.monotonic() - started < 5  # the 30 s stalls were cut by the 0.5 s timeout


def test_a_not_found_page_is_not_retried() -> None:
    """404 is not retryable: one request, a HIGH error, the page in sync_errors."""

    async def fault(request: web.Request) -> web.StreamResponse:
        return web.json_response({}, status=404)

    tried: Counter[str] = Counter()
    served = paged(rows("posts", 30))

    async def handler(request: web.Request) -> web.StreamResponse:
        tried[request.path_qs] += 1
        if request.query.get("_page") == "2":
            return await fault(request)
        return await served(request)

    with serve(handler) as (url, _):
        sink = RecordingSink()
        result = sync(url, sink, max_retries="5")
    assert tried["/posts?_page=2&_limit=10"] == 1
    assert result.summary["error_summary"]["errors_by_severity"]["HIGH"] == 1
    assert [(e["page"], e["severity"]) for e in sink.rows("sync_errors")] == [(2, "HIGH")]


def test_a_spent_retry_budget_defers_retries_instead_of_losing_pages() -> None:
    """Every page after the first fails: with budget 20 % and floor 10, 12 retries go at once and the other 78 are
    deferred (each after at least max_delay / 2), never dropped: every page gets its 10 retries before it is lost,
    and the concurrency limit comes down to 1."""
    served = paged(rows("posts", 100))

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("_page") == "1":
            return await served(request)
        return web.json_response({}, status=503)

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(
            url,
            sink,
            max_retries="10",
            retry_budget_percent="20",
            enable_circuit_breaker="false",
            error_threshold_per_thread="100",
            total_error_threshold="100",
        )
    assert len(seen.requests) == 1 + 9 * 11
    resilience = result.summary["resilience"]
    assert (resilience["retries"], resilience["retries_deferred"], resilience["retry_budget_refusals"]) == (90, 78, 0)
    assert sorted((e["page"], e["attempts"]) for e in sink.rows("sync_errors")) == [(p, 11) for p in range(2, 11)]
    assert result.summary["concurrency"]["min"] == 1


def test_an_outage_costs_the_threshold_the_in_flight_and_one_probe_per_recovery_timeout() -> None:
    """1.5 s of 503s with failure_threshold 3 and recovery 0.5 s: the server sees at most 3 + in flight + the
    probes of each half-open period, then the sync completes with every row."""
    served = paged(rows("posts", 300))
    outage: dict[str, float] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        if request.query.get("_page") == "2" and "start" not in outage:
            outage["start"] = now
        if "start" in outage and now - outage["start"] < 1.5:
            return web.json_response({}, status=503)
        await asyncio.sleep(0.005)
        return await served(request)

    workers = 4
    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(
            url,
            sink,
            max_workers=str(workers),
            failure_threshold="3",
            recovery_timeout="0.5",
            max_retries="20",
            retry_budget_percent="100",
            base_delay="0.05",
            max_delay="0.2",
        )
    during = [t for t in seen.times if outage["start"] <= t < outage["start"] + 1.5]
    half_opens = math.ceil(1.5 / 0.5) + 1
    probes = half_opens * Settings().breaker_half_open_probes  # each half-open lets that many through, together
    assert len(during) <= 3 + workers + probes
    assert sink.ids("posts") == list(range(1, 301))
    assert result.status == "succeeded"
    assert result.summary["resilience"]["breaker_opens"] >= 1
    assert result.summary["resilience"]["breaker_rejections"] >= 1


def test_past_the_total_threshold_in_flight_requests_are_cancelled_at_once() -> None:
    """Pages 2-4 fail at once, the others stall 30 s: with threshold 2 the sync is over within a second or two,
    and no request reaches the server after it stops."""
    served = paged(rows("posts", 200))

    async def handler(request: web.Request) -> web.StreamResponse:
        page = request.query.get("_page")
        if page == "1":
            return await served(request)
        if page in ("2", "3", "4"):
            await asyncio.sleep(0.2)
            return web.json_response({}, status=500)
        await asyncio.sleep(30)
        return await served(request)

    with serve(handler) as (url, seen):
        started = time.monotonic()
        result = sync(
            url,
            max_workers="8",
            max_retries="0",
            total_error_threshold="2",
            error_threshold_per_thread="100",
            api_timeout_seconds="60",
        )
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # let the server's thread log anything still on its way
        # every request the server ever saw was started by the client before the sync stopped
        assert len(seen.requests) <= result.summary["resilience"]["requests"]
    assert result.status == "failed"
    assert "total_error_threshold (2)" in (result.message or "")
    assert elapsed < 2.0


def test_requests_per_second_paces_without_an_initial_burst() -> None:
    """20 requests per second: no burst at start (the limiter never lets two requests closer than 3/4 of a period,
    so five span at least three periods even as the server's clock sees them), and the mean rate is the setting."""
    with serve(paged(rows("posts", 250))) as (url, seen):
        sync(url, max_workers="8", requests_per_second="20")
    times = sorted(seen.times)
    assert len(times) == 25
    assert times[4] - times[0] >= 3 / 20
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate == pytest.approx(20, rel=0.05)


def test_after_a_retry_after_paced_requests_leave_without_a_burst() -> None:
    """requests_per_second 5, 16 workers, a 429 with Retry-After 1 on page 3: the requests held by the pause leave
    at the paced rate when it ends. The limiter's floor is 3/4 of a period (150 ms); arrival gaps are allowed
    10 ms of jitter (a burst would show gaps of about a millisecond)."""
    served = paged(rows("posts", 100))
    fault: dict[str, float] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("_page") == "3" and "time" not in fault:
            fault["time"] = time.monotonic()
            return web.json_response({}, status=429, headers={"Retry-After": "1"})
        return await served(request)

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        sync(url, sink, max_workers="16", requests_per_second="5")
    assert sink.ids("posts") == list(range(1, 101))
    times = sorted(seen.times)
    assert len(times) == 11
    assert retry_after_gap(times, fault["time"]) >= 1.0 - 0.02
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.15 - 0.01, [round(gap, 3) for gap in gaps]


@pytest.mark.parametrize(
    "quota",
    [{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, {"RateLimit": '"default";r=0;t=1'}],
    ids=["x-ratelimit", "ratelimit"],
)
def test_a_200_with_a_spent_quota_pauses_the_next_requests_until_the_reset(quota: dict[str, str]) -> None:
    """Page 2 answers 200 with its data and a spent quota (reset in 1 s): no request reaches the server for 1 s
    after it, and every row lands without a retry."""
    served = paged(rows("posts", 60))
    spent: dict[str, float] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await served(request)
        if request.query.get("_page") == "2" and "time" not in spent:
            spent["time"] = time.monotonic()
            response.headers.update(quota)
        return response

    with serve(handler) as (url, seen):
        sink = RecordingSink()
        result = sync(url, sink, max_workers="1")
    assert sink.ids("posts") == list(range(1, 61))
    later = [t for t in seen.times if t > spent["time"]]
    assert min(later) - spent["time"] >= 1.0 - 0.02
    assert result.summary["resilience"]["retries"] == 0
    assert result.summary["resilience"]["rate_gate_waits"] >= 1
