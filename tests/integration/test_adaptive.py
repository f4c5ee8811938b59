"""The adaptive concurrency limit against the embedded playground with a capacity (a real server on loopback).

Loose bounds only: this runs on a loaded 2-core machine, where the client's own event loop adds latency. The
strict check (the limit within ±30 % of the capacity, throughput against a sweep of fixed settings) belongs to
the benchmark, which reads the same `concurrency` summary.
"""

from __future__ import annotations

import statistics

from async_core import StdLog, run_sync
from tests.sinks import RecordingSink

CAPACITY = 32


def test_with_max_workers_256_the_limit_settles_in_a_band_around_the_servers_capacity() -> None:
    """Capacity 32 (slower above, 503 above 64), max_workers 256, 1000 pages: every row lands, the limit starts
    at 8, climbs past 32, and spends the rest of the sync between 16 and 56 (its median), never near 256."""
    configuration = {
        "base_url": "playground",
        "tables": "photos",
        "page_size": "10",
        "max_workers": "256",
        "playground_faults": "none",
        "playground_capacity": str(CAPACITY),
        "playground_latency_ms": "100",
        "playground_scale": "2",
        "base_delay": "0.05",
        "max_delay": "0.5",
    }
    sink = RecordingSink()
    result = run_sync(configuration, None, sink=sink, log=StdLog())
    assert result.status == "succeeded"
    assert len(sink.ids("photos")) == 10_000
    path = result.summary["concurrency"]
    assert (path["mode"], path["start"]) == ("adaptive", 8)
    assert path["max"] >= CAPACITY
    assert path["max"] < 128
    samples = path["samples"]
    later = [limit for seconds, limit in samples if seconds >= samples[-1][0] / 3]
    assert CAPACITY / 2 <= statistics.median(later) <= CAPACITY * 1.75, samples


def test_against_a_rate_limited_api_the_servers_quota_sets_the_pace() -> None:
    """A token bucket of 20 refilled at 10/s that announces X-RateLimit-Remaining/-Reset (as Fivetran's
    api-playground does) and answers 429 + Retry-After when empty; max_workers 64, no requests_per_second: every
    row lands and at most 10 % of requests are refused (a fixed 64 meets about half of them refused)."""
    import time

    from aiohttp import web

    from tests.integration.servers import paged, rows, serve

    served = paged(rows("posts", 600))
    bucket = {"tokens": 20.0, "time": time.monotonic()}
    statuses: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        bucket["tokens"] = min(20.0, bucket["tokens"] + (now - bucket["time"]) * 10)
        bucket["time"] = now
        quota = {"X-RateLimit-Limit": "20", "X-RateLimit-Reset": f"{(20 - bucket['tokens']) / 10:.2f}"}
        if bucket["tokens"] < 1:
            statuses.append(429)
            return web.json_response(
                {}, status=429, headers={"Retry-After": "1", "X-RateLimit-Remaining": "0", **quota}
            )
        bucket["tokens"] -= 1
        statuses.append(200)
        response = await served(request)
        response.headers.update({"X-RateLimit-Remaining": str(int(bucket["tokens"])), **quota})
        return response

    with serve(handler) as (url, _):
        sink = RecordingSink()
        configuration = {"base_url": url, "tables": "posts", "page_size": "10", "max_workers": "64", "max_retries": "8"}
        result = run_sync(configuration, None, sink=sink, log=StdLog())
    assert result.status == "succeeded"
    assert sink.ids("posts") == list(range(1, 601))
    assert statuses.count(429) <= 0.1 * len(statuses), statuses
